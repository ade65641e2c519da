"""Warm kernels (autograde/sandbox/warm_server.py): forked from one process, yet each like a fresh kernel."""

import asyncio
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest
from fixture_assignment import AID, NOTEBOOK, answered, fixture_lesson

from autograde import config, course
from autograde.grading import grade_course
from autograde.sandbox import SandboxedKernelManager
from autograde.sandbox.bwrap import SOCKET_PATH_MAX, SOCKET_PATH_ROOM
from autograde.sandbox.kernel_manager import WARM_POOL
from autograde.sandbox.warm_client import start_warm_process_early

# What a kernel reports of itself: a warm one must match a fresh one in all but `draw`.
FACTS = """\
import json, os, resource, sys
import matplotlib, numpy, tensorflow as tf
def content(name):
    try:
        return open(name).read()
    except OSError:
        return ""
print(json.dumps({
    "draw": [numpy.random.rand(), float(tf.random.uniform([]))],
    "readable": {name: content(name) for name in os.listdir(".") if content(name)},
    "memory_cap": resource.getrlimit(resource.RLIMIT_AS)[0],
    "home": os.environ["HOME"],
    "backend": matplotlib.get_backend(),
    "cwd_importable": "" in sys.path,
    "tensorflow_log_level": os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
    "other_processes": [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())],
}))
"""


