"""Grading on a Dask cluster: one task per submission, graded on a worker exactly as locally.

`DaskPool(root, "tcp://host:8786", ...).grade(submissions)` yields an Outcome per
submission as each finishes, as `LocalPool` does. The workers do not see the course
folder; each task carries what grading needs and brings back what the folder keeps:

- to the worker: the submission's files, and once per assignment (a task of its own that
  the grading tasks depend on, so a worker fetches it once) the source notebooks, the
  course config (without its gradebook URL), the due date and the grading options;
- on the worker (`dask_worker.grade_on_worker`): a course folder of its own (a *staging*
  folder, kept from task to task) with a throw-away SQLite gradebook made from the source
  by nbgrader's `generate_assignment`, and a grading worker process on it (`pool.Worker`,
  the very process the local pool runs: same sandbox, limits, preprocessors, warm kernels,
  hard limit), which autogrades the submission and writes its feedback;
- back: the failures, the autograded folder and the feedback folder, as bytes.

The instructor's side then writes, one submission at a time and under the submission's
claim (`gradebook.claim`), the two folders into the course and the scores into the real
gradebook (`gradebook.record_autograded`: nbgrader's own SaveAutoGrades and
AssignLatePenalties on the autograded notebooks). The gradebook is written once per
submission, by one side, whatever happened on the cluster: a worker that dies mid-task
makes Dask run the task again elsewhere, and only the result that comes back is written.
"""

import ast
import hashlib
import pickle
import uuid
from pathlib import Path

from . import config, course, gradebook
from .dask_worker import carried, grade_on_worker, read_folder, write_folder
from .outcome import REFUSED, Failure, Kind, Outcome

CONNECT_TIMEOUT = 30  # seconds to reach the scheduler


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
