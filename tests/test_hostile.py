"""A class of hostile and broken submissions, graded together, each with its expected outcome.

The assignment is a small fixture (two exercises: `double`, 2 points, and a trajectory
exercise `train_step`, 3 points) so that twenty-odd submissions grade in about a minute.
Every submission is graded in one `grade_course(..., jobs=2)` run; afterwards the rest of
the class must have its right scores and the gradebook must be intact.
"""

import json
import shutil
import socket
import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.api import Gradebook

from autograde import course
from autograde.grading import grade_course
from autograde.sandbox import bwrap_path

NOTEBOOK = "00_fixture.ipynb"
AID = "lesson00"
HAS_SANDBOX = bwrap_path() is not None
needs_sandbox = pytest.mark.skipif(
    not HAS_SANDBOX,
    reason="bubblewrap (Debian package 'bubblewrap') is not installed, so student code is "
    "not sandboxed here; CI installs it",
)


def meta(grade_id, **kw):
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "task": False, **kw}}


SOLUTION = dict(grade=False, solution=True, locked=False)
TEST = dict(grade=True, solution=False, locked=True)

DOUBLE = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
TRAIN = textwrap.dedent(
    """\
    def train_step(w, frozen):
        ### BEGIN SOLUTION
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum((w + frozen) ** 2)
        (grad,) = tape.gradient(loss, [w])
        w.assign_sub(0.1 * grad)
        ### END SOLUTION"""
)
TEST_DOUBLE = textwrap.dedent(
    """\
    np.testing.assert_array_equal(double(np.arange(3)), [0, 2, 4])
    assert isinstance(double(1), int)
    ### BEGIN HIDDEN TESTS
    assert double(-4) == -8
    ### END HIDDEN TESTS"""
)
TEST_TRAIN = textwrap.dedent(
    """\
    w = tf.Variable([1.0, 2.0], name="w")
    frozen = tf.Variable([0.5], trainable=False, name="frozen")
    record = cl.Trajectory([w, frozen])
    for _ in range(3):
        train_step(w, frozen)
        record.record()
    cl.check_trajectory(record, frozen=["frozen"], trained=["w"])"""
)


def fixture_lesson():
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [
        new_markdown_cell("# A fixture assignment"),
        new_code_cell("import course_lib as cl\nimport numpy as np\nimport tensorflow as tf"),
        new_code_cell(DOUBLE, metadata=meta("double", **SOLUTION)),
        new_code_cell(TEST_DOUBLE, metadata=meta("test_double", points=2, **TEST)),
        new_code_cell(TRAIN, metadata=meta("train_step", **SOLUTION)),
        new_code_cell(TEST_TRAIN, metadata=meta("test_train_step", points=3, **TEST)),
    ]
    return nb


def answered(release, **answers):
    """The release notebook with solution cells replaced by `answers` (grade_id -> code)."""
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    right = {"double": "def double(x):\n    return 2 * x", "train_step": TRAIN}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in right:
            cell.source = answers.get(grade_id, right[grade_id])
    return nb