def run_coroutine(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright, in the same test
    process, leaves an event loop running in the main thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def make_submission(tmp_path):
    course_root = tmp_path / "course"
    submission = course_root / "autograded" / "ada" / "lesson00"
    submission.mkdir(parents=True)
    (submission / "data.csv").write_text("1,2\n")
    (submission / "00_lesson.ipynb").write_text("{}")  # holds hidden tests: never visible
    return submission, course_root


async def kernel_facts(submission, course_root, warm, facts=FACTS):
    """What `facts` prints (JSON), run in a new kernel on `submission`."""
    km = SandboxedKernelManager(hidden_paths=[str(course_root)], warm=warm, memory_limit_gb=3)
    await km.start_kernel(cwd=str(submission))
    client = km.client()
    client.start_channels()
    printed = []
    try:
        await client.wait_for_ready(timeout=120)

        def keep(message):
            if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
                printed.append(message["content"]["text"])

        reply = await client.execute_interactive(facts, timeout=120, output_hook=keep)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        await km.shutdown_kernel(now=True)
    return json.loads("".join(printed))


@pytest.mark.sandbox
def test_a_warm_kernel_is_like_a_fresh_one_but_for_its_random_numbers(tmp_path):
    submission, course_root = make_submission(tmp_path)

    async def both():
        fresh = await kernel_facts(submission, course_root, warm=False)
        first = await kernel_facts(submission, course_root, warm=True)
        second = await kernel_facts(submission, course_root, warm=True)
        return fresh, first, second

    fresh, first, second = run_coroutine(both())
    # numpy reseeds itself in a forked child, and TensorFlow seeds its generator at first
    # use: the zygote must not use it before forking.
    assert first["draw"][0] != second["draw"][0] and first["draw"][1] != second["draw"][1]
    for facts in (first, second):
        assert {k: v for k, v in facts.items() if k != "draw"} == {
            k: v for k, v in fresh.items() if k != "draw"
        }
    assert first["readable"] == {"data.csv": "1,2\n"}
    # In a PID namespace of its own, a kernel sees no grader and no other student's kernel.
    assert fresh["other_processes"] == []
    assert first["memory_cap"] == 3 * 2**30
    assert first["backend"] == "module://matplotlib_inline.backend_inline"


# Which kernel this is, and what its folder holds.
WHO = "import json, os; print(json.dumps({'pid': os.getpid(), 'files': sorted(os.listdir())}))"


def standby_of(course_root):
    """The kernel started ahead by the warm process for kernels hiding `course_root`."""
    (warm,) = [w for w in WARM_POOL._warm if w.hidden_paths == [str(course_root)]]
    return warm.standby


@pytest.mark.sandbox
def test_the_next_kernel_is_started_ahead_and_given_only_its_own_submission(tmp_path):
    ada, course_root = make_submission(tmp_path)
    ben = course_root / "autograded" / "ben" / "lesson00"
    ben.mkdir(parents=True)
    (ben / "answers.txt").write_text("ben's\n")

    async def one_after_the_other():  # in one thread, as a worker runs them
        first = await kernel_facts(ada, course_root, warm=True, facts=WHO)
        standby = standby_of(course_root)
        assert standby is not None and standby.kernel.poll() is None
        return first, standby, await kernel_facts(ben, course_root, warm=True, facts=WHO)

    first, standby, second = run_coroutine(one_after_the_other())
    assert first["files"] == ["data.csv"]
    assert second["pid"] == standby.kernel.pid  # the kernel started ahead, adopted
    assert second["files"] == ["answers.txt"]  # filled with ben's files, and none of ada's


@pytest.mark.sandbox
def test_a_kernel_started_ahead_that_has_died_is_replaced(tmp_path):
    ada, course_root = make_submission(tmp_path)

    async def one_after_the_other():
        await kernel_facts(ada, course_root, warm=True, facts=WHO)
        standby = standby_of(course_root)
        standby.kernel.kill()  # the out-of-memory killer, say
        assert standby.kernel.wait(timeout=30) is not None
        return standby, await kernel_facts(ada, course_root, warm=True, facts=WHO)

    standby, again = run_coroutine(one_after_the_other())
    assert again["pid"] != standby.kernel.pid
    assert again["files"] == ["data.csv"]


@pytest.mark.sandbox
def test_kernels_running_at_once_in_one_process_get_a_warm_process_each(tmp_path):
    # A warm process clears out its last kernel before starting the next: shared, the
    # second kernel's start would kill the first.
    submission, course_root = make_submission(tmp_path)

    async def together():
        return await asyncio.gather(
            kernel_facts(submission, course_root, warm=True),
            kernel_facts(submission, course_root, warm=True),
        )

    first, second = run_coroutine(together())
    assert first["readable"] == second["readable"] == {"data.csv": "1,2\n"}


def test_the_warm_process_refuses_to_run_outside_a_pid_namespace_of_its_own():
    # Between kernels it kills every process it can signal: outside a namespace of its
    # own, that would be every process of this user on the machine.
    process = subprocess.Popen(
        [sys.executable, "-m", "autograde.sandbox.warm_server", os.readlink("/proc/self/ns/pid")],
        stdin=subprocess.PIPE,  # kept open: closing it is what would start the killing
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the warm process started outside a PID namespace of its own")
    assert code != 0
    assert b"must run in a PID namespace of its own" in process.stderr.read()
    process.stdin.close()
    process.stdout.close()
    process.stderr.close()


def test_the_warm_process_imports_nothing_of_the_grader():
    # It starts as `python -m autograde.sandbox.warm_server`, so it imports the packages
    # around it first: what they import, every warm process and every kernel forked from it
    # pays for (nbgrader and jupyter_client: 2.8 s of CPU).
    code = (
        "import sys, autograde.sandbox.warm_server; "
        "print([m for m in ('nbgrader', 'jupyter_client', 'nbformat', 'sqlalchemy') "
        "if m in sys.modules])"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr
    # The grader still finds its kernel manager where the course's config names it.
    from autograde import sandbox

    assert sandbox.SandboxedKernelManager.__name__ == "SandboxedKernelManager"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sandbox.nothing  # noqa: B018


# Warm kernels are forked, one after another, from one process per
# worker. These students are graded in this order by a single worker: nothing the ones
# before may leak into the ones after.
DAEMON = textwrap.dedent(
    """    import os, signal, time
    if os.fork() == 0:  # a process that outlives this kernel, and attacks the next one
        os.setsid()
        while True:
            try:
                open("/tmp/planted", "w").write("left by an earlier student")
                for pid in os.listdir("/proc"):
                    if pid.isdigit() and int(pid) > os.getpid():  # started after it
                        os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
            time.sleep(0.05)
    time.sleep(1)
    def double(x):
        return 2 * x"""
)
OBSERVER = textwrap.dedent(
    """    import os
    assert not os.path.exists("/tmp/planted"), "a file from an earlier student"
    strangers = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())]
    assert not strangers, f"processes from an earlier student: {strangers}"
    try:
        open(f"/proc/{os.getppid()}/mem", "rb").close()
        assert False, "the kernel could read the warm process's memory"
    except PermissionError:
        pass
    def double(x):
        return 2 * x"""
)
FORGER = textwrap.dedent(
    """\
    import os
    forged = b'{"op": "reset"}\\n{"op": "started", "pid": 1}\\n{"op": "exited", "pid": 1, "status": 0}\\n'
    for fd in range(3, 1024):  # any way back to the grader, to confuse its next kernel
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                os.write(fd, forged)
        except OSError:
            pass
    def double(x):
        return 2 * x"""
)
answered_double = "def double(x):\n    return 2 * x"
IN_ORDER = {
    # student (graded in this order): (answer to `double`, expected code score)
    "a_leaves_a_daemon": (DAEMON, 5),
    "b_observer": (OBSERVER, 5),
    "ba_forges_replies": (FORGER, None),  # may break its own kernel; must not break the next
    "bb_observer": (OBSERVER, 5),
    "c_kills_the_warm_process": (
        "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(10)",
        0,
    ),
    "ca_stops_the_warm_process": (
        "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n" + answered_double,
        5,
    ),
    "d_observer": (OBSERVER, 5),
}


@pytest.mark.sandbox
def test_nothing_passes_from_one_warm_kernel_to_the_next(tmp_path, code_score):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nbformat.write(fixture_lesson(), lessons / NOTEBOOK)
    root = tmp_path / "course"
    course.init_course(root, lessons_dir=lessons, cell_timeout=20, submission_timeout=60)
    release = nbformat.read(root / "release" / AID / NOTEBOOK, as_version=4)
    for student, (answer, _) in IN_ORDER.items():
        folder = root / "submitted" / student / AID
        folder.mkdir(parents=True)
        nbformat.write(answered(release, double=answer), folder / NOTEBOOK)
    outcomes = {o.student: o for o in grade_course(root, jobs=1)}
    for student, (_, expected) in IN_ORDER.items():
        if expected is not None:
            assert code_score(root, student, AID) == (expected, 5), outcomes[student].reasons
    assert any(
        "the kernel died in double" in r for r in outcomes["c_kills_the_warm_process"].reasons
    )


@pytest.mark.sandbox
@pytest.mark.parametrize("length", ["too long to hold sockets", "the longest that may"])
def test_kernels_start_when_the_temporary_folder_has_a_long_path(
    tmp_path, monkeypatch, request, length
):
    # A kernel's Unix sockets must stay under 108 bytes; a Dask worker's or a batch job's
    # TMPDIR can be long enough to break that (it did: every cluster grade failed in CI,
    # and again when the names of the folders below it grew).
    if length == "too long to hold sockets":
        long_tmp = tmp_path / ("t" * 60) / ("m" * 60)
        long_tmp.mkdir(parents=True)
    else:  # socket_home() keeps a folder this long: the sockets go below it
        base = Path(tempfile.mkdtemp(prefix="long-", dir="/tmp"))
        request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
        long_tmp = base / ("t" * (SOCKET_PATH_MAX - SOCKET_PATH_ROOM - len(str(base)) - 1))
        long_tmp.mkdir()
        assert len(str(long_tmp)) == SOCKET_PATH_MAX - SOCKET_PATH_ROOM
    monkeypatch.setattr("tempfile.tempdir", str(long_tmp))
    submission, course_root = make_submission(tmp_path)

    async def both():
        return (
            await kernel_facts(submission, course_root, warm=False),
            await kernel_facts(submission, course_root, warm=True),
        )

    fresh, warm = run_coroutine(both())
    assert fresh["readable"] == warm["readable"] == {"data.csv": "1,2\n"}


@pytest.mark.sandbox
def test_a_stopped_warm_process_leaves_no_open_pipe(tmp_path):
    # An unclosed pipe is closed by the garbage collector at a random later moment, with a
    # ResourceWarning that pytest turns into the failure of whichever test is running then.
    from autograde.sandbox.warm_client import WarmPool

    pool = WarmPool()
    warm = pool.take([str(tmp_path / "hidden")])
    pool.stop_all()
    assert warm.process.returncode is not None
    assert warm.process.stdin.closed and warm.process.stdout.closed


# The warm process's loop, run in a process of its own (it reaps any child of the process
# it runs in, which in a test process would include other tests' servers).
KERNEL_EXIT = textwrap.dedent(
    """\
    import json, os, sys, time
    from autograde.sandbox import warm_server
    warm_server.POLL_SECONDS = 600  # now only the kernel's exit can wake the loop in time
    kernel = os.fork()
    if kernel == 0:
        time.sleep(0.5)
        os._exit(7)
    requests, more_requests = os.pipe()

    def reply(**message):
        print(json.dumps(message), flush=True)
        os.close(more_requests)  # the worker is gone: the loop ends

    for _ in warm_server.requests_from(os.fdopen(requests, "rb", buffering=0), {kernel}, reply):
        pass
    """
)


def test_the_warm_process_reports_a_kernels_exit_as_it_happens():
    # The grader waits for this report at every kernel's shutdown.
    run = subprocess.run(
        [sys.executable, "-c", KERNEL_EXIT], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["op"] == "exited"
    assert json.loads(run.stdout)["status"] == 7


KERNEL_FDS = textwrap.dedent(
    """\
    import os, signal, time
    from autograde.sandbox import warm_server
    def pidfds():
        links = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:  # the listing's own
                pass
        return links.count("anon_inode:[pidfd]")
    first = os.fork()
    if first == 0:
        os.close(1)
        time.sleep(60)
        os._exit(0)
    try:
        warm_server._watch_exits({first})  # as the loop has it when the next kernel is forked
        assert pidfds(), "no pidfd to inherit: this test would prove nothing"
        second = os.fork()
        if second == 0:
            warm_server.become_kernel(lambda request: os._exit(pidfds()), {})
        _, status = os.waitpid(second, 0)
        print(os.waitstatus_to_exitcode(status))
    finally:
        os.kill(first, signal.SIGKILL)
    """
)


def test_a_kernel_holds_no_pidfd_of_the_kernels_before_it():
    run = subprocess.run(
        [sys.executable, "-c", KERNEL_FDS], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "0"


@pytest.mark.sandbox
@pytest.mark.parametrize("caps", ["", "c.SandboxedKernelManager.max_processes = 200\n"])
def test_a_workers_early_warm_process_is_the_one_its_first_kernel_takes(tmp_path, caps):
    # worker_process.py starts it before nbgrader is imported, from the course's config; the
    # kernel manager nbgrader makes from the same config must take that one, not start its own.
    root = tmp_path / "course"
    course.init_course(root)
    with open(root / "nbgrader_config.py", "a") as more:
        more.write(caps)
    start_warm_process_early(root)
    early = [w for w in WARM_POOL._warm if w.hidden_paths == [str(root.resolve())]]
    manager = SandboxedKernelManager(config=config.open_api(root).config)
    taken = WARM_POOL.take(manager.hidden_paths, manager.max_processes, manager.limits["fsize"])
    WARM_POOL.release(taken)
    assert len(early) == 1 and taken is early[0]
