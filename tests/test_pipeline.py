"""A worker grades the next submission while the last one's feedback page is written, and
starts its next kernel without waiting for nothing.

worker.serve overlaps the two (the page is written by the worker's feedback process, the
next cells run in a kernel), and the local pool sends a worker its next submission when
the worker says it is ready, before the last one's result. Stand-ins replace nbgrader and the
worker processes here; test_autograde.py and test_hostile.py grade real classes this way.
"""

import asyncio
import json
import multiprocessing
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest
from jupyter_client.manager import AsyncKernelManager

from autograde import config, pool
from autograde.outcome import Failure, Kind, Outcome
from autograde.sandbox.kernel_manager import PromptKernelClient, SandboxedKernelManager
from autograde.worker import FeedbackProcess, serve

WAIT = 30  # seconds a stand-in waits for what the grader must do meanwhile


def lines(*students):
    return [json.dumps([student, "lesson00"]) + "\n" for student in students]


def test_a_feedback_page_is_written_while_the_next_submission_runs():
    started = {}  # student -> autograding began
    reports = []

    def autograde(student, assignment):
        started.setdefault(student, threading.Event()).set()
        return [], True

    def feedback(student, assignment):
        if student == "ada":  # her page waits until ben's cells are running
            ben = started.setdefault("ben", threading.Event())
            assert ben.wait(WAIT), "ben was not autograded while ada's feedback was written"
        return []

    serve(lines("ada", "ben"), reports.append, autograde, feedback)
    assert reports == ["ready", [], "ready", []]


def test_results_come_in_the_order_the_submissions_came():
    reports = []
    ben_done = threading.Event()

    def autograde(student, assignment):
        if student == "ben":  # refused at once (say a symlink): no feedback to write
            ben_done.set()
            return [Failure(Kind.SYMLINK, names=("x.ipynb",))], False
        return [], True

    def feedback(student, assignment):
        ben_done.wait(WAIT)  # ada's page is still being written when ben is done
        return [Failure(Kind.NO_FEEDBACK)]

    serve(lines("ada", "ben"), reports.append, autograde, feedback)
    assert reports == [
        "ready",
        [Failure(Kind.NO_FEEDBACK)],  # ada's, though ben was done first
        [Failure(Kind.SYMLINK, names=("x.ipynb",))],
    ]


def test_a_feedback_page_that_raises_is_a_grader_error_of_that_submission_only():
    reports = []

    def feedback(student, assignment):
        if student == "ada":
            raise OSError("disk full")
        return []

    serve(lines("ada", "ben"), reports.append, lambda s, a: ([], True), feedback)
    assert reports[0] == "ready" and reports[2:] == ["ready", []]
    (failure,) = reports[1]
    assert failure == Failure(Kind.GRADER_ERROR, detail="OSError: disk full")


class StandInWorker:
    """A worker process as the pool sees it; `script[student]` says what grading them does."""

    started = []  # every stand-in made, in order

    def __init__(self, *args):
        self.alive, self.sent, self.log = True, [], []
        StandInWorker.started.append(self)

    def send(self, student, assignment):
        self.sent.append(student)
        self.log.append(f"send {student}")

    def receive(self, student, assignment, hard_limit, ready=None):
        assert self.sent[0] == student, "results are asked for in the order of sending"
        self.sent.pop(0)
        if SCRIPT.get(student) == "wedges":  # past the hard limit: the pool's worker is killed
            ready()
            self.alive = False
            return Outcome(
                student, assignment, failures=[Failure(Kind.STOPPED_BY_FORCE, detail="1")]
            )
        ready()  # autograded: the feedback page is being written
        self.log.append(f"result {student}")
        return Outcome(student, assignment)

    def kill(self):
        self.alive = False

    def close(self):
        pass


SCRIPT = {}


def grade_with_stand_ins(tmp_path, monkeypatch, students, script):
    config.write_config(tmp_path)
    StandInWorker.started.clear()
    SCRIPT.clear()
    SCRIPT.update(script)
    monkeypatch.setattr(pool, "Worker", StandInWorker)
    todo = [(student, "lesson00") for student in students]
    return {o.student: o for o in pool.LocalPool(tmp_path, jobs=1, hard_limit=1).grade(todo)}


