"""Grade submissions in a process of its own: `python -m autograde.worker ROOT --results FD`.

A worker grades one submission after another with nbgrader's API (autograde, then
feedback), keeping its warm kernel process (autograde/sandbox/) between them. It reads
one submission a line on stdin, as a JSON list `[student, assignment]`, and writes its
failures as a JSON line to file descriptor FD: a pipe of its own, so that nothing printed
by nbgrader or a kernel can pass for a result. The local pool (pool.py) runs `--jobs`
of them.
"""

import argparse
import atexit
import dataclasses
import gc
import json
import logging
import os
import sys
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


def grade_one(api, root, student, assignment, force=False):
    """Autograde one submission and write its feedback; return its failures, never raise.

    Without `force`, nbgrader skips a submission it has already autograded.
    """
    failures = course.check_files(root, student, assignment)
    if REFUSED & {f.kind for f in failures}:
        return failures
    watcher = RaisedWhileLogging()
    api.log.addHandler(watcher)
    try:
        result = api.autograde(assignment, student, force=force, create=True)
    finally:
        api.log.removeHandler(watcher)
    if not result["success"]:
        if failures:  # nbgrader failed on the files already reported
            return failures
        if watcher.raised:
            return [failure_from_exception(watcher.raised[0])]
        return [Failure(Kind.NBGRADER_ERROR, detail="see the grader's log")]
    failures += failures_in_autograded(root, student, assignment)
    if not api.generate_feedback(assignment, student, force=force)["success"]:
        failures.append(Failure(Kind.NO_FEEDBACK))
    return failures


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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograde.worker")
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
    url = api.coursedir.db_url
    for line in sys.stdin:
        student, assignment = json.loads(line)
        try:
            failures = grade_one(api, args.root, student, assignment, force=args.force)
        except Exception as error:  # one submission's failure must not stop the rest
            failures = [grader_failed(error)]
        results.write(json.dumps([scrubbed(f, url).to_dict() for f in failures]) + "\n")
        close_leftover_zmq()  # between submissions no kernel is running: none is in use


if __name__ == "__main__":
    main()
    # The interpreter's teardown of nbgrader's modules takes most of a second, paid at the
    # end of every run; the exit handlers (stopping the warm process among them) are what
    # must run.
    atexit._run_exitfuncs()
    sys.stderr.flush()
    os._exit(0)
