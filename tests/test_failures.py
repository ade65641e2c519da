"""Failures as data: each kind from where it is recorded to the summary line and the feedback box.

The hostile class (test_hostile.py) shows that real submissions are recorded with the
right kind; here every kind goes through the same steps the grader takes: the worker's
pipe (JSON), the cell metadata LimitedExecute writes, the summary and ExplainFailures.
"""

import json
import logging
import time
from pathlib import Path

import nbformat
import pytest
from fixture_assignment import AID, NOTEBOOK, answered, fixture_lesson
from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograde import config, course
from autograde.outcome import CONSEQUENCES, Failure, Kind, Outcome, failure_of, record_failure
from autograde.pool import Worker
from autograde.preprocessors import ExplainFailures
from autograde.sandbox.bwrap import socket_home
from autograde.sandbox.warm_client import WarmKernelError, slot_prefix, socket_folder_prefix
from autograde.worker import autograde_one

# One failure of each kind, as the place that detects it records it, and the words the
# instructor's summary must then show.
EXAMPLES = {
    Kind.TIMED_OUT: (Failure(Kind.TIMED_OUT, cell="ex1", detail="8"), "ex1 ran out of time"),
    Kind.KERNEL_DIED: (
        Failure(Kind.KERNEL_DIED, cell="ex2"),
        "the kernel died in ex2 (out of memory, or exited)",
    ),
    Kind.KERNEL_UNRESPONSIVE: (
        Failure(Kind.KERNEL_UNRESPONSIVE, cell="ex3"),
        "the kernel stopped answering the grader in ex3",
    ),
    Kind.TAMPERED: (
        Failure(Kind.TAMPERED, cell="test_ex1", names=("course_lib.check_trajectory", "numpy")),
        "test_ex1 was not run: the notebook replaced course_lib.check_trajectory, numpy",
    ),
    Kind.NOT_RUN: (Failure(Kind.NOT_RUN, cell="test_ex4", detail="the kernel died"), None),
    Kind.MISSING_NOTEBOOK: (
        Failure(Kind.MISSING_NOTEBOOK, notebook="00_a.ipynb", names=("b.ipynb", "c.ipynb")),
        "00_a.ipynb is missing (found: b.ipynb, c.ipynb); rename or re-collect it",
    ),
    Kind.NOT_A_NOTEBOOK: (
        Failure(Kind.NOT_A_NOTEBOOK, notebook="00_a.ipynb", detail="JSONDecodeError"),
        "00_a.ipynb is not a readable notebook (JSONDecodeError)",
    ),
    Kind.UNKNOWN_ASSIGNMENT: (
        Failure(Kind.UNKNOWN_ASSIGNMENT, detail="lesson99"),
        "there is no assignment called 'lesson99'",
    ),
    Kind.SYMLINK: (
        Failure(Kind.SYMLINK, names=("00_a.ipynb",)),
        "not graded: 00_a.ipynb is a symbolic link (links are not followed; collect the file "
        "itself)",
    ),
    Kind.TOO_LARGE: (
        Failure(Kind.TOO_LARGE, notebook="00_a.ipynb", detail="00_a.ipynb has 9000 cells"),
        "not graded: 00_a.ipynb has 9000 cells",
    ),
    Kind.SANDBOX_REFUSED: (
        Failure(Kind.SANDBOX_REFUSED, detail="bwrap: setting up uid map: Permission denied"),
        "no sandbox could be started for the kernel: bwrap: setting up uid map: Permission denied",
    ),
    Kind.NBGRADER_ERROR: (
        Failure(Kind.NBGRADER_ERROR, detail="ValueError: bad cell"),
        "nbgrader could not autograde it: ValueError: bad cell",
    ),
    Kind.NO_FEEDBACK: (Failure(Kind.NO_FEEDBACK), "the feedback page could not be written"),
    Kind.STOPPED_BY_FORCE: (
        Failure(Kind.STOPPED_BY_FORCE, detail="720"),
        "grading was stopped by force after 720 s",
    ),
    Kind.GRADER_ERROR: (
        Failure(Kind.GRADER_ERROR, detail="OSError: disk full"),
        "the grader failed on this submission: OSError: disk full",
    ),
}
CELL_KINDS = [
    Kind.TIMED_OUT,
    Kind.KERNEL_DIED,
    Kind.KERNEL_UNRESPONSIVE,
    Kind.TAMPERED,
    Kind.NOT_RUN,
]