def submissions(release, root, port):
    """{student: notebook, bytes, or None for an empty folder}, with the expected code score."""
    gradebook = root / "gradebook.db"
    other = root / "submitted" / "correct" / AID / NOTEBOOK
    source = root / "source" / AID / NOTEBOOK
    wrong_double = "def double(x):\n    return x"
    deleted = answered(release)
    deleted.cells = [c for c in deleted.cells if "test_double" not in str(c.metadata)]
    edited = answered(release, double=wrong_double)
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_double":
            cell.source = "pass"
    duplicated = answered(release)
    copy = nbformat.from_dict(json.loads(json.dumps(duplicated.cells[5])))
    copy.id = "copy-of-test"  # as Jupyter gives a duplicated cell
    duplicated.cells.append(copy)
    pasted = nbformat.from_dict(json.loads(json.dumps(release)))  # blank, with outputs pasted in
    for cell in pasted.cells:
        if cell.metadata.get("nbgrader", {}).get("grade", False):
            cell.outputs = [new_output("stream", name="stdout", text="all tests passed\n")]
            cell.execution_count = 1
    return {
        # student: (submission, expected code score out of 5)
        "correct": (answered(release), 5),
        "blank": (release, 0),
        "warnings": (
            answered(
                release,
                double="import sys, warnings\n"
                "def double(x):\n"
                "    warnings.warn('deprecated, but fine', UserWarning)\n"
                "    print('a note on stderr', file=sys.stderr)\n"
                "    return 2 * x",
            ),
            5,
        ),
        "infinite_loop": (answered(release, double="while True:\n    pass"), 3),
        "endless_sleep": (answered(release, train_step="import time\ntime.sleep(10**6)"), 2),
        "memory_bomb": (
            answered(
                release,
                train_step="blocks = []\nwhile True:\n    blocks.append(bytearray(2**27))",
            ),
            2,
        ),
        "sys_exit": (answered(release, double="import sys\nsys.exit(1)"), 3),
        "os_exit": (answered(release, double="import os\nos._exit(1)"), 0),
        "killed_kernel": (
            answered(release, train_step="import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
            2,
        ),
        "deleted_grade_cell": (deleted, 5),
        "edited_grade_cell": (edited, 3),
        "duplicated_grade_cell": (duplicated, 5),
        "pasted_outputs": (pasted, 0),
        "malformed_json": (b'{"cells": [', None),
        "not_a_notebook": (b"\x89PNG\r\n\x1a\n" + bytes(64), None),
        "missing_notebook": (None, None),
        "huge_output": (
            answered(
                release,
                double="for i in range(200000):\n    print(i)\ndef double(x):\n    return 2 * x",
            ),
            5,
        ),
        "patch_course_lib": (
            answered(
                release,
                train_step="def train_step(w, frozen):\n    w.assign_sub([0.1, 0.1])\n"
                "    frozen.assign_add([1.0])\n"
                "cl.check_trajectory = lambda *args, **kwargs: None",
            ),
            2,
        ),
        "patch_numpy": (
            answered(
                release,
                double="np.testing.assert_array_equal = lambda *a, **k: None\n"
                "def double(x):\n    return x",
            ),
            0,
        ),
        "patch_builtins": (
            answered(
                release,
                double="import builtins\nbuiltins.isinstance = lambda *a: True\n"
                "def double(x):\n    return 2.0 * x",
            ),
            0,
        ),
        "patch_showtraceback": (
            answered(
                release,
                double="get_ipython().showtraceback = lambda *a, **k: None\n" + wrong_double,
            ),
            0,
        ),
        "rebinds_alias": (
            answered(
                release,
                train_step="class Fake:\n    Trajectory = cl.Trajectory\n"
                "    check_trajectory = staticmethod(lambda *a, **k: None)\n"
                "cl = Fake\n"
                "def train_step(w, frozen):\n    frozen.assign_add([1.0])",
            ),
            2,
        ),
        "writes_gradebook": (
            answered(
                release,
                double=f"for path in [{str(gradebook)!r}, {str(other)!r}]:\n"
                "    try:\n        open(path, 'w').write('overwritten')\n"
                "    except OSError:\n        pass\n"
                "def double(x):\n    return 2 * x",
            ),
            5,
        ),
        "reads_hidden_tests": (
            answered(
                release,
                double=f"try:\n    leaked = open({str(source)!r}).read()\n"
                "except OSError:\n    leaked = ''\n"
                "def double(x):\n    return 2 * x if 'BEGIN HIDDEN' not in leaked else 0",
            ),
            5,
        ),
        "unhides_the_course": (  # as root, bubblewrap alone would let this work
            answered(
                release,
                double="import subprocess\n"  # uncover the course folder, under /tmp in tests
                f"for hiding in [{str(root)!r}, '/tmp']:\n"
                "    subprocess.run(['umount', '--lazy', hiding], capture_output=True)\n"
                f"try:\n    leaked = open({str(source)!r}).read()\n"
                "except OSError:\n    leaked = ''\n"
                "def double(x):\n    return 2 * x if 'BEGIN HIDDEN' not in leaked else 0",
            ),
            5,
        ),
        "reaches_network": (
            answered(
                release,
                double="import socket\ntry:\n"
                f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
                "    reached = True\nexcept OSError:\n    reached = False\n"
                "def double(x):\n    return 0 if reached else 2 * x",
            ),
            5,
        ),
    }


SANDBOXED = {"writes_gradebook", "reads_hidden_tests", "unhides_the_course", "reaches_network"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    lessons = tmp_path_factory.mktemp("lessons")
    nbformat.write(fixture_lesson(), lessons / NOTEBOOK)
    root = tmp_path_factory.mktemp("course")
    course.init_course(
        root, lessons_dir=lessons, cell_timeout=8, submission_timeout=45, memory_gb=3
    )
    release = nbformat.read(root / "release" / AID / NOTEBOOK, as_version=4)
    with socket.socket() as listener:  # a server on this machine the students must not reach
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        return grade_class(root, release, listener.getsockname()[1])


def grade_class(root, release, port):
    expected = submissions(release, root, port)
    if not HAS_SANDBOX:  # unsandboxed, these would really damage the course
        expected = {k: v for k, v in expected.items() if k not in SANDBOXED}
    for student, (content, _) in expected.items():
        folder = root / "submitted" / student / AID
        folder.mkdir(parents=True)
        if isinstance(content, bytes):
            (folder / NOTEBOOK).write_bytes(content)
        elif content is None:
            (folder / "notes.txt").write_text("I forgot the notebook")
        else:
            nbformat.write(content, folder / NOTEBOOK)
    other = (root / "submitted" / "correct" / AID / NOTEBOOK).read_bytes()
    outcomes = grade_course(root, jobs=2)
    return root, {o.student: o for o in outcomes}, expected, other


def code_score(root, student):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(AID, student)
        return submission.code_score, submission.max_code_score


CASES = [
    "correct", "blank", "warnings", "infinite_loop", "endless_sleep", "memory_bomb", "sys_exit",
    "os_exit", "killed_kernel", "deleted_grade_cell", "edited_grade_cell",
    "duplicated_grade_cell", "pasted_outputs", "huge_output", "patch_course_lib", "patch_numpy",
    "patch_builtins", "patch_showtraceback", "rebinds_alias", "writes_gradebook",
    "reads_hidden_tests", "unhides_the_course", "reaches_network",
]  # fmt: skip


@pytest.mark.parametrize("student", CASES)
def test_each_submission_gets_exactly_its_expected_score(graded, student):
    if student in SANDBOXED and not HAS_SANDBOX:
        pytest.skip("bubblewrap is not installed: this protection is not enforced here")
    root, outcomes, expected, _ = graded
    assert code_score(root, student) == (expected[student][1], 5), outcomes[student].reasons


@pytest.mark.parametrize(
    "student, reason",
    [
        ("infinite_loop", "double ran out of time"),
        ("endless_sleep", "train_step ran out of time"),
        ("os_exit", "the kernel died in double"),
        ("killed_kernel", "the kernel died in train_step"),
        ("malformed_json", f"{NOTEBOOK} is not a readable notebook"),
        ("not_a_notebook", f"{NOTEBOOK} is not a readable notebook"),
        ("missing_notebook", f"{NOTEBOOK} is missing (the folder has no notebook)"),
        ("patch_course_lib", "test_train_step was not run: the notebook replaced course_lib"),
        ("patch_numpy", "test_double was not run: the notebook replaced numpy.testing"),
        ("rebinds_alias", "the name 'cl'"),
    ],
)
def test_the_summary_gives_the_reason(graded, student, reason):
    _, outcomes, _, _ = graded
    assert any(reason in r for r in outcomes[student].reasons), outcomes[student].reasons


def test_broken_files_earn_nothing(graded):
    root, outcomes, _, _ = graded
    for student in ("malformed_json", "not_a_notebook", "missing_notebook"):
        assert outcomes[student].score in (None, 0), outcomes[student].line()


def test_huge_output_is_cut(graded):
    root, _, _, _ = graded
    path = root / "autograded" / "huge_output" / AID / NOTEBOOK
    assert path.stat().st_size < 2_000_000


@needs_sandbox
def test_the_gradebook_and_other_students_files_are_intact(graded):
    root, outcomes, expected, other = graded
    assert (root / "submitted" / "correct" / AID / NOTEBOOK).read_bytes() == other
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        assert {s.id for s in gradebook.students} >= set(expected)
    assert code_score(root, "correct") == (5, 5)


def test_parallel_grading_matches_a_sequential_run(graded, tmp_path):
    root, outcomes, _, _ = graded
    again = tmp_path / "again"
    shutil.copytree(root, again, ignore=shutil.ignore_patterns("autograded", "feedback"))
    for student in list((again / "submitted").iterdir()):
        if student.name not in ("correct", "blank", "killed_kernel", "infinite_loop"):
            shutil.rmtree(student)
    # One at a time, and with a fresh kernel for each instead of a warm one.
    with open(again / "nbgrader_config.py", "a") as config:
        config.write("c.SandboxedKernelManager.warm = False\n")
    sequential = grade_course(again, jobs=1, force=True)
    assert len(sequential) == 4
    for outcome in sequential:
        assert outcome.score == outcomes[outcome.student].score, outcome.reasons


# Warm kernels (autograde/zygote.py) are forked, one after another, from one process per
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


@needs_sandbox
def test_nothing_passes_from_one_warm_kernel_to_the_next(tmp_path):
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
            assert code_score(root, student) == (expected, 5), outcomes[student].reasons
    assert any(
        "the kernel died in double" in r for r in outcomes["c_kills_the_warm_process"].reasons
    )
