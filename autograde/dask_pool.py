"""Grading on a Dask cluster: one task per submission, graded on a worker exactly as locally.

`DaskPool(root, "tcp://host:8786", ...).grade(submissions)` yields an Outcome per
submission as each finishes, as `LocalPool` does. The workers do not see the course
folder; each task carries what grading needs and brings back what the folder keeps:

- to the worker: the submission's files, and once per assignment (a task of its own that
  the grading tasks depend on, so a worker fetches it once) the source notebooks, the
  course config (without its gradebook URL), the due date and the grading options;
- on the worker (`grade_on_worker`): a course folder of its own (a *staging* folder, kept
  from task to task) with a throw-away SQLite gradebook made from the source by nbgrader's
  `generate_assignment`, and a grading worker process on it (`pool.Worker`, the very
  process the local pool runs: same sandbox, limits, preprocessors, warm kernels, hard
  limit), which autogrades the submission and writes its feedback;
- back: the failures, the autograded folder and the feedback folder, as bytes.

The instructor's side then writes, one submission at a time and under the submission's
claim (`gradebook.claim`), the two folders into the course and the scores into the real
gradebook (`gradebook.record_autograded`: nbgrader's own SaveAutoGrades and
AssignLatePenalties on the autograded notebooks). The gradebook is written once per
submission, by one side, whatever happened on the cluster: a worker that dies mid-task
makes Dask run the task again elsewhere, and only the result that comes back is written.
"""

import ast
import atexit
import hashlib
import os
import pickle
import shutil
import tempfile
import threading
import uuid
from datetime import timedelta
from pathlib import Path

from . import config, course, gradebook
from .outcome import REFUSED, Failure, Kind, Outcome

CONNECT_TIMEOUT = 30  # seconds to reach the scheduler


def carried(value):
    """A task whose result is its argument: data the scheduler can always recompute."""
    return value


def config_lines(course_config):
    """The course config as `c.Section.name = value` lines, without what is the course's own.

    The gradebook URL (and its password) stays with the instructor; the worker's staging
    folder has its own root, hidden paths and gradebook.
    """
    lines = []
    for section, values in sorted(course_config.items()):
        for name, value in sorted(values.items()):
            if (section, name) in {
                ("CourseDirectory", "db_url"),
                ("CourseDirectory", "root"),
                ("SandboxedKernelManager", "hidden_paths"),
            }:
                continue
            line = f"c.{section}.{name} = {value!r}"
            try:
                compile(line, "nbgrader_config.py", "exec")
                if ast.literal_eval(repr(value)) != value:
                    raise ValueError
            except Exception as error:
                raise SystemExit(
                    f"c.{section}.{name} in nbgrader_config.py cannot be sent to Dask workers "
                    "(only plain values can: numbers, strings, lists, dicts)."
                ) from error
            lines.append(line)
    return lines