def test_every_kind_has_an_example():
    assert set(EXAMPLES) == set(Kind)


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.name)
def test_a_failure_crosses_the_workers_pipe_unchanged(kind):
    failure, _ = EXAMPLES[kind]
    assert Failure.from_dict(json.loads(json.dumps(failure.to_dict()))) == failure


@pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.name)
def test_the_summary_line_says_what_went_wrong(kind):
    failure, words = EXAMPLES[kind]
    other = Failure(Kind.TIMED_OUT, cell="later")
    line = Outcome("ada", "lesson00", 3, 5, failures=[failure, other]).line()
    assert line.startswith("ada ") and "3 / 5" in line
    if kind in CONSEQUENCES:  # a cell not run because of another failure: not repeated
        assert line.endswith("-- later ran out of time")
    else:
        assert line.endswith(f"-- {words}; later ran out of time")


def failed_test_cell(grade_id, ename="AssertionError", evalue="wrong"):
    cell = new_code_cell(
        "assert False",
        metadata={
            "nbgrader": {"grade": True, "solution": False, "grade_id": grade_id, "points": 1}
        },
    )
    cell.outputs = [new_output("error", ename=ename, evalue=evalue, traceback=[])]
    return cell


def box_of(cell):
    nb = new_notebook(cells=[cell])
    nb, _ = ExplainFailures().preprocess(nb, {})
    boxes = [o for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert len(boxes) == 1, nb.cells[0].outputs
    assert nb.cells[0].outputs[1].output_type == "error"  # the box comes before the traceback
    return boxes[0]["data"]["text/html"]


@pytest.mark.parametrize("kind", CELL_KINDS, ids=lambda k: k.name)
def test_the_feedback_box_explains_a_recorded_failure(kind):
    failure, _ = EXAMPLES[kind]
    cell = failed_test_cell(failure.cell, ename="NotRun", evalue="Not run.")
    record_failure(cell, failure)
    cell = nbformat.from_dict(json.loads(json.dumps(cell)))  # as saved in autograded/
    assert failure_of(cell) == failure
    html = box_of(cell)
    assert f"What went wrong ({kind.value})" in html
    for sentence in failure.feedback():
        assert sentence.split(":")[0] in html


def test_the_feedback_box_lists_each_line_of_a_failed_check():
    message = "`frozen/kernel` should have stayed frozen but changed\n`head/bias` never moved"
    html = box_of(failed_test_cell("test_ex3", evalue=message))
    assert "What went wrong (AssertionError)" in html
    assert html.count("<li>") == 2
    assert "<li><code>frozen/kernel</code> should have stayed frozen but changed</li>" in html


def test_a_tampering_message_needs_no_reading_to_be_classified():
    # The summary comes from the recorded names, whatever the error output says.
    cell = failed_test_cell("test_ex1", ename="TamperingDetected", evalue="anything at all")
    record_failure(cell, Failure(Kind.TAMPERED, cell="test_ex1", names=("numpy.testing",)))
    assert (
        failure_of(cell).sentence() == "test_ex1 was not run: the notebook replaced numpy.testing"
    )


class FailingAPI:
    """Stands in for NbGraderAPI: autograde fails as nbgrader's converters do, logging inside except."""

    def __init__(self, error):
        self.error = error
        self.log = logging.getLogger(f"test-api-{id(self)}")

    def autograde(self, *args, **kwargs):
        try:
            raise self.error
        except Exception:
            self.log.error("There was an error processing assignment")
        return {"success": False, "error": "a traceback", "log": "text nobody reads"}


@pytest.mark.parametrize(
    "error, kind, detail",
    [
        (WarmKernelError("the warm kernel process did not start"), Kind.SANDBOX_REFUSED,
         "the warm kernel process did not start"),
        (ValueError("cell 'x' has no grade_id\nmore lines"), Kind.NBGRADER_ERROR,
         "ValueError: cell 'x' has no grade_id"),
    ],
)  # fmt: skip
def test_the_exception_that_stopped_nbgrader_becomes_the_failure(tmp_path, error, kind, detail):
    (tmp_path / "source" / "lesson00").mkdir(parents=True)
    (tmp_path / "submitted" / "ada" / "lesson00").mkdir(parents=True)
    failures, feedback_due = autograde_one(FailingAPI(error), tmp_path, "ada", "lesson00")
    assert failures == [Failure(kind, detail=detail)] and not feedback_due


def test_a_worker_that_cannot_start_is_a_grader_error(tmp_path):
    worker = Worker(tmp_path)  # not a course: the worker exits at once
    try:
        outcome = worker.grade("ada", "lesson00", hard_limit=120)
    finally:
        worker.close()
    (failure,) = outcome.failures
    assert failure.kind is Kind.GRADER_ERROR
    assert "is not a course" in failure.detail


def test_a_worker_past_the_hard_limit_is_stopped_by_force(tmp_path):
    config.write_config(tmp_path)
    worker = Worker(tmp_path)
    outcome = worker.grade("ada", "lesson00", hard_limit=0.5)  # it is still starting up
    assert outcome.failures == [Failure(Kind.STOPPED_BY_FORCE, detail="0.5")]
    assert not worker.alive


def course_with_ada(tmp_path, **answers):
    """A fixture course in which ada has handed in the fixture with `answers` (grade id -> code)."""
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nbformat.write(fixture_lesson(), lessons / NOTEBOOK)
    root = tmp_path / "course"
    course.init_course(root, lessons_dir=lessons)
    release = nbformat.read(root / "release" / AID / NOTEBOOK, as_version=4)
    (root / "submitted" / "ada" / AID).mkdir(parents=True)
    nbformat.write(answered(release, **answers), root / "submitted" / "ada" / AID / NOTEBOOK)
    return root


def folders_of(worker, prefix=slot_prefix):
    """The worker's warm slots (or, with socket_folder_prefix, its kernels' socket folders)."""
    return list(Path(socket_home()).glob(prefix(worker.process.pid) + "*"))


@pytest.mark.sandbox
@pytest.mark.parametrize(
    "prefix", [slot_prefix, socket_folder_prefix], ids=["warm kernel", "fresh kernel"]
)
def test_a_worker_killed_while_its_kernel_runs_leaves_no_folder_behind(tmp_path, prefix):
    root = course_with_ada(tmp_path, double="import time\ntime.sleep(10**6)")
    if prefix is socket_folder_prefix:  # a kernel started afresh has a socket folder of its own
        with open(root / "nbgrader_config.py", "a") as nbgrader_config:
            nbgrader_config.write("\nc.SandboxedKernelManager.warm = False\n")
    worker = Worker(root)
    try:
        worker.process.stdin.write(json.dumps(["ada", AID]) + "\n")  # what grade() sends
        worker.process.stdin.flush()
        deadline = time.monotonic() + 120
        while not folders_of(worker, prefix) and time.monotonic() < deadline:
            time.sleep(0.2)  # until its kernel (or warm process) has started
        assert folders_of(worker, prefix), "the worker made no such folder: nothing to check"
        assert len(processes_in_group(worker.process.pid)) >= 2  # it, and what it started
    finally:
        worker.kill()  # what grade() does past the hard limit: no atexit runs in the worker
    assert not worker.alive and folders_of(worker, prefix) == []
    # SIGKILL is sent to the whole group at once, but a process holding TensorFlow's memory
    # (the warm process) takes a moment to be gone: none may still run after that moment.
    deadline = time.monotonic() + 10
    while processes_in_group(worker.process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_in_group(worker.process.pid) == []


def processes_in_group(group):
    """The live (not zombie) processes of a process group: a worker's, and all it started."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.mark.sandbox
def test_a_worker_that_ends_stops_its_warm_process_and_deletes_its_slot_itself(tmp_path):
    # A worker ends with os._exit, without the interpreter's teardown, once its exit
    # handlers have run: they must still stop its warm process and delete its slot, with
    # no help from the pool's clean-up (Worker.close).
    worker = Worker(course_with_ada(tmp_path))
    try:
        assert worker.grade("ada", AID, hard_limit=300).failures == []
        assert folders_of(worker), "the worker made no warm slot: nothing to check"
        worker.process.stdin.close()  # no more submissions: the worker ends
        assert worker.process.wait(timeout=60) == 0
        assert folders_of(worker) == []
    finally:
        worker.close()


def test_a_students_own_cell_where_the_kernel_died_gets_a_box_too():
    cell = new_code_cell("import os\nos._exit(1)", metadata={"nbgrader": {"solution": True}})
    cell.outputs = [new_output("error", ename="DeadKernelError", evalue="died", traceback=[])]
    record_failure(cell, Failure(Kind.KERNEL_DIED, cell="double"))
    assert "What went wrong (kernel died)" in box_of(cell)


def test_a_solution_cell_that_raised_without_a_recorded_failure_gets_no_box():
    cell = new_code_cell("1 / 0", metadata={"nbgrader": {"solution": True, "grade_id": "x"}})
    cell.outputs = [new_output("error", ename="ZeroDivisionError", evalue="", traceback=[])]
    nb, _ = ExplainFailures().preprocess(new_notebook(cells=[cell]), {})
    assert [o.output_type for o in nb.cells[0].outputs] == ["error"]


def intake(tmp_path, files):
    """check_files on a submission folder holding `files` (name -> bytes, or a Path to link to)."""
    (tmp_path / "source" / "lesson00").mkdir(parents=True)
    nbformat.write(new_notebook(), tmp_path / "source" / "lesson00" / "00_a.ipynb")
    folder = tmp_path / "submitted" / "ada" / "lesson00"
    folder.mkdir(parents=True)
    for name, content in files.items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).symlink_to(content)
    return course.check_files(tmp_path, "ada", "lesson00")


def test_a_link_anywhere_in_a_submission_refuses_it(tmp_path):
    notebook = nbformat.writes(new_notebook()).encode()
    failures = intake(tmp_path, {"00_a.ipynb": notebook, "data": tmp_path / "gradebook.db"})
    assert failures == [Failure(Kind.SYMLINK, names=("data",))]


def test_a_notebook_with_too_many_cells_is_refused(tmp_path):
    many = new_notebook(cells=[new_code_cell("1") for _ in range(config.MAX_CELLS + 1)])
    (failure,) = intake(tmp_path, {"00_a.ipynb": nbformat.writes(many).encode()})
    assert failure.kind is Kind.TOO_LARGE and failure.notebook == "00_a.ipynb"
    assert f"{config.MAX_CELLS + 1} cells" in failure.detail


def test_a_submission_too_large_is_refused_before_it_is_read(tmp_path):
    big = b"{" + b" " * (config.MAX_SUBMISSION_MB * 2**20) + b"}"
    (failure,) = intake(tmp_path, {"00_a.ipynb": big})
    assert failure.kind is Kind.TOO_LARGE and "MB" in failure.detail


def test_the_worker_closes_the_zmq_contexts_a_submission_left_open():
    # A context left with open sockets, in a reference cycle as an error path leaves it:
    # collected later, it would wait forever for its sockets (the grading process hung).
    import zmq

    from autograde.worker import close_leftover_zmq

    context = zmq.Context()
    socket = context.socket(zmq.PUSH)
    socket.connect("inproc://nowhere")
    cycle = {"context": context, "socket": socket}
    cycle["itself"] = cycle
    close_leftover_zmq()
    assert context.closed and socket.closed
