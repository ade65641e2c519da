"""How a class is run here: a pool of local worker processes, each one submission at a time.

`LocalPool(...).grade(submissions)` yields an Outcome per submission as each finishes;
a backend that grades elsewhere offers the same method. Each worker is a
`python -m autograde.worker_process` process (worker.py) that stays up from one submission to
the next; one that a submission wedges past the hard limit is killed and replaced.
"""

import collections
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time

from . import config, gradebook
from .outcome import Failure, Kind, Outcome
from .sandbox.warm_client import remove_leftovers_of


def scrubbing_url(root, db_url):
    """The gradebook URL whose password no reason may show; None where `root` is no course
    (the worker then says so itself)."""
    try:
        return config.gradebook_url(root, db_url)
    except SystemExit:
        return None


class Worker:
    """One `python -m autograde.worker_process` process, which grades the submissions it is given."""

    def __init__(self, root, cell_timeout=None, force=False, no_sandbox=False, db_url=None):
        self.url = scrubbing_url(root, db_url)
        results, results_end = os.pipe()
        command = [sys.executable, "-m", "autograde.worker_process", str(root)]
        command += ["--results", str(results_end)]
        command += ["--force"] if force else []
        command += ["--no-sandbox"] if no_sandbox else []
        command += ["--timeout", str(cell_timeout)] if cell_timeout is not None else []
        self.log = tempfile.TemporaryFile()  # nbgrader's log, for the reason of a crash
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            pass_fds=(results_end,),
            start_new_session=True,  # so that killing it kills its sandboxes too
            text=True,
            env={**os.environ, config.DB_URL_ENV: db_url} if db_url else None,
        )
        os.close(results_end)
        self.results, self.unread = results, b""  # read by hand: select() sees no buffer

    @property
    def alive(self):
        return self.process.poll() is None

    def grade(self, student, assignment, hard_limit):
        """Grade one submission; an Outcome whatever happens, with the worker killed if stuck."""
        self.send(student, assignment)
        return self.receive(student, assignment, hard_limit)

    def send(self, student, assignment):
        """Queue a submission; the worker starts on it once done with those sent before."""
        try:
            self.process.stdin.write(json.dumps([student, assignment]) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it died: receive() reads the reason

    def receive(self, student, assignment, hard_limit, ready=None):
        """The Outcome of the oldest submission sent, which must come within `hard_limit`
        seconds: else the worker is killed. `ready()` is called when the worker can take
        its next submission (the result comes later: its feedback is being written)."""
        outcome = Outcome(student, assignment)
        deadline = time.monotonic() + hard_limit
        while True:
            line = self._line(deadline)
            if line is None:
                self.kill()
                outcome.failures = [Failure(Kind.STOPPED_BY_FORCE, detail=f"{hard_limit:g}")]
            elif not line:  # it exited: its last words say why (read before kill() closes the log)
                outcome.failures = [Failure(Kind.GRADER_ERROR, detail=self.last_log_line())]
                self.kill()
            else:
                message = json.loads(line)
                if message == "ready":
                    if ready is not None:
                        ready()
                    continue
                outcome.failures = [Failure.from_dict(f) for f in message]
            return outcome

    def _line(self, deadline):
        """The next line of results; "" if the worker has closed them, None at the deadline."""
        while b"\n" not in self.unread:
            ready, _, _ = select.select([self.results], [], [], max(0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(self.results, 65536)
            if not chunk:
                return ""
            self.unread += chunk
        line, self.unread = self.unread.split(b"\n", 1)
        return line.decode()

    def last_log_line(self):
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return config.scrub(lines[-1], self.url) if lines else "no message"

    def kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.close()

    def close(self):
        """Let the worker finish (its stdin closes), then release its pipes and log; idempotent."""
        if not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self.results is not None:
            os.close(self.results)
            self.results = None
        self.log.close()
        remove_leftovers_of(self.process.pid)  # what it could not delete if it was killed


class LocalPool:
    """`jobs` local workers grading the submissions of one course, each one at a time."""

    def __init__(
        self,
        root,
        jobs=1,
        cell_timeout=None,
        force=False,
        hard_limit=720,
        no_sandbox=False,
        db_url=None,
    ):
        self.root, self.jobs = root, max(1, jobs)
        self.cell_timeout, self.force, self.hard_limit = cell_timeout, force, hard_limit
        self.no_sandbox, self.db_url = no_sandbox, db_url
        self.url = scrubbing_url(root, db_url)

    def grade(self, todo):
        """Grade each (student, assignment) in `todo`; yield its Outcome as soon as it is done."""
        waiting, done = queue.Queue(), queue.Queue()
        for submission in todo:
            waiting.put(submission)
        total = waiting.qsize()
        slots = [
            threading.Thread(target=self._slot, args=(waiting, done), daemon=True)
            for _ in range(min(self.jobs, total))
        ]
        for slot in slots:
            slot.start()
        for _ in range(total):
            yield done.get()
        for slot in slots:
            slot.join()

    def _slot(self, waiting, done):
        """Take submissions until none are left, grading them with one worker.

        The worker is sent its next submission as soon as it is ready for it, while the
        last one's feedback is being written: at most two are sent and not yet done. When
        the worker is killed or dies, the one it had not begun goes back in the queue. A
        submission another run on the course is grading (see `gradebook.claim`) goes back
        in the queue too, to be taken again once the rest is under way.
        """
        worker, sent = None, collections.deque()  # sent: (student, assignment, claim)

        def send_next(wait):
            nonlocal worker
            if sent and not worker.alive:
                return  # ahead only to a worker that is up (receive() reads why it is not)
            while True:
                try:
                    student, assignment = waiting.get_nowait()
                except queue.Empty:
                    return
                claimed = gradebook.claim(self.root, student, assignment, wait=False)
                if claimed is not None:
                    break
                waiting.put((student, assignment))
                if not wait:
                    return
                time.sleep(0.5)
            try:
                if worker is None or not worker.alive:
                    worker = Worker(
                        self.root, self.cell_timeout, self.force, self.no_sandbox, self.db_url
                    )
                worker.send(student, assignment)
                sent.append((student, assignment, claimed))
            except Exception as error:
                claimed.close()
                done.put(self._grader_error(student, assignment, error))

        try:
            while True:
                if not sent:
                    send_next(wait=True)
                    if not sent:
                        if waiting.empty():
                            return
                        continue  # the worker could not be started: try the next one
                student, assignment, claimed = sent[0]
                try:
                    outcome = worker.receive(
                        student, assignment, self.hard_limit, ready=lambda: send_next(wait=False)
                    )  # a worker says "ready" once per submission, before its result
                except Exception as error:
                    worker.kill()
                    outcome = self._grader_error(student, assignment, error)
                sent.popleft()
                claimed.close()
                if not worker.alive:  # killed, or it died: what it had not begun is queued again
                    while sent:
                        student_, assignment_, claimed_ = sent.popleft()
                        claimed_.close()
                        waiting.put((student_, assignment_))
                done.put(outcome)
        finally:
            for _, _, claimed in sent:
                claimed.close()
            if worker is not None:
                worker.close()

    def _grader_error(self, student, assignment, error):
        detail = config.scrub(f"{type(error).__name__}: {error}", self.url)
        return Outcome(student, assignment, failures=[Failure(Kind.GRADER_ERROR, detail=detail)])
