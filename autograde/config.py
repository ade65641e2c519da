"""Course configuration: the default limits, the nbgrader_config.py template, reading it back.

The course's `nbgrader_config.py` is a plain nbgrader config: `nbgrader autograde`,
`nbgrader generate_feedback`, `nbgrader export` and formgrader read it too.
"""

import os
import sys
import warnings
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

from traitlets.config.loader import PyFileConfigLoader

# nbgrader and SQLAlchemy are imported by the functions that use them: a grading worker reads
# the course's config (load_config) to start its warm process before it imports them.

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

# The gradebook: SQLite in this folder (gradebook.db) unless a database URL is given here,
# e.g. "postgresql://grader:PASSWORD@db.example.org:5432/course" (`autograde init --db URL`).
# To keep a password out of this file, read it from the environment instead (one line, which
# `autograde init` keeps when it writes this file again):
#   import os; c.CourseDirectory.db_url = os.environ["GRADEBOOK_URL"]
{gradebook}

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
# nbconvert's HTML exporter, with its templates compiled once per grading process.
c.GenerateFeedback.exporter_class = "autograde.feedback_exporter.FeedbackExporter"
"""


def write_config(
    root,
    cell_timeout=CELL_TIMEOUT,
    submission_timeout=SUBMISSION_TIMEOUT,
    memory_gb=MEMORY_GB,
    db_url=None,
):
    """Write ROOT/nbgrader_config.py from the template; `db_url`: the gradebook, if not SQLite.

    Without `db_url`, the lines of an existing config that set `db_url` are kept as they
    are (a URL, or an expression that reads it from the environment), so that writing the
    config again never moves the course to another gradebook. A config that holds a
    password is readable by its owner only.
    """
    path = Path(root) / "nbgrader_config.py"
    if db_url:
        gradebook = f"c.CourseDirectory.db_url = {db_url!r}"
    elif path.exists():
        gradebook = "\n".join(
            line
            for line in path.read_text().splitlines()
            if "db_url" in line and not line.lstrip().startswith("#")
        )
    else:
        gradebook = ""
    text = TEMPLATE.format(
        course_id=COURSE_ID,
        timeout=int(cell_timeout),
        submission_timeout=int(submission_timeout),
        memory_gb=float(memory_gb),
        root=Path(root).resolve(),
        gradebook=gradebook,
    )
    private = path.exists() and not path.stat().st_mode & 0o077
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    if private or password_of(gradebook):
        os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as config_file:
        config_file.write(text)


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


def open_api(root, cell_timeout=None, no_sandbox=False, db_url=None):
    """An NbGraderAPI on the course in `root`, configured by its nbgrader_config.py.

    `db_url`, if given, is the gradebook for this API instead of the config's.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    root = Path(root).resolve()
    config = load_config(root)
    if cell_timeout is not None:
        config.Execute.timeout = int(cell_timeout)
    if no_sandbox:
        config.SandboxedKernelManager.sandbox = False
    config.CourseDirectory.db_url = gradebook_url(root, db_url)
    config.SandboxedKernelManager.hidden_paths = [str(root)]  # right even if the course moved
    # nbconvert checks the notebook against its schema after each of the dozen preprocessors
    # (0.03 s per submission); once, after the last, still catches an invalid one.
    config.Exporter.optimistic_validation = True
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return NbGraderAPI(coursedir, config=config)


# The environment variable that carries a `--db` URL to a grading worker: never its command
# line, which any user of the machine can read (ps). The worker removes it from its
# environment before it starts a kernel.
DB_URL_ENV = "AUTOGRADE_DB_URL"


def gradebook_url(root, db_url=None):
    """The gradebook's database URL: `db_url` if given (`--db`), else the config's
    `CourseDirectory.db_url`, else ROOT/gradebook.db."""
    from nbgrader.coursedir import CourseDirectory

    if db_url:
        return normalized(db_url)
    coursedir = CourseDirectory(config=load_config(root))
    coursedir.root = str(Path(root).resolve())
    return normalized(coursedir.db_url)


def course_id(root):
    return load_config(root).CourseDirectory.get("course_id", COURSE_ID)


def normalized(url):
    """`postgres://` (as some hosts print it) is `postgresql://` to SQLAlchemy 2."""
    return "postgresql://" + url[len("postgres://") :] if url.startswith("postgres://") else url


def _userinfo(url):
    """(what comes before the password, the password as written, the rest), or None."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, host = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not at or not colon:
        return None
    return scheme + sep + user + ":", password, "@" + host


def password_of(url):
    """The password in a database URL, as written in it (maybe %-encoded), or None."""
    parts = _userinfo(url)
    return parts[1] if parts and parts[1] else None


def masked(url):
    """The URL as it may be printed: its password, if any, replaced by ***."""
    parts = _userinfo(url)
    return f"{parts[0]}***{parts[2]}" if parts and parts[1] else url


def scrub(text, url):
    """`text` without the password of `url`, in any of the forms it may take (as written in
    the URL, decoded, %-encoded)."""
    password = password_of(url) if url else None
    if not password:
        return text
    text = text.replace(url, masked(url))
    decoded = unquote(password)
    forms = {password, decoded, quote(decoded, safe=""), quote_plus(decoded)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def prepare_environment():
    """Set up what nbgrader and the kernels it starts inherit from this process."""
    # Fewer malloc arenas: each reserves address space, which counts against the kernels'
    # memory cap (prlimit --as) although it is never used.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    from sqlalchemy.exc import SAWarning

    # nbgrader's gradebook queries trip SQLAlchemy warnings that say nothing to an instructor.
    warnings.filterwarnings("ignore", category=SAWarning)
    # nbgrader runs the `alembic` command (to upgrade a gradebook; to create one, see
    # gradebook.alembic_head): find the one beside us.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
