"""Grade submissions in a process of its own: `python -m autograde.worker_process ROOT --results FD`.

A worker grades one submission after another with nbgrader's API (autograde, then
feedback), keeping its warm kernel process (autograde/sandbox/) between them. It reads
one submission a line on stdin, as a JSON list `[student, assignment]`, and writes to file
descriptor FD, a pipe of its own (so that nothing printed by nbgrader or a kernel can pass
for a result), one JSON line per submission in the order they came: the list of its
failures. A submission's feedback page is written by a process of the worker's own while
the next submission's cells run, so the worker also writes the line `"ready"` as soon as
a submission is autograded: send the next one then, or ignore it and wait for the result.
The local pool (pool.py) runs `--jobs` of them, and sends ahead; a Dask task waits.
"""

import argparse
import atexit
import dataclasses
import gc
import json
import logging
import multiprocessing
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import nbformat
import zmq
from nbgrader.preprocessors.execute import UnresponsiveKernelError

from . import config, course
from .outcome import REFUSED, Failure, Kind, failure_of
from .sandbox import SandboxError


class RaisedWhileLogging(logging.Handler):
    """Keeps the exceptions nbgrader was handling when it logged an error.

    nbgrader's converters catch what goes wrong with a submission, log it as text and
    raise a generic error after; a handler runs inside their `except` block, where the
    exception itself is still at hand.
    """

    def __init__(self):
        super().__init__(logging.ERROR)
        self.raised = []

    def emit(self, record):
        error = sys.exc_info()[1]
        if error is not None and error not in self.raised:
            self.raised.append(error)


def failure_from_exception(error):
    """The Failure for an exception that stopped nbgrader autograding a submission."""
    if isinstance(error, SandboxError):
        return Failure(Kind.SANDBOX_REFUSED, detail=str(error))
    if isinstance(error, UnresponsiveKernelError):
        return Failure(Kind.KERNEL_UNRESPONSIVE)
    first_line = (str(error).strip().splitlines() or [""])[0]
    return Failure(Kind.NBGRADER_ERROR, detail=f"{type(error).__name__}: {first_line}".rstrip(": "))


def failures_in_autograded(root, student, assignment):
    """The failures LimitedExecute recorded in the cells of the autograded notebooks."""
    folder = Path(root) / "autograded" / student / assignment
    failures = []
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            failure = failure_of(cell)
            if failure is not None:
                failures.append(failure)
    return failures


def autograde_one(api, root, student, assignment, force=False):
    """Autograde one submission: (its failures so far, whether to write its feedback).

    Never raises for what a submission does. Without `force`, nbgrader skips a submission
    it has already autograded.
    """
    failures = course.check_files(root, student, assignment)
    if REFUSED & {f.kind for f in failures}:
        return failures, False
    watcher = RaisedWhileLogging()
    api.log.addHandler(watcher)
    try:
        result = api.autograde(assignment, student, force=force, create=True)
    finally:
        api.log.removeHandler(watcher)
    if not result["success"]:
        if failures:  # nbgrader failed on the files already reported
            return failures, False
        if watcher.raised:
            return [failure_from_exception(watcher.raised[0])], False
        return [Failure(Kind.NBGRADER_ERROR, detail="see the grader's log")], False
    return failures + failures_in_autograded(root, student, assignment), True


def write_feedback(api, student, assignment, force=False):
    """Write the feedback page of an autograded submission; the failures that adds."""
    if not api.generate_feedback(assignment, student, force=force)["success"]:
        return [Failure(Kind.NO_FEEDBACK)]
    return []


def close_leftover_zmq():
    """Destroy the zmq contexts a submission's kernel clients left open (on an error path of
    jupyter_client's, say), while their sockets can still be found and closed.

    Left to the garbage collector, a context and its open sockets are collected together:
    the context's finalizer no longer sees them, waits forever for them to close, and the
    grading process hangs until the hard limit kills it (it did, under Dask).
    """
    for thing in gc.get_objects():
        if isinstance(thing, zmq.Context) and not thing.closed:
            thing.destroy(linger=0)


def grader_failed(error):
    """The Failure when the grader itself, not the submission, went wrong."""
    return Failure(Kind.GRADER_ERROR, detail=f"{type(error).__name__}: {error}")


