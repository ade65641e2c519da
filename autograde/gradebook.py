"""The gradebook: students added before grading, scores read back after, nbgrader's CSV export.

Any database nbgrader supports: its URL is `autograde grade --db URL` for one run, else
the course config's `CourseDirectory.db_url`, else SQLite in ROOT/gradebook.db
(`config.gradebook_url`). PostgreSQL takes a plain `postgresql://user:password@host:port/db`
(SQLAlchemy's default driver for it, psycopg2, is pinned in requirements.txt). A URL is
shown only masked (`config.masked`), and errors are scrubbed of its password.

Several graders may write at once: the workers of one run, and other runs on the same
course. Rows two of them could both create (a student) are created before grading, with
a retry when another run created the row first; a submission is graded by one of them at
a time (`claim`), so its rows are written by one side only.
"""

import fcntl
import functools
import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

import nbformat
import nbgrader.api
from nbgrader.api import Gradebook, InvalidEntry, MissingEntry
from nbgrader.plugins import CsvExportPlugin
from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades
from sqlalchemy.exc import SQLAlchemyError

from .config import masked, scrub


@functools.cache
def alembic_head():
    """The migration revision nbgrader stamps a new gradebook with, read in this process.

    nbgrader's own `get_alembic_version` runs the `alembic heads` command for it each time it
    creates a gradebook: a new Python process that imports nbgrader, about 3.8 s of CPU
    (measured), for every new course and every Dask worker's staging course. This reads the
    same answer from the same files, nbgrader's migration scripts, with alembic's API.
    """
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:///gradebook.db") as ini:
        return ScriptDirectory.from_config(Config(ini)).get_current_head()


# nbgrader's Gradebook looks the function up when it creates a database, so this is in time
# for every gradebook made in a process that imported autograde's gradebook module.
NBGRADERS_ALEMBIC_VERSION = nbgrader.api.get_alembic_version
nbgrader.api.get_alembic_version = alembic_head


class GradebookUnavailable(SystemExit):
    """The gradebook could not be opened: its masked URL and the database's reason."""

    def __init__(self, url, error):
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        super().__init__(
            f"The gradebook at {masked(url)} cannot be opened: {scrub(reason, url)}\n"
            "Check the URL (--db, or c.CourseDirectory.db_url in nbgrader_config.py), that "
            "the database server is running and reachable, and the user's password."
        )


@contextmanager
def opened(url, course_id):
    """nbgrader's Gradebook on `url`; a GradebookUnavailable if it cannot be opened."""
    try:
        gradebook = Gradebook(url, course_id)
    except SQLAlchemyError as error:
        raise GradebookUnavailable(url, error) from None
    with gradebook:
        yield gradebook


def assignments(url, course_id):
    """The names of the assignments the gradebook knows."""
    with opened(url, course_id) as gradebook:
        return {a.name for a in gradebook.assignments}


def add_students(url, course_id, students):
    """Add students before grading, so that workers never race to create the same one.

    Another run on the same course may add one between our look-up and our insert: the
    database then refuses ours (a unique key), and the next attempt finds theirs.
    """
    with opened(url, course_id) as gradebook:
        for student in sorted(set(students)):
            for attempt in range(3):
                try:
                    gradebook.update_or_create_student(student)
                    break
                except InvalidEntry:
                    if attempt == 2:
                        raise


def read_scores(url, course_id, outcomes):
    """Fill in each outcome's score from the gradebook."""
    with opened(url, course_id) as gradebook:
        for outcome in outcomes:
            try:
                submission = gradebook.find_submission(outcome.assignment, outcome.student)
            except MissingEntry:
                continue
            outcome.score, outcome.max_score = submission.score, submission.max_score


def export_csv(url, course_id, root):
    """nbgrader's own CSV export of the whole gradebook, to ROOT/grades.csv.

    Written beside it and renamed over it, so that a run reading it, or another run
    exporting at the same moment, never sees half a file.
    """
    path = Path(root) / "grades.csv"
    partial = path.with_name(f".grades.csv.{os.getpid()}")
    with opened(url, course_id) as gradebook:
        CsvExportPlugin(to=str(partial)).export(gradebook)
    os.replace(partial, path)
    return path


def claim(root, student, assignment, wait=True):
    """Hold the right to grade one submission of the course in `root`; None if another has it.

    A lock file per submission under ROOT/.autograde/locks (flock: released when the
    returned file is closed, or when its process dies). Runs on the same course folder
    then never grade one submission at the same time: they would both write its files
    under autograded/ and race to create its rows in the gradebook.
    """
    folder = Path(root) / ".autograde" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(json.dumps([student, assignment]).encode()).hexdigest()[:32]
    handle = open(folder / name, "a")  # held until the caller closes it
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        handle.close()
        return None
    return handle


def record_autograded(api, student, assignment):
    """Write the scores of a submission autograded elsewhere, from its autograded notebooks.

    The notebooks are in ROOT/autograded/STUDENT/ASSIGNMENT already. What nbgrader's
    `autograde` does to the gradebook, done here by nbgrader's own code: the submission
    (with its timestamp), zero for each notebook not submitted, then `SaveAutoGrades` and
    `AssignLatePenalties` on each autograded notebook, configured by the course's config
    (the late-penalty plugin, say). A manual grade given earlier is kept, as nbgrader
    keeps it.
    """
    coursedir, url = api.coursedir, api.coursedir.db_url
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
    graded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    timestamp = coursedir.get_existing_timestamp(str(submitted))
    with opened(url, coursedir.course_id) as gradebook:
        extra = {"timestamp": timestamp} if timestamp else {}
        gradebook.update_or_create_submission(assignment, student, **extra)
        names = [notebook.name for notebook in gradebook.find_assignment(assignment).notebooks]
        for name in names:
            if not (submitted / f"{name}.ipynb").exists():
                notebook = gradebook.find_submission_notebook(name, assignment, student)
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gradebook.db.commit()
    for name in names:
        path = graded / f"{name}.ipynb"
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        resources = {
            "nbgrader": {
                "db_url": url,
                "assignment": assignment,
                "notebook": name,
                "student": student,
            }
        }
        for step in (SaveAutoGrades, AssignLatePenalties):
            nb, resources = step(config=api.config).preprocess(nb, resources)