def test_the_pool_sends_the_next_submission_before_the_last_result(tmp_path, monkeypatch):
    outcomes = grade_with_stand_ins(tmp_path, monkeypatch, ["ada", "ben", "cy"], {})
    (worker,) = StandInWorker.started
    assert worker.log == [
        "send ada",
        "send ben",  # when ada's worker was ready, before her result
        "result ada",
        "send cy",
        "result ben",
        "result cy",
    ]
    assert all(outcome.failures == [] for outcome in outcomes.values())


def test_what_a_killed_worker_had_not_begun_is_graded_by_the_next_one(tmp_path, monkeypatch):
    outcomes = grade_with_stand_ins(tmp_path, monkeypatch, ["ada", "ben"], {"ada": "wedges"})
    first, second = StandInWorker.started
    assert first.log == ["send ada", "send ben"]
    assert second.log == ["send ben", "result ben"]
    assert outcomes["ada"].failures == [Failure(Kind.STOPPED_BY_FORCE, detail="1")]
    assert outcomes["ben"].failures == []  # not blamed for ada's wedge


def test_a_ready_line_and_a_result_read_together_are_both_taken(tmp_path):
    # The worker may write "ready" and the result at nearly the same moment: both arrive
    # in one read, and the result must not wait in a buffer select() cannot see.
    reading, writing = os.pipe()
    os.write(writing, b'"ready"\n[]\n')
    worker = pool.Worker.__new__(pool.Worker)  # its pipe without a process
    worker.results, worker.unread = reading, b""
    readies = []
    try:
        outcome = worker.receive("ada", "lesson00", hard_limit=5, ready=lambda: readies.append(1))
    finally:
        os.close(reading)
        os.close(writing)
    assert outcome.failures == [] and readies == [1]


def test_a_feedback_process_that_dies_loses_one_page_not_the_next(tmp_path):
    config.write_config(tmp_path)  # a course with nothing autograded: every page fails
    before = set(multiprocessing.active_children())
    feedback = FeedbackProcess(tmp_path)
    try:
        assert feedback.write("ada", "lesson00") == [Failure(Kind.NO_FEEDBACK)]
        (process,) = set(multiprocessing.active_children()) - before
        process.kill()
        process.join()
        with pytest.raises(BrokenProcessPool):
            feedback.write("ben", "lesson00")
        assert feedback.write("cy", "lesson00") == [Failure(Kind.NO_FEEDBACK)]
    finally:
        feedback.close()


class StandInChannel:
    """A kernel client's channel holding `messages`; it notes how long each read may wait."""

    def __init__(self, messages):
        self.messages, self.waits = list(messages), []

    def send(self, message):
        pass

    async def get_msg(self, timeout=None):
        self.waits.append(timeout)
        if not self.messages:
            raise queue.Empty
        return self.messages.pop(0)


def test_a_kernel_client_is_ready_without_waiting_for_iopub_to_go_quiet():
    # jupyter_client's own client reads IOPub until it has been quiet for 0.2 s, at every
    # submission's start; nbclient reads only its own requests' messages from there.
    client = PromptKernelClient()
    status = [{"msg_type": "status", "content": {"execution_state": s}} for s in ("busy", "idle")]
    reply = {"msg_type": "kernel_info_reply", "content": {"protocol_version": "5.4"}}
    client._shell_channel = StandInChannel([reply])
    client._iopub_channel = StandInChannel([*status, status[0]])

    # In a thread of its own: Playwright may have left an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, client.wait_for_ready(timeout=60)).result()

    assert client._iopub_channel.messages == []  # what had arrived is dropped
    # One wait, for the message that shows IOPub is connected; then none.
    assert client._iopub_channel.waits == [0.2, 0, 0, 0]


def test_a_kernels_shutdown_is_seen_within_a_hundredth_of_a_second(monkeypatch):
    looks = []

    async def wait(manager, pollinterval=0.1):
        looks.append(pollinterval)

    monkeypatch.setattr(AsyncKernelManager, "_async_wait", wait)
    manager = SandboxedKernelManager()
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, manager._async_finish_shutdown(waittime=1)).result()
    assert looks and max(looks) <= 0.01
