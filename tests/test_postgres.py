"""A PostgreSQL gradebook: a real server started here, graded into and compared with SQLite.

The server is a throw-away cluster in a temporary folder (tests/pg_server.py), on a free
port, with password authentication, removed at the end. The class is the small fixture
assignment, as lesson00 and lesson01; every command runs as an instructor types it:
`autograde init --db URL`, `autograde grade`, `autograde grade --db URL`, two runs at once.
"""

import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap

import nbformat
import pytest
from fixture_assignment import answered, fixture_lesson
from nbgrader.api import Gradebook
from pg_server import Server, Unavailable

from autograde import config, course
from autograde.grading import grade_course

USER, PASSWORD = "grader", "Gr4der-s3cret-pw"
WRONG_PASSWORD = "not-the-Passw0rd"
NOTEBOOKS = {"lesson00": "00_fixture.ipynb", "lesson01": "01_fixture.ipynb"}

WRONG_DOUBLE = "def double(x):\n    return x"
WRONG_TRAIN = "def train_step(w, frozen):\n    frozen.assign_add([1.0])"
# Prints everything of the grader's it can reach: the environment, and its processes'.
SNOOP = textwrap.dedent(
    """\
    import os
    print(dict(os.environ))
    for pid in ["self", "1", str(os.getppid())]:
        try:
            print(pid, open(f"/proc/{pid}/environ", "rb").read())
        except OSError as error:
            print(pid, error)
    def double(x):
        return 2 * x"""
)
# student: (the notebook made from the release, expected code score out of 5)
CLASS = {
    "correct": (lambda release: answered(release), 5),
    "blank": (lambda release: release, 0),
    "wrong_double": (lambda release: answered(release, double=WRONG_DOUBLE), 3),
    "wrong_train": (lambda release: answered(release, train_step=WRONG_TRAIN), 2),
    "snoop": (lambda release: answered(release, double=SNOOP), 5),
}


@pytest.fixture(scope="module")
def server():
    try:
        server = Server().start()
    except Unavailable as why:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL must run in CI, but: {why}")
        pytest.skip(f"PostgreSQL cannot be started here: {why}")
    server.create_user(USER, PASSWORD)
    yield server
    server.stop()


def new_database(server, name):
    server.create_database(name, USER)
    return server.url(USER, PASSWORD, name)


def autograde(*args, wait=True):
    command = [sys.executable, "-m", "autograde", *map(str, args)]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def lessons(folder):
    folder.mkdir()
    for name in NOTEBOOKS.values():
        nbformat.write(fixture_lesson(), folder / name)
    return folder


def submit(root, assignments, students=CLASS):
    for assignment in assignments:
        name = NOTEBOOKS[assignment]
        release = nbformat.read(root / "release" / assignment / name, as_version=4)
        for student in students:
            folder = root / "submitted" / student / assignment
            folder.mkdir(parents=True)
            nbformat.write(CLASS[student][0](release), folder / name)
    (root / "submitted" / "missing" / "lesson00").mkdir(parents=True)  # no notebook at all


def grades(url):
    """{(student, assignment, grade id): (auto score, needs manual grade)}, and each
    submission's (code score, max code score)."""
    cells, scores = {}, {}
    with Gradebook(url) as gradebook:
        for assignment in gradebook.assignments:
            for submission in gradebook.assignment_submissions(assignment.name):
                key = (submission.student_id, assignment.name)
                scores[key] = (submission.code_score, submission.max_code_score)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        cells[(*key, grade.name)] = (grade.auto_score, grade.needs_manual_grade)
    return cells, scores


def summary_rows(stdout):
    """{(student, assignment): "score / max"} from the summary table."""
    rows = {}
    for line in stdout.splitlines():
        cells = line.split()
        if len(cells) >= 5 and cells[3] == "/":
            rows[(cells[0], cells[1])] = " ".join(cells[2:5])
        elif cells[2:4] == ["not", "graded"]:
            rows[(cells[0], cells[1])] = "not graded"
    return rows


def files_under(root):
    for parent, _, names in os.walk(root):
        for name in names:
            yield os.path.join(parent, name)


@pytest.fixture(scope="module")
def graded(server, tmp_path_factory):
    """The class graded twice: into SQLite (the default), and into PostgreSQL from the CLI."""
    base = tmp_path_factory.mktemp("postgres")
    folder = lessons(base / "lessons")
    sqlite = base / "sqlite"
    course.init_course(sqlite, lessons_dir=folder, cell_timeout=20, submission_timeout=60)
    submit(sqlite, ["lesson00"])
    grade_course(sqlite, jobs=1)  # the reference; the PostgreSQL run below has two jobs

    url = new_database(server, "graded")
    root = base / "postgres"
    course.init_course(root, lessons_dir=folder, cell_timeout=20, submission_timeout=60, db_url=url)
    submit(root, ["lesson00"])
    run = autograde("grade", root, "--jobs", 2)  # the gradebook named in the course's config
    assert run.returncode == 0, run.stdout + run.stderr
    return sqlite, root, url, run


