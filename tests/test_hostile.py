"""A class of hostile and broken submissions, graded together, each with its expected outcome.

The assignment is a small fixture (two exercises: `double`, 2 points, and a trajectory
exercise `train_step`, 3 points) so that twenty-odd submissions grade in about a minute.
Every submission is graded in one `grade_course(..., jobs=2)` run; afterwards the rest of
the class must have its right scores and the gradebook must be intact.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest
from fixture_assignment import AID, NOTEBOOK, answered, fixture_lesson
from nbformat.v4 import new_output
from nbgrader.api import Gradebook

from autograde import course
from autograde.grading import grade_course
from autograde.outcome import Kind
from autograde.sandbox import bwrap_path

HAS_SANDBOX = bwrap_path() is not None


def submissions(release, root, port):
    """{student: notebook, bytes, or None for an empty folder}, with the expected code score."""
    gradebook = root / "gradebook.db"
    other = root / "submitted" / "correct" / AID / NOTEBOOK
    source = root / "source" / AID / NOTEBOOK
    wrong_double = "def double(x):\n    return x"
    right_double = "def double(x):\n    return 2 * x"
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
        "huge_line": (answered(release, double="print('x' * 10_000_000)\n" + right_double), 5),
        "asks_for_input": (answered(release, double="input('your name? ')\n" + right_double), 3),
        "ignores_sigint": (
            answered(
                release,
                train_step="import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "while True:\n    pass",
            ),
            2,
        ),
        "reads_environment": (
            answered(
                release,
                double="import glob, os\nseen = str(dict(os.environ))\n"
                "for path in glob.glob('/proc/*/environ'):\n"
                "    try:\n        seen += open(path, 'rb').read().decode(errors='replace')\n"
                "    except OSError:\n        pass\n"
                f"def double(x):\n    return 0 if {SECRET!r} in seen else 2 * x",
            ),
            5,
        ),
        "links_to_the_solutions": (("symlink", source), None),
        "fork_bomb": (
            answered(
                release,
                double="import subprocess\nchildren = []\n"
                "for _ in range(1000):  # bounded, so that a missing cap cannot hurt the machine\n"
                "    try:\n        children.append(subprocess.Popen(['sleep', '3141']))\n"
                "    except OSError:\n        break\n"
                "started = len(children)\n"
                "for child in children:\n    child.kill()\n    child.wait()\n"
                "def double(x):\n    return 2 * x if started < 1000 else 0",
            ),
            5,
        ),
        "fills_the_disk": (
            answered(
                release,
                double="import os\nwritten = 0\n"
                "for folder in ['/tmp', '.']:\n"
                "    try:\n"
                "        with open(os.path.join(folder, 'filler'), 'wb') as f:\n"
                "            for _ in range(64):  # 1 GiB, in 16 MB blocks\n"
                "                f.write(bytes(2**24))\n                written += 1\n"
                "    except OSError:\n        pass\n"
                "def double(x):\n    return 2 * x if written < 128 else 0",
            ),
            5,
        ),
        "o'brien": (answered(release), 5),
        "ana maria": (answered(release), 5),
        "zoë": (answered(release), 5),
        "-dash": (answered(release), 5),
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


SANDBOXED = {
    "writes_gradebook", "reads_hidden_tests", "unhides_the_course", "reaches_network",
    "reads_environment", "fork_bomb", "fills_the_disk",
}  # fmt: skip
# In the grader's environment while the class is graded: no kernel may read it.
SECRET = "postgresql://grader:s3cret-password@db/gradebook"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    lessons = tmp_path_factory.mktemp("lessons")
    nbformat.write(fixture_lesson(), lessons / NOTEBOOK)
    root = tmp_path_factory.mktemp("course")
    course.init_course(
        root, lessons_dir=lessons, cell_timeout=8, submission_timeout=45, memory_gb=3
    )
    with open(root / "nbgrader_config.py", "a") as small_caps:  # cheaper to reach in a test
        small_caps.write("c.SandboxedKernelManager.max_processes = 200\n")
        small_caps.write("c.SandboxedKernelManager.disk_limit_gb = 0.25\n")
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
        elif isinstance(content, tuple):  # ("symlink", target)
            (folder / NOTEBOOK).symlink_to(content[1])
        elif content is None:
            (folder / "notes.txt").write_text("I forgot the notebook")
        else:
            nbformat.write(content, folder / NOTEBOOK)
    other = (root / "submitted" / "correct" / AID / NOTEBOOK).read_bytes()
    os.environ["AUTOGRADE_HOSTILE_SECRET"] = SECRET
    try:
        outcomes = grade_course(root, jobs=2)
    finally:
        del os.environ["AUTOGRADE_HOSTILE_SECRET"]
    return root, {o.student: o for o in outcomes}, expected, other


CASES = [
    "correct", "blank", "warnings", "infinite_loop", "endless_sleep", "memory_bomb", "sys_exit",
    "os_exit", "killed_kernel", "deleted_grade_cell", "edited_grade_cell",
    "duplicated_grade_cell", "pasted_outputs", "huge_output", "patch_course_lib", "patch_numpy",
    "patch_builtins", "patch_showtraceback", "rebinds_alias", "writes_gradebook",
    "reads_hidden_tests", "unhides_the_course", "reaches_network", "huge_line", "asks_for_input",
    "ignores_sigint", "reads_environment", "o'brien", "ana maria", "zoë", "-dash", "fork_bomb",
    "fills_the_disk",
]  # fmt: skip


@pytest.mark.parametrize("student", CASES)
def test_each_submission_gets_exactly_its_expected_score(graded, student, code_score):
    if student in SANDBOXED and not HAS_SANDBOX:
        pytest.skip("bubblewrap is not installed: this protection is not enforced here")
    root, outcomes, expected, _ = graded
    assert code_score(root, student, AID) == (expected[student][1], 5), outcomes[student].reasons


# student: (the kind of failure recorded, the cell or notebook it concerns, words in the summary)
REASONS = {
    "infinite_loop": (Kind.TIMED_OUT, "double", "double ran out of time"),
    "endless_sleep": (Kind.TIMED_OUT, "train_step", "train_step ran out of time"),
    "os_exit": (Kind.KERNEL_DIED, "double", "the kernel died in double"),
    "killed_kernel": (Kind.KERNEL_DIED, "train_step", "the kernel died in train_step"),
    "malformed_json": (Kind.NOT_A_NOTEBOOK, NOTEBOOK, f"{NOTEBOOK} is not a readable notebook"),
    "not_a_notebook": (Kind.NOT_A_NOTEBOOK, NOTEBOOK, f"{NOTEBOOK} is not a readable notebook"),
    "missing_notebook": (
        Kind.MISSING_NOTEBOOK, NOTEBOOK, f"{NOTEBOOK} is missing (the folder has no notebook)",
    ),
    "patch_course_lib": (
        Kind.TAMPERED, "test_train_step",
        "test_train_step was not run: the notebook replaced course_lib",
    ),
    "patch_numpy": (
        Kind.TAMPERED, "test_double", "test_double was not run: the notebook replaced numpy.testing",
    ),
    "rebinds_alias": (Kind.TAMPERED, "test_train_step", "the name 'cl'"),
    "ignores_sigint": (Kind.TIMED_OUT, "train_step", "train_step ran out of time"),
    "links_to_the_solutions": (
        Kind.SYMLINK, None, f"not graded: {NOTEBOOK} is a symbolic link",
    ),
}  # fmt: skip


@pytest.mark.parametrize("student", REASONS)
def test_the_failure_is_recorded_with_its_kind_and_the_summary_gives_the_reason(graded, student):
    _, outcomes, _, _ = graded
    kind, where, words = REASONS[student]
    failures = [f for f in outcomes[student].failures if f.kind is kind]
    assert failures, outcomes[student].failures
    assert where in {f.cell for f in failures} | {f.notebook for f in failures}
    assert any(words in r for r in outcomes[student].reasons), outcomes[student].reasons


@pytest.mark.parametrize("student", ["infinite_loop", "os_exit", "patch_numpy"])
def test_the_feedback_box_names_the_kind_of_failure(graded, student):
    root, _, _, _ = graded
    kind, _, _ = REASONS[student]
    page = (root / "feedback" / student / AID / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert f"What went wrong ({kind.value})" in page


def test_the_summary_does_not_repeat_cells_left_unrun(graded):
    _, outcomes, _, _ = graded
    failures = outcomes["os_exit"].failures  # dies in `double`: the cells after never run
    assert Kind.NOT_RUN in {f.kind for f in failures}
    assert outcomes["os_exit"].reasons == ["the kernel died in double (out of memory, or exited)"]


def test_broken_files_earn_nothing(graded):
    root, outcomes, _, _ = graded
    for student in ("malformed_json", "not_a_notebook", "missing_notebook"):
        assert outcomes[student].score in (None, 0), outcomes[student].line()


@pytest.mark.parametrize("student", ["huge_output", "huge_line"])
def test_huge_output_is_cut_in_lines_and_in_bytes(graded, student):
    root, _, _, _ = graded
    assert (root / "autograded" / student / AID / NOTEBOOK).stat().st_size < 2_000_000
    assert (root / "feedback" / student / AID / "00_fixture.html").stat().st_size < 3_000_000


def test_a_symlinked_notebook_is_refused_before_nbgrader_copies_it(graded):
    root, outcomes, _, _ = graded
    assert outcomes["links_to_the_solutions"].score is None
    assert not (root / "autograded" / "links_to_the_solutions").exists()


@pytest.mark.sandbox
def test_no_process_of_the_class_is_left_running(graded):
    run = subprocess.run(["pgrep", "-f", "sleep 3141"], capture_output=True, text=True)
    assert run.stdout == "", "the fork bomb's children outlived grading"


@pytest.mark.sandbox
def test_nothing_a_kernel_wrote_is_left_on_disk(graded):
    root, _, _, _ = graded
    assert not list(root.rglob("filler"))
    assert not list(Path(tempfile.gettempdir()).glob("autograde-*/**/filler"))


def test_input_fails_its_cell_at_once(graded):
    _, outcomes, _, _ = graded
    assert Kind.TIMED_OUT not in outcomes["asks_for_input"].kinds


def test_a_kernel_that_ignores_interrupts_is_abandoned_not_waited_for(graded):
    _, outcomes, _, _ = graded
    (test_cell,) = [f for f in outcomes["ignores_sigint"].failures if f.cell == "test_train_step"]
    assert test_cell.kind is Kind.NOT_RUN
    assert test_cell.detail == "the kernel stopped answering the grader"


def test_feedback_hides_the_hidden_tests_but_keeps_the_result(graded):
    root, _, _, _ = graded
    for student in ("correct", "blank"):
        page = (root / "feedback" / student / AID / "00_fixture.html").read_text()
        assert "double(-4)" not in page  # the hidden test's code
        assert "hidden tests: not shown" in page
        assert "test_double" in page
    blank = (root / "feedback" / "blank" / AID / "00_fixture.html").read_text()
    assert "What went wrong" in blank


@pytest.mark.sandbox
def test_the_gradebook_and_other_students_files_are_intact(graded, code_score):
    root, outcomes, expected, other = graded
    assert (root / "submitted" / "correct" / AID / NOTEBOOK).read_bytes() == other
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        assert {s.id for s in gradebook.students} >= set(expected)
    assert code_score(root, "correct", AID) == (5, 5)


def test_parallel_grading_matches_a_sequential_run(graded, tmp_path):
    root, outcomes, _, _ = graded
    again = tmp_path / "again"
    shutil.copytree(root, again, ignore=shutil.ignore_patterns("autograded", "feedback"))
    for student in list((again / "submitted").iterdir()):
        # A timeout that sleeps, not one that spins: the same outcome for 8 s less CPU.
        if student.name not in ("correct", "blank", "killed_kernel", "endless_sleep"):
            shutil.rmtree(student)
    # One at a time, and with a fresh kernel for each instead of a warm one.
    with open(again / "nbgrader_config.py", "a") as config:
        config.write("c.SandboxedKernelManager.warm = False\n")
    sequential = grade_course(again, jobs=1, force=True)
    assert len(sequential) == 4
    for outcome in sequential:
        assert outcome.score == outcomes[outcome.student].score, outcome.reasons
