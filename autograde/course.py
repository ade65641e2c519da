"""An nbgrader course for the lessons: set it up, grade it, summarise it.

Everything here drives nbgrader 0.9.6 through its own API (`NbGraderAPI`), its
gradebook and its CSV export plugin; what we add lives in `preprocessors.py` and
in the `nbgrader_config.py` that `init_course` writes.
"""

import json
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import CsvExportPlugin
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

LESSONS = Path(__file__).resolve().parents[1] / "notebooks"
COURSE_ID = "frozen-vs-trainable"
DEFAULT_CELL_TIMEOUT = 120
DEFAULT_SUBMISSION_TIMEOUT = 600
DEFAULT_MEMORY_GB = 4.0

CONFIG_TEMPLATE = """\
# nbgrader configuration for the frozen-vs-trainable course, written by `autograde init`.
# It is a plain nbgrader config: `nbgrader autograde`, `nbgrader generate_feedback`,
# `nbgrader export` and formgrader all read it too.
c = get_config()  # noqa: F821

c.CourseDirectory.course_id = "{course_id}"

# Limits. A cell may run {timeout} s, a whole notebook {submission_timeout} s; past them
# nbgrader records an error and the test cells left get 0 (autograde.preprocessors.LimitedExecute).
c.Execute.timeout = {timeout}
c.LimitedExecute.submission_timeout = {submission_timeout}
# Each student's kernel (autograde.sandbox.SandboxedKernelManager): at most {memory_gb} GiB of memory; under bubblewrap (if installed), no
# network, a read-only file system but for its own folder, and this course folder hidden.
c.SandboxedKernelManager.memory_limit_gb = {memory_gb}
c.SandboxedKernelManager.hidden_paths = ["{root}"]
# Under bubblewrap, each grading worker forks its kernels from one sandboxed process that has
# imported TensorFlow once (autograde/zygote.py); False starts every kernel afresh.
c.SandboxedKernelManager.warm = True
# Long outputs are cut (nbgrader's LimitOutput), and deleted grade cells are put back.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
c.OverwriteCells.add_missing_cells = True

# nbgrader's clean-up of a submission, plus one step that keeps a duplicated grade cell
# from stopping the grading of the whole submission.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "autograde.preprocessors.ForgetDuplicateCells",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# nbgrader's autograde steps, with our Execute and one more: warnings cost no points.
c.Autograde.autograde_preprocessors = [
    "autograde.preprocessors.LimitedExecute",
    "autograde.preprocessors.StderrCostsNoPoints",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# nbgrader's feedback steps, plus one: a plain-words box above each failed test.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograde.preprocessors.ExplainFailures",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
"""


def assignment_id(lesson):
    """`00_variable_has_no_trainable_parameters.ipynb` is assignment `lesson00`."""
    return f"lesson{Path(lesson).name[:2]}"


def lessons(lessons_dir=LESSONS):
    found = sorted(Path(lessons_dir).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise SystemExit(f"No lessons (NN_*.ipynb) found in {lessons_dir}.")
    return found


def load_config(root):
    """The course's nbgrader_config.py, loaded as nbgrader would."""
    root = Path(root).resolve()
    if not (root / "nbgrader_config.py").exists():
        raise SystemExit(f"{root} is not a course: run `autograde init {root}` first.")
    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def open_api(root, cell_timeout=None):
    """An NbGraderAPI on the course in `root`, configured by its nbgrader_config.py."""
    root = Path(root).resolve()
    config = load_config(root)
    if cell_timeout is not None:
        config.Execute.timeout = int(cell_timeout)
    config.SandboxedKernelManager.hidden_paths = [str(root)]  # right even if the course moved
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return NbGraderAPI(coursedir, config=config)


def _require(result, what):
    if not result["success"]:
        raise RuntimeError(f"{what} failed:\n{result.get('error') or result.get('log')}")


def init_course(
    root,
    lessons_dir=LESSONS,
    cell_timeout=DEFAULT_CELL_TIMEOUT,
    submission_timeout=DEFAULT_SUBMISSION_TIMEOUT,
    memory_gb=DEFAULT_MEMORY_GB,
):
    """Write the config, one assignment per lesson under source/, release/, and the gradebook."""
    prepare_environment()
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        CONFIG_TEMPLATE.format(
            course_id=COURSE_ID,
            timeout=int(cell_timeout),
            submission_timeout=int(submission_timeout),
            memory_gb=float(memory_gb),
            root=root,
        )
    )
    api = open_api(root)
    ids = []
    for lesson in lessons(lessons_dir):
        aid = assignment_id(lesson)
        target = root / "source" / aid
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(lesson, target / lesson.name)
        _require(api.generate_assignment(aid, force=True, create=True), f"Releasing {aid}")
        ids.append(aid)
    return ids