def scrubbed(failure, url):
    """The failure without the gradebook's password in its words (a database error's, say)."""
    return dataclasses.replace(
        failure,
        detail=config.scrub(failure.detail, url),
        names=tuple(config.scrub(name, url) for name in failure.names),
    )


def serve(lines, report, autograde, feedback):
    """Grade the submission of each line, writing each one's feedback while the next one runs.

    `autograde(student, assignment)` gives (failures, whether feedback is due) and
    `feedback(student, assignment)` the failures that adds; `report(message)` sends a
    submission's failures (a list), in the order the submissions came, or "ready" when the
    next submission can be sent; it is never called from two threads at once.
    """
    writing = None  # the thread writing the last submission's feedback, then its result

    def finish(student, assignment, failures):
        try:
            failures = failures + feedback(student, assignment)
        except Exception as error:
            failures = failures + [grader_failed(error)]
        report(failures)

    for line in lines:
        student, assignment = json.loads(line)
        try:
            failures, feedback_due = autograde(student, assignment)
        except Exception as error:  # one submission's failure must not stop the rest
            failures, feedback_due = [grader_failed(error)], False
        close_leftover_zmq()  # between submissions no kernel is running: none is in use
        if writing is not None:
            writing.join()  # results go out in the order the submissions came
        if feedback_due:
            report("ready")  # before the result, which the thread may write at once
            writing = threading.Thread(target=finish, args=(student, assignment, failures))
            writing.start()
        else:
            writing = None
            report(failures)
    if writing is not None:
        writing.join()


class FeedbackProcess:
    """A process of the worker's own that writes feedback pages, started again if it dies.

    A thread would do the same work, but would hold the interpreter's lock that the next
    submission's kernel client, in this process, needs at every message.
    """

    def __init__(self, root, no_sandbox=False, db_url=None, force=False):
        self.options = (str(root), no_sandbox, db_url)
        self.force = force
        self.executor = self._start()

    def _start(self):
        executor = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=open_feedback_api,
            initargs=self.options,
        )
        executor.submit(int)  # it starts (imports nbgrader) while the first cells run
        return executor

    def write(self, student, assignment):
        """write_feedback, there; the failures it adds."""
        try:
            return self.executor.submit(feedback_here, student, assignment, self.force).result()
        except BrokenProcessPool:  # it died: this page is lost, the next one gets a new process
            self.executor.shutdown(wait=False)
            self.executor = self._start()
            raise

    def close(self):
        self.executor.shutdown()


FEEDBACK_API = None  # in the feedback process: its own NbGraderAPI on the course


def open_feedback_api(root, no_sandbox, db_url):
    global FEEDBACK_API
    config.prepare_environment()
    FEEDBACK_API = config.open_api(root, no_sandbox=no_sandbox, db_url=db_url)
    # When the worker closes it, it exits as the worker does, without tearing down
    # nbgrader's modules: a third of a second at the end of every run.
    atexit.register(exit_without_teardown)


def exit_without_teardown():
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def feedback_here(student, assignment, force):
    return write_feedback(FEEDBACK_API, student, assignment, force)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograde.worker_process")
    parser.add_argument("root")
    parser.add_argument("--results", type=int, required=True, help="file descriptor for outcomes")
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args(argv)
    results = os.fdopen(args.results, "w", buffering=1)
    os.set_inheritable(args.results, False)  # kernels must not write results
    config.prepare_environment()
    # A `--db` URL, given by the pool in the environment: gone before any kernel starts.
    db_url = os.environ.pop(config.DB_URL_ENV, None)
    api = config.open_api(args.root, args.timeout, no_sandbox=args.no_sandbox, db_url=db_url)
    root, url = api.coursedir.root, api.coursedir.db_url
    feedback = FeedbackProcess(root, args.no_sandbox, db_url, args.force)

    def report(message):
        if isinstance(message, list):
            message = [scrubbed(f, url).to_dict() for f in message]
        results.write(json.dumps(message) + "\n")

    serve(
        sys.stdin,
        report,
        autograde=lambda student, assignment: autograde_one(
            api, root, student, assignment, force=args.force
        ),
        feedback=feedback.write,
    )
    feedback.close()