class DaskPool:
    """The workers of an existing Dask cluster grading the submissions of one course."""

    def __init__(
        self,
        root,
        scheduler,
        cell_timeout=None,
        force=False,
        hard_limit=720,
        no_sandbox=False,
        db_url=None,
    ):
        self.root, self.scheduler = Path(root).resolve(), scheduler
        self.cell_timeout, self.force, self.hard_limit = cell_timeout, force, hard_limit
        self.no_sandbox = no_sandbox
        self.api = config.open_api(self.root, cell_timeout, no_sandbox, db_url=db_url)
        self.url = self.api.coursedir.db_url

    def grade(self, todo):
        """Grade each (student, assignment) in `todo` on the cluster; yield Outcomes as they come."""
        from distributed import Client, as_completed

        try:
            client = Client(self.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except OSError as error:
            raise SystemExit(
                f"No Dask scheduler answers at {self.scheduler}: {error}. Start one "
                "(`dask scheduler`) and its workers, or grade here without --scheduler."
            ) from None
        try:
            bundles, running = {}, {}
            duedates, extensions = self._dates()
            for student, assignment in todo:
                outcome = self._without_task(student, assignment)
                if outcome is not None:
                    yield outcome
                    continue
                if assignment not in bundles:
                    bundle = self._bundle(assignment, duedates.get(assignment))
                    bundles[assignment] = client.submit(
                        carried, bundle, key=f"autograde-bundle-{bundle['digest']}", pure=False
                    )
                future = client.submit(
                    grade_on_worker,
                    bundles[assignment],
                    student,
                    assignment,
                    self._files(student, assignment),
                    extensions.get((student, assignment)),
                    key=f"autograde-{assignment}-{uuid.uuid4().hex}",
                    pure=False,
                )
                running[future] = (student, assignment)
            for future in as_completed(list(running), loop=client.loop):
                student, assignment = running.pop(future)
                yield self._outcome(future, student, assignment)
        finally:
            client.close()

    def _without_task(self, student, assignment):
        """The outcome of a submission no worker needs to see: refused at intake, or
        graded before (without --force, as nbgrader skips it)."""
        failures = course.check_files(self.root, student, assignment)
        if REFUSED & {f.kind for f in failures}:
            return Outcome(student, assignment, failures=failures)
        if not self.force and self._graded_before(student, assignment):
            from .worker import failures_in_autograded

            failures += failures_in_autograded(self.root, student, assignment)
            return Outcome(student, assignment, failures=failures)
        return None

    def _graded_before(self, student, assignment):
        return (self.root / "autograded" / student / assignment).is_dir()

    def _dates(self):
        """Each assignment's due date, and each submission's extension in seconds, if any
        (the worker's late penalty, in its feedback, then matches the gradebook's)."""
        with gradebook.opened(self.url, self.api.coursedir.course_id) as book:
            duedates = {a.name: a.duedate for a in book.assignments}
            extensions = {
                (s.student_id, a.name): s.extension.total_seconds()
                for a in book.assignments
                for s in a.submissions
                if s.extension
            }
        return duedates, extensions

    def _bundle(self, assignment, duedate):
        """What every task of one assignment needs: config, source files, due date, options."""
        source = self.root / "source" / assignment
        bundle = {
            "config": "\n".join(["c = get_config()  # noqa: F821", *config_lines(self.api.config)]),
            "assignment": assignment,
            "sources": read_folder(source),
            "duedate": duedate.isoformat() if duedate else None,
            "options": {
                "cell_timeout": self.cell_timeout,
                "no_sandbox": self.no_sandbox,
                "hard_limit": self.hard_limit,
            },
        }
        bundle["digest"] = hashlib.sha256(pickle.dumps(sorted(bundle.items()))).hexdigest()[:16]
        return bundle

    def _files(self, student, assignment):
        return read_folder(self.root / "submitted" / student / assignment)

    def _outcome(self, future, student, assignment):
        """Write what a finished task brought back; the Outcome, whatever happened to it."""
        from distributed import KilledWorker

        try:
            result = future.result()
        except KilledWorker:
            detail = "Dask gave up on it: every worker that ran it died"
            return Outcome(
                student, assignment, failures=[Failure(Kind.GRADER_ERROR, detail=detail)]
            )
        except Exception as error:
            detail = config.scrub(f"{type(error).__name__}: {error}", self.url)
            return Outcome(
                student, assignment, failures=[Failure(Kind.GRADER_ERROR, detail=detail)]
            )
        finally:
            future.release()
        failures = [Failure.from_dict(f) for f in result["failures"]]
        claimed = gradebook.claim(self.root, student, assignment)
        try:
            if not self.force and self._graded_before(student, assignment):
                # Another run on this course graded it while this one waited: keep theirs.
                return self._without_task(student, assignment)
            if result["autograded"]:  # else nbgrader stopped early: keep what the course has
                for kind in ("autograded", "feedback"):
                    write_folder(self.root / kind / student / assignment, result[kind])
                gradebook.record_autograded(self.api, student, assignment)
        finally:
            claimed.close()
        return Outcome(student, assignment, failures=failures)


def read_folder(folder):
    """{relative path: bytes} of every file under `folder` (never following a link)."""
    files = {}
    for parent, _, names in os.walk(folder):
        for name in names:
            path = Path(parent) / name
            if not path.is_symlink():
                files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def write_folder(folder, files):
    """Make `folder` hold exactly `files` ({relative path: bytes}); nothing outside it."""
    if folder.exists():
        shutil.rmtree(folder)
    for relative, content in files.items():
        path = Path(relative)
        if path.is_absolute() or ".." in path.parts:
            continue
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(content)


# The worker's side. Each Dask worker process keeps staging folders, one per task running
# at once (--nthreads), each with its grading process and warm kernels, from task to task.
_IDLE, _LOCK = {}, threading.Lock()


class Staging:
    """A course folder of this worker's own, with a throw-away gradebook and a grading process."""

    def __init__(self, bundle):
        self.root = Path(tempfile.mkdtemp(prefix="autograde-staging-"))
        gradebook_url = f"sqlite:///{self.root / 'gradebook.db'}"
        text = bundle["config"] + f"\nc.CourseDirectory.db_url = {gradebook_url!r}\n"
        (self.root / "nbgrader_config.py").write_text(text)
        self.options, self.prepared, self.worker = bundle["options"], {}, None

    def prepare(self, bundle):
        """The assignment's source notebooks in place, and in the gradebook (once per version)."""
        assignment = bundle["assignment"]
        if self.prepared.get(assignment) == bundle["digest"]:
            return
        write_folder(self.root / "source" / assignment, bundle["sources"])
        api = config.open_api(self.root)
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"generate_assignment failed on the worker: {result.get('log')}")
        with gradebook.opened(api.coursedir.db_url, api.coursedir.course_id) as book:
            book.update_or_create_assignment(assignment, duedate=bundle["duedate"])
        self.prepared[assignment] = bundle["digest"]

    def grade(self, student, assignment, files, extension):
        from .pool import Worker

        for kind in ("submitted", "autograded", "feedback"):
            shutil.rmtree(self.root / kind / student / assignment, ignore_errors=True)
        write_folder(self.root / "submitted" / student / assignment, files)
        api = config.open_api(self.root)
        with gradebook.opened(api.coursedir.db_url, api.coursedir.course_id) as book:
            book.update_or_create_student(student)
            submission = book.update_or_create_submission(assignment, student)
            submission.extension = timedelta(seconds=extension) if extension else None
            book.db.commit()
        if self.worker is None or not self.worker.alive:
            self.worker = Worker(
                self.root,
                self.options["cell_timeout"],
                force=True,  # whether to grade again is the instructor's decision, made there
                no_sandbox=self.options["no_sandbox"],
            )
        outcome = self.worker.grade(student, assignment, self.options["hard_limit"])
        result = {"failures": [f.to_dict() for f in outcome.failures]}
        for kind in ("autograded", "feedback"):
            result[kind] = read_folder(self.root / kind / student / assignment)
        for kind in ("submitted", "autograded", "feedback"):
            shutil.rmtree(self.root / kind / student / assignment, ignore_errors=True)
        return result

    def close(self):
        if self.worker is not None:
            self.worker.close()
        shutil.rmtree(self.root, ignore_errors=True)


def grade_on_worker(bundle, student, assignment, files, extension):
    """The Dask task: grade one submission in a staging folder; failures and the two folders."""
    config.prepare_environment()
    key = hashlib.sha256((bundle["config"] + repr(sorted(bundle["options"].items()))).encode())
    key = key.hexdigest()
    with _LOCK:
        idle = _IDLE.setdefault(key, [])
        staging = idle.pop() if idle else None
    try:
        if staging is None:
            staging = Staging(bundle)
        staging.prepare(bundle)
        return staging.grade(student, assignment, files, extension)
    except Exception as error:  # a failure of this submission's grading, not of the task
        failure = Failure(Kind.GRADER_ERROR, detail=f"{type(error).__name__}: {error}")
        return {"failures": [failure.to_dict()], "autograded": {}, "feedback": {}}
    finally:
        if staging is not None:
            with _LOCK:
                _IDLE[key].append(staging)


@atexit.register
def _close_stagings():
    with _LOCK:
        for idle in _IDLE.values():
            for staging in idle:
                staging.close()
        _IDLE.clear()
