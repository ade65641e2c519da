"""Several graders on one course: claims on submissions, students added twice at once, the URL.

Fast: no submission is graded here (the pool's workers are stood in for); the end-to-end
runs against a real PostgreSQL server are in test_postgres.py.
"""

import subprocess
import sys

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import text

from autograde import config, gradebook, pool
from autograde.outcome import Outcome


def test_a_claimed_submission_cannot_be_claimed_again_until_released(tmp_path):
    held = gradebook.claim(tmp_path, "ada", "lesson00")
    assert gradebook.claim(tmp_path, "ada", "lesson00", wait=False) is None
    other = gradebook.claim(tmp_path, "ada", "lesson01", wait=False)
    assert other is not None  # another submission is free
    other.close()
    held.close()
    again = gradebook.claim(tmp_path, "ada", "lesson00", wait=False)
    assert again is not None
    again.close()


def test_a_claim_ends_with_the_process_that_held_it(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from autograde import gradebook; "
            f"held = gradebook.claim({str(tmp_path)!r}, 'ada', 'lesson00'); "
            "print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    assert gradebook.claim(tmp_path, "ada", "lesson00", wait=False) is None
    holder.kill()
    holder.wait()
    holder.stdout.close()
    freed = gradebook.claim(tmp_path, "ada", "lesson00", wait=False)
    assert freed is not None
    freed.close()


def test_the_pool_grades_a_submission_another_run_holds_once_it_is_released(tmp_path, monkeypatch):
    config.write_config(tmp_path)
    graded = []

    class StandIn:  # a worker that grades instantly
        alive = True

        def __init__(self, *args):
            pass

        def send(self, student, assignment):
            pass

        def receive(self, student, assignment, hard_limit, ready=None):
            graded.append(student)
            return Outcome(student, assignment)

        def close(self):
            pass

    monkeypatch.setattr(pool, "Worker", StandIn)
    held = gradebook.claim(tmp_path, "ada", "lesson00")  # as another run would
    outcomes = pool.LocalPool(tmp_path, jobs=1).grade([("ada", "lesson00"), ("ben", "lesson00")])
    assert next(outcomes).student == "ben"
    assert graded == ["ben"]
    held.close()
    assert next(outcomes).student == "ada"
    assert graded == ["ben", "ada"]


def test_a_student_another_run_adds_first_is_found_not_duplicated(tmp_path, monkeypatch):
    config.prepare_environment()  # nbgrader runs `alembic` to create a gradebook
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as other_run:
        other_run.add_student("ada")
    # Our look-up misses ada once, as when the other run inserts her just after it.
    find = Gradebook.find_student
    missed = []

    def late_find(self, student_id):
        if student_id == "ada" and not missed:
            missed.append(student_id)
            raise MissingEntry()
        return find(self, student_id)

    monkeypatch.setattr(Gradebook, "find_student", late_find)
    gradebook.add_students(url, "course", ["ada", "ben", "ada"])
    assert missed == ["ada"]
    with Gradebook(url) as check:
        assert sorted(s.id for s in check.students) == ["ada", "ben"]


def test_an_unreachable_gradebook_says_where_without_the_password(tmp_path):
    url = "postgresql://grader:Top-s3cret@127.0.0.1:1/course"
    try:
        gradebook.assignments(url, "course")
    except SystemExit as stop:
        message = str(stop.code)
    else:
        raise AssertionError("opened a gradebook on port 1")
    assert message.startswith("The gradebook at postgresql://grader:***@127.0.0.1:1/course ")
    assert "Top-s3cret" not in message


def test_the_run_url_overrides_the_config_and_the_config_overrides_sqlite(tmp_path):
    config.write_config(tmp_path)
    assert config.gradebook_url(tmp_path) == f"sqlite:///{tmp_path / 'gradebook.db'}"
    config.write_config(tmp_path, db_url="postgresql://u:pw@db/course")
    assert config.gradebook_url(tmp_path) == "postgresql://u:pw@db/course"
    assert config.gradebook_url(tmp_path, "postgresql://other@db/x") == "postgresql://other@db/x"
    api = config.open_api(tmp_path, db_url="postgresql://other@db/x")
    assert api.coursedir.db_url == "postgresql://other@db/x"  # what the workers' nbgrader uses
    # A config that reads the URL from the environment is kept as written.
    (tmp_path / "nbgrader_config.py").write_text(
        'import os; c.CourseDirectory.db_url = os.environ["GRADEBOOK_TEST_URL"]\n'
    )
    config.write_config(tmp_path)
    assert 'os.environ["GRADEBOOK_TEST_URL"]' in (tmp_path / "nbgrader_config.py").read_text()


def test_a_new_gradebook_is_stamped_as_nbgrader_stamps_it_without_starting_a_process(
    tmp_path, monkeypatch
):
    config.prepare_environment()  # the `alembic` command beside this Python, for nbgrader's way
    assert gradebook.alembic_head() == gradebook.NBGRADERS_ALEMBIC_VERSION()

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args[0]}")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as book:
        stamped = book.db.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert stamped == gradebook.alembic_head()