def test_every_score_in_postgresql_is_the_one_sqlite_gives(graded):
    sqlite, _, url, run = graded
    in_sqlite, sqlite_scores = grades(config.gradebook_url(sqlite))
    in_postgres, postgres_scores = grades(url)
    assert in_postgres == in_sqlite
    assert postgres_scores == sqlite_scores
    # Not both wrong the same way: each student has the score the fixture says.
    for student, (_, expected) in CLASS.items():
        assert postgres_scores[(student, "lesson00")] == (expected, 5), student
    shown = summary_rows(run.stdout)
    for student, (_, expected) in CLASS.items():
        assert shown[(student, "lesson00")] == f"{expected} / 5"


def test_grade_and_export_use_the_gradebook_the_config_names(graded, server):
    _, root, url, _ = graded
    assert not (root / "gradebook.db").exists()  # neither init, grade nor export made one
    assert f"c.CourseDirectory.db_url = {url!r}" in (root / "nbgrader_config.py").read_text()
    # grades.csv, and stock nbgrader's own export, read the same gradebook.
    ours = (root / "grades.csv").read_text().splitlines()
    assert any(line.startswith("lesson00,") and ",correct," in line for line in ours)
    stock = subprocess.run(
        [shutil.which("nbgrader", path=os.path.dirname(sys.executable)), "export"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert stock.returncode == 0, stock.stderr
    assert sorted((root / "grades.csv").read_text().splitlines()) == sorted(ours)
    # Writing the config again (as init does on the same folder) keeps the gradebook.
    config.write_config(root)
    assert config.gradebook_url(root) == url
    assert not (root / "gradebook.db").exists()


def test_init_from_the_command_line_writes_the_url_into_the_config_only(server, tmp_path):
    url = new_database(server, "initialised")
    root = tmp_path / "course"
    init = autograde("init", root, "--db", url)
    assert init.returncode == 0, init.stdout + init.stderr
    assert PASSWORD not in init.stdout + init.stderr
    assert f"gradebook:   postgresql://grader:***@127.0.0.1:{server.port}/initialised" in (
        init.stdout
    )
    assert f"c.CourseDirectory.db_url = {url!r}" in (root / "nbgrader_config.py").read_text()
    # It holds a password: only its owner may read it.
    assert stat.S_IMODE((root / "nbgrader_config.py").stat().st_mode) == 0o600
    assert not (root / "gradebook.db").exists()
    names = server.execute("SELECT name FROM assignment ORDER BY name", database="initialised")
    assert [name for (name,) in names] == sorted(os.listdir(root / "release"))


def test_the_password_appears_in_no_output_log_or_feedback(graded):
    _, root, url, run = graded
    assert PASSWORD in url
    for text in (run.stdout, run.stderr):
        assert PASSWORD not in text
    assert "gradebook: postgresql://grader:***@127.0.0.1:" in run.stdout
    checked = 0
    for path in files_under(root):
        if os.path.basename(path) == "nbgrader_config.py":
            continue  # where the instructor put it
        with open(path, "rb") as f:
            assert PASSWORD.encode() not in f.read(), path
        checked += 1
    assert checked > 10
    # The snooping student printed what it could reach, and that is in its feedback.
    page = (root / "feedback" / "snoop" / "lesson00" / "00_fixture.html").read_text()
    assert "environ" in page


def test_a_wrong_password_is_reported_without_the_password(graded, server):
    _, root, _, _ = graded
    wrong = server.url(USER, WRONG_PASSWORD, "graded")
    run = autograde("grade", root, "--db", wrong)
    assert run.returncode != 0
    assert WRONG_PASSWORD not in run.stdout + run.stderr
    assert f"The gradebook at postgresql://grader:***@127.0.0.1:{server.port}/graded" in run.stderr
    assert "password authentication failed" in run.stderr


def test_secrets_are_masked_in_every_form_a_url_writes_them():
    url = "postgresql://grader:p%40ss%2Fword@db:5432/course"
    assert config.masked(url) == "postgresql://grader:***@db:5432/course"
    assert config.masked("postgresql://grader@db/course") == "postgresql://grader@db/course"
    assert config.masked("sqlite:////tmp/a/gradebook.db") == "sqlite:////tmp/a/gradebook.db"
    said = f"could not connect to {url} as grader with p@ss/word (p%40ss%2Fword)"
    assert config.scrub(said, url) == (
        "could not connect to postgresql://grader:***@db:5432/course as grader with *** (***)"
    )
    # An unencoded @ in the password: the host is what follows the last one.
    assert config.masked("postgresql://u:p@ss@db/c") == "postgresql://u:***@db/c"
    assert config.gradebook_url(None, "postgres://u:p@db/c") == "postgresql://u:p@db/c"


STUDENTS = ["correct", "blank", "wrong_double", "wrong_train"]


@pytest.fixture(scope="module")
def shared(server, tmp_path_factory):
    """A course whose config names no gradebook, graded with `--db URL` into PostgreSQL."""
    base = tmp_path_factory.mktemp("shared")
    url = new_database(server, "shared")
    root = base / "course"
    course.init_course(
        root,
        lessons_dir=lessons(base / "lessons"),
        cell_timeout=20,
        submission_timeout=60,
        db_url=url,
    )
    text = (root / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(re.sub(r"\nc\.CourseDirectory\.db_url = .*", "", text))
    assert config.gradebook_url(root) == f"sqlite:///{root / 'gradebook.db'}"
    submit(root, ["lesson00", "lesson01"], STUDENTS)
    shutil.rmtree(root / "submitted" / "missing")
    return root, url


def at_once(*runs):
    """Start every run, then wait for all; each run's (return code, stdout, stderr)."""
    started = [autograde(*args, wait=False) for args in runs]
    return [(p.wait(timeout=900), *p.communicate()) for p in started]


def check_class(root, url, runs, assignments):
    """Each run completed and shows its submissions' right scores; the gradebook holds each
    submission once, with its two grades, and nothing from this folder's SQLite."""
    for code, stdout, stderr in runs:
        assert code == 0, stdout + stderr
        assert PASSWORD not in stdout + stderr
    cells, scores = grades(url)
    for assignment in assignments:
        for student in STUDENTS:
            assert scores[(student, assignment)] == (CLASS[student][1], 5), (student, assignment)
            assert len([key for key in cells if key[:2] == (student, assignment)]) == 2
    with Gradebook(url) as gradebook:
        for assignment in assignments:
            submitted = [s.student_id for s in gradebook.assignment_submissions(assignment)]
            assert sorted(submitted) == sorted(STUDENTS)  # once each
        assert sorted(s.id for s in gradebook.students) == sorted(STUDENTS)
    assert not (root / "gradebook.db").exists()


def test_two_runs_on_the_same_new_submissions_grade_each_once(shared):
    root, url = shared
    runs = at_once(
        ["grade", root, "--db", url, "--jobs", 1, "--assignment", "lesson00"],
        ["grade", root, "--db", url, "--jobs", 1, "--assignment", "lesson00"],
    )
    check_class(root, url, runs, ["lesson00"])
    for _, stdout, _ in runs:  # each run reports every submission, graded by it or the other
        rows = summary_rows(stdout)
        for student in STUDENTS:
            assert rows[(student, "lesson00")] == f"{CLASS[student][1]} / 5"
        assert "what went wrong" in stdout and "complete 4" in stdout


def test_two_runs_on_different_assignments_at_once_lose_nothing(shared):
    root, url = shared
    runs = at_once(
        ["grade", root, "--db", url, "--jobs", 1, "--assignment", "lesson01"],
        ["grade", root, "--db", url, "--jobs", 1, "--assignment", "lesson00", "--force"],
    )
    check_class(root, url, runs, ["lesson00", "lesson01"])
    assert summary_rows(runs[0][1]).keys() == {(s, "lesson01") for s in STUDENTS}
    assert summary_rows(runs[1][1]).keys() == {(s, "lesson00") for s in STUDENTS}
    csv = (root / "grades.csv").read_text()
    assert csv.count(",correct,") == 2  # both assignments, whichever run exported last


def test_two_forced_runs_on_the_same_assignment_at_once_duplicate_nothing(shared):
    root, url = shared
    runs = at_once(
        ["grade", root, "--db", url, "--jobs", 1, "--force", "--assignment", "lesson01"],
        ["grade", root, "--db", url, "--jobs", 1, "--force", "--assignment", "lesson01"],
    )
    check_class(root, url, runs, ["lesson00", "lesson01"])
    for _, stdout, _ in runs:
        assert summary_rows(stdout).keys() == {(s, "lesson01") for s in STUDENTS}
        assert f"complete {len(STUDENTS)}" in stdout
