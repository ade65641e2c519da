"""Course configuration: the default limits, the nbgrader_config.py template, reading it back.

The course's `nbgrader_config.py` is a plain nbgrader config: `nbgrader autograde`,
`nbgrader generate_feedback`, `nbgrader export` and formgrader read it too.
"""

import os
import sys
import warnings
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

COURSE_ID = "frozen-vs-trainable"
# The limits every student's kernel gets unless the course's config says otherwise.
CELL_TIMEOUT = 120  # seconds one cell may run
SUBMISSION_TIMEOUT = 600  # seconds a whole notebook may run
MEMORY_GB = 4.0  # address space per kernel, in GiB
MAX_PROCESSES = 512  # processes and threads per kernel (TensorFlow alone runs dozens)
DISK_GB = 1.0  # a kernel's private /tmp, and its largest file, in GiB
# A submission folder larger than this, or a notebook with more cells, is not graded.
MAX_SUBMISSION_MB = 20
MAX_CELLS = 2000
# A worker still busy this long past the notebook's budget is killed and replaced.
HARD_LIMIT_MARGIN = 120

TEMPLATE = """\
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
# No student's kernel starts without a working sandbox; False runs student code with the
# grader's own rights (as `autograde grade --no-sandbox` does for one run).
c.SandboxedKernelManager.sandbox = True
# Under bubblewrap, each grading worker forks its kernels from one sandboxed process that has
# imported TensorFlow once (autograde/sandbox/warm_server.py); False starts every kernel afresh.
c.SandboxedKernelManager.warm = True
# Long outputs are cut (nbgrader's LimitOutput by lines, ours by bytes), and deleted grade
# cells are put back.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
c.LimitOutputBytes.max_bytes = 1000000
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
    "autograde.preprocessors.LimitOutputBytes",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# nbgrader's feedback steps, plus two: hidden tests' code is not shown (False shows it),
# and a plain-words box above each failed test.
c.HideHiddenTests.enabled = True
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograde.preprocessors.HideHiddenTests",
    "autograde.preprocessors.ExplainFailures",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
"""


def write_config(
    root, cell_timeout=CELL_TIMEOUT, submission_timeout=SUBMISSION_TIMEOUT, memory_gb=MEMORY_GB
):
    """Write ROOT/nbgrader_config.py from the template."""
    (Path(root) / "nbgrader_config.py").write_text(
        TEMPLATE.format(
            course_id=COURSE_ID,
            timeout=int(cell_timeout),
            submission_timeout=int(submission_timeout),
            memory_gb=float(memory_gb),
            root=Path(root).resolve(),
        )
    )


def load_config(root):
    """The course's nbgrader_config.py, loaded as nbgrader would."""
    root = Path(root).resolve()
    if not (root / "nbgrader_config.py").exists():
        raise SystemExit(f"{root} is not a course: run `autograde init {root}` first.")
    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def hard_limit(config):
    """Seconds after which a worker grading one submission is killed."""
    return config.LimitedExecute.get("submission_timeout", SUBMISSION_TIMEOUT) + HARD_LIMIT_MARGIN


def sandboxed(root, no_sandbox=False):
    """Whether the course's kernels run sandboxed: its config, unless this run opts out."""
    return not no_sandbox and load_config(root).SandboxedKernelManager.get("sandbox", True)


def open_api(root, cell_timeout=None, no_sandbox=False):
    """An NbGraderAPI on the course in `root`, configured by its nbgrader_config.py."""
    root = Path(root).resolve()
    config = load_config(root)
    if cell_timeout is not None:
        config.Execute.timeout = int(cell_timeout)
    if no_sandbox:
        config.SandboxedKernelManager.sandbox = False
    config.SandboxedKernelManager.hidden_paths = [str(root)]  # right even if the course moved
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return NbGraderAPI(coursedir, config=config)


def gradebook_url(root):
    """The gradebook's database URL: the config's `CourseDirectory.db_url`, else ROOT/gradebook.db."""
    coursedir = CourseDirectory(config=load_config(root))
    coursedir.root = str(Path(root).resolve())
    return coursedir.db_url


def prepare_environment():
    """Set up what nbgrader and the kernels it starts inherit from this process."""
    # Fewer malloc arenas: each reserves address space, which counts against the kernels'
    # memory cap (prlimit --as) although it is never used.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    # nbgrader's gradebook queries trip SQLAlchemy warnings that say nothing to an instructor.
    warnings.filterwarnings("ignore", category=SAWarning)
    # nbgrader runs the `alembic` command to create a gradebook: find the one beside us.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
