"""The worker's side of grading on Dask, and what a grading worker loads at its start.

Start each worker with `dask worker ADDRESS --preload autograde.dask_worker`. As a
preload, this module does two things, both measured (README, "Grading on Dask"):

- Dask's sampling profiler is turned off. Every 10 ms it walks the stacks of the worker's
  threads, and a grading task is one thread waiting for its grading process for many
  seconds: on two cores the profiler cost about 10 s of CPU in a class of 12, a tenth of
  the grading itself. Dask reads this setting when the worker is created, after it has
  imported its preloads, so setting it here is in time. Nothing of the grading needs it.
  (Imported anywhere else, by the scheduler or the instructor's side, the setting
  concerns no worker.)
- the grader (nbgrader's API among it, about 2 s) is imported when the worker starts,
  rather than by the first task it is given.

The tasks name their functions here (`carried`, `grade_on_worker`): Dask's scheduler
unpickles every task it is sent, importing the module of its function, so this module
imports nothing heavy at import time (a scheduler that imported nbgrader for the first
task of each run took 2.5 s to start it). What each task does is described in
dask_pool.py, the instructor's side.
"""

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

import dask

from .outcome import Failure, Kind

dask.config.set({"distributed.worker.profile.enabled": False})


def worker_arguments(scheduler, threads):
    """The `dask worker` arguments of a grading worker, as the README's commands give them."""
    threads = ["--nthreads", str(threads)]
    return ["worker", scheduler, *threads, "--memory-limit", "0", "--preload", __name__]


def dask_setup(worker):
    """Called by Dask once the worker has started: import the grader now."""
    from . import config, gradebook, pool  # noqa: F401  (their import is the point)


def carried(value):
    """A task whose result is its argument: data the scheduler can always recompute."""
    return value


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


# Each Dask worker process keeps staging folders, one per task running at once
# (--nthreads), each with its grading process and warm kernels, from task to task.
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
        from . import config, gradebook

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
        from . import config, gradebook
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
    from . import config

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