@dataclass
class Outcome:
    """One graded submission: the score nbgrader recorded and, if any, why it is incomplete."""

    student: str
    assignment: str
    score: float | None = None
    max_score: float | None = None
    reasons: list = field(default_factory=list)

    def line(self):
        score = "not graded" if self.score is None else f"{self.score:g} / {self.max_score:g}"
        note = f"  -- {'; '.join(self.reasons)}" if self.reasons else ""
        return f"{self.student:<16} {self.assignment:<10} {score:>12}{note}"


def submissions(root):
    """(student, assignment) for every folder under submitted/."""
    base = Path(root) / "submitted"
    if not base.is_dir():
        return []
    return [
        (student.name, assignment.name)
        for student in sorted(p for p in base.iterdir() if p.is_dir())
        for assignment in sorted(p for p in student.iterdir() if p.is_dir())
    ]


def _reasons_from_notebooks(root, student, assignment):
    """Read the autograded notebooks for cells that could not finish, in plain words."""
    reasons = []
    folder = Path(root) / "autograded" / student / assignment
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.output_type != "error":
                    continue
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "a cell")
                if output.ename == "CellTimeoutError":
                    reasons.append(f"{grade_id} ran out of time")
                elif output.ename == "DeadKernelError":
                    reasons.append(f"the kernel died in {grade_id} (out of memory, or exited)")
                elif output.ename == "TamperingDetected":
                    replaced = output.evalue.split(" replaced ", 1)[-1].split(", which")[0]
                    reasons.append(f"{grade_id} was not run: the notebook replaced {replaced}")
    return reasons


def diagnose_submission(root, student, assignment):
    """Say, in words an instructor can act on, why a submission folder cannot be graded fully."""
    expected = sorted(p.name for p in (Path(root) / "source" / assignment).glob("*.ipynb"))
    folder = Path(root) / "submitted" / student / assignment
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    reasons = []
    for name in expected:
        path = folder / name
        if not path.exists():
            others = f" (found: {', '.join(found)})" if found else " (the folder has no notebook)"
            reasons.append(f"{name} is missing{others}; rename or re-collect it")
            continue
        try:
            nbformat.read(path, as_version=4)
        except Exception as error:  # nbformat raises several types for a broken file
            reasons.append(f"{name} is not a readable notebook ({type(error).__name__})")
    return reasons


def _reason_from_failure(result):
    """The exception that stopped nbgrader, from the end of its traceback."""
    text = (result.get("error") or "") + "\n" + (result.get("log") or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    raised = [
        line
        for line in lines
        if re.match(r"^[\w.]+(Error|Exception): ", line) and "see the the above" not in line
    ]
    return "nbgrader could not autograde it: " + (raised[-1] if raised else "see the log above")


def grade_one(api, root, student, assignment, force=False):
    """Autograde one submission and generate its feedback; never raises for a bad submission.

    Without `force`, nbgrader skips a submission it has already autograded.
    """
    outcome = Outcome(student, assignment, reasons=diagnose_submission(root, student, assignment))
    result = api.autograde(assignment, student, force=force, create=True)
    if not result["success"]:
        outcome.reasons = outcome.reasons or [_reason_from_failure(result)]
        return outcome
    outcome.reasons += _reasons_from_notebooks(root, student, assignment)
    feedback = api.generate_feedback(assignment, student, force=force)
    if not feedback["success"]:
        outcome.reasons.append("the feedback page could not be written")
    return outcome


def read_scores(root, outcomes):
    """Fill in each outcome's score from the gradebook."""
    with Gradebook(f"sqlite:///{Path(root) / 'gradebook.db'}") as gradebook:
        for outcome in outcomes:
            try:
                submission = gradebook.find_submission(outcome.assignment, outcome.student)
            except MissingEntry:
                continue
            outcome.score, outcome.max_score = submission.score, submission.max_score


def export_csv(root):
    """nbgrader's own CSV export of the whole gradebook, to DIR/grades.csv."""
    path = Path(root) / "grades.csv"
    with Gradebook(f"sqlite:///{Path(root) / 'gradebook.db'}") as gradebook:
        CsvExportPlugin(to=str(path)).export(gradebook)
    return path


def grader_failed(detail):
    """The reason given when the grader itself, not the submission, went wrong."""
    if isinstance(detail, BaseException):
        detail = f"{type(detail).__name__}: {detail}"
    return f"the grader failed on this submission: {detail}"


class Worker:
    """One `python -m autograde.worker` process, which grades the submissions it is given."""

    def __init__(self, root, cell_timeout=None, force=False):
        results, self._results_end = os.pipe()
        command = [sys.executable, "-m", "autograde.worker", str(root)]
        command += ["--results", str(self._results_end)]
        command += ["--force"] if force else []
        command += ["--timeout", str(cell_timeout)] if cell_timeout is not None else []
        self.log = tempfile.TemporaryFile()  # nbgrader's log, for the reason of a crash
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            pass_fds=(self._results_end,),
            start_new_session=True,  # so that killing it kills its sandboxes too
            text=True,
        )
        os.close(self._results_end)
        self.results = os.fdopen(results)

    @property
    def alive(self):
        return self.process.poll() is None

    def grade(self, student, assignment, hard_limit):
        """Grade one submission; an Outcome whatever happens, with the worker killed if stuck."""
        outcome = Outcome(student, assignment)
        try:
            self.process.stdin.write(json.dumps([student, assignment]) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it died: read the reason below
        ready, _, _ = select.select([self.results], [], [], hard_limit)
        line = self.results.readline() if ready else None
        if line:
            outcome.reasons = json.loads(line)
        elif line is None:
            self.kill()
            outcome.reasons.append(f"grading was stopped by force after {hard_limit:.0f} s")
        else:
            self.kill()
            outcome.reasons.append(grader_failed(self.last_log_line()))
        return outcome

    def last_log_line(self):
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no message"

    def kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.close()

    def close(self):
        """Let the worker finish (its stdin closes), then release its pipes and log; idempotent."""
        if not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.results.close()
        self.log.close()


def _grade_in_slot(todo, done, root, cell_timeout, force, hard_limit):
    """Take submissions from `todo` until it is empty, grading them with one worker."""
    worker = None
    try:
        while True:
            try:
                student, assignment = todo.get_nowait()
            except queue.Empty:
                return
            try:
                if worker is None or not worker.alive:
                    worker = Worker(root, cell_timeout, force)
                outcome = worker.grade(student, assignment, hard_limit)
            except Exception as error:
                outcome = Outcome(student, assignment, reasons=[grader_failed(error)])
            done.put(outcome)
    finally:
        if worker is not None:
            worker.close()


def grade_course(root, cell_timeout=None, force=False, jobs=1, progress=print):
    """Grade the submissions under submitted/, write feedback and grades.csv; return outcomes.

    `jobs` worker processes grade at once, each one submission at a time, each with a
    warm kernel process of its own. Like `nbgrader autograde`, this skips submissions
    already autograded unless `force`.
    """
    prepare_environment()
    root = Path(root).resolve()
    config = load_config(root)
    hard_limit = config.LimitedExecute.get("submission_timeout", DEFAULT_SUBMISSION_TIMEOUT) + 120
    todo = submissions(root)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        assignments = {a.name for a in gradebook.assignments}
        # Students are added here, one writer at a time, so that parallel workers never
        # race to create the same student; each worker then writes only its own submission.
        for student in sorted({student for student, _ in todo}):
            gradebook.update_or_create_student(student)

    outcomes, runnable = [], queue.Queue()
    for student, assignment in todo:
        if assignment in assignments:
            runnable.put((student, assignment))
        else:
            reason = f"there is no assignment called {assignment!r}"
            outcomes.append(Outcome(student, assignment, reasons=[reason]))
    total, done = runnable.qsize(), queue.Queue()
    slots = min(max(1, jobs), total)
    with ThreadPoolExecutor(max_workers=max(1, slots)) as pool:
        for _ in range(slots):
            pool.submit(_grade_in_slot, runnable, done, root, cell_timeout, force, hard_limit)
        for count in range(1, total + 1):
            outcome = done.get()
            outcomes.append(outcome)
            bar = "#" * (20 * count // total)
            progress(
                f"[{bar:<20}] {count}/{total} graded: {outcome.student} / {outcome.assignment}"
            )
    outcomes.sort(key=lambda o: (o.student, o.assignment))
    read_scores(root, outcomes)
    export_csv(root)
    return outcomes


def prepare_environment():
    """Set up what nbgrader and the kernels it starts inherit from this process."""
    # Quiet TensorFlow's INFO lines in every kernel (its warnings and errors still print).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # Fewer malloc arenas: each reserves address space, which counts against the kernels'
    # memory cap (prlimit --as) although it is never used.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    # nbgrader's gradebook queries trip SQLAlchemy warnings that say nothing to an instructor.
    warnings.filterwarnings("ignore", category=SAWarning)
    # nbgrader runs the `alembic` command to create a gradebook: find the one beside us.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
