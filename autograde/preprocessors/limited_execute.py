"""LimitedExecute: nbgrader's Execute with a time budget per notebook and no credit after a crash.

Each failure it sees (a cell out of time, a dead kernel, a checker replaced by student
code, a cell never reached) is recorded in that cell's metadata as a typed Failure
(autograde/outcome.py), where the summary and the feedback read it.
"""

import ast
import time

from jupyter_core.utils import ensure_async
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

from .. import config, guard
from ..cells import grade_id, is_autograder_test
from ..outcome import METADATA_KEY, Failure, Kind, record_failure
from ..sandbox import SandboxedKernelManager, bwrap_path


def error_output(ename, evalue):
    """An error output, which makes nbgrader score the cell 0."""
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


class LimitedExecute(Execute):
    """nbgrader's Execute with a time budget per submission and no credit after a crash.

    A cell still has `timeout` seconds; the whole notebook has `submission_timeout`.
    When the kernel dies (a memory bomb, `os._exit()`, a killed process) or the budget
    runs out, every autograder test cell that did not run gets an error output saying
    why, so it scores 0: stock nbgrader would give full marks to a test cell that
    never ran, since it has no error output.
    """

    submission_timeout = Integer(
        config.SUBMISSION_TIMEOUT,
        help="Seconds the whole notebook may run before the rest is skipped.",
    ).tag(config=True)

    interrupt_grace = Integer(
        10,
        help="Seconds a kernel has to answer after its cell ran out of time and was "
        "interrupted; past them the rest of the notebook is not run.",
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        # Before Execute's own default (a plain AsyncKernelManager) can take the place.
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.submission_timeout
        self._cell_timeout = self.timeout
        self._stopped = None  # (Kind, words) of why the rest of the notebook does not run
        self._guarded = False
        self._timed_out = False  # set when nbclient gives up waiting on the current cell
        self._request_timed_out = False  # ... or on the grader's own request
        self._reached = -1  # index of the last cell handed to the kernel
        try:
            super().preprocess(nb, resources, km)
        except DeadKernelError:  # died between cells, or while shutting down
            self._stop(Kind.KERNEL_DIED, "the kernel died")
        # Whatever stopped the run, no cell that never ran may pass as a silent success.
        for cell in self.nb.cells[self._reached + 1 :]:
            self._not_run(cell, self._stopped or (Kind.NOT_RUN, "the run stopped early"))
        # Read by the feedback: a run outside the sandbox is said on the student's page.
        self.nb.metadata.setdefault(METADATA_KEY, {})["sandboxed"] = bwrap_path() is not None
        return self.nb, self.resources

    def _stop(self, kind, words):
        """Record why the rest of the notebook will not run (the first reason wins)."""
        self._stopped = self._stopped or (kind, words)

    def _not_run(self, cell, stopped):
        if cell.cell_type != "code":
            return
        _, words = stopped
        cell.outputs = [error_output("NotRun", f"Not run: {words}.")]
        record_failure(cell, Failure(Kind.NOT_RUN, cell=grade_id(cell), detail=words))

    async def _async_check_alive(self):
        # nbclient asks the heartbeat, which a busy machine can miss for a moment; a
        # kernel is dead when its process is.
        if not await ensure_async(self.km.is_alive()):
            raise DeadKernelError("Kernel died")

    async def _async_handle_timeout(self, timeout, cell=None):
        # nbclient gave up waiting: on a student's cell, or on one of the grader's requests.
        if cell is not None:
            self._timed_out = True
        else:
            self._request_timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def _silent(self, code, user_expressions=None, timeout=None):
        """Run code in the kernel without output or history; return the reply's content.

        The grader's own requests get the notebook's remaining time unless told otherwise:
        on a busy machine the first one (which imports course_lib) can take a while. A
        kernel that does not answer in time is stopped: the rest of the notebook is not run.
        """
        msg_id = self.kc.execute(
            code, silent=True, store_history=False, user_expressions=user_expressions or {}
        )
        self.timeout = timeout or max(1, int(self._deadline - time.monotonic()))
        self._request_timed_out = False
        try:
            reply = self.wait_for_reply(msg_id)
        except DeadKernelError:
            reply = None
        if reply is None or self._request_timed_out:
            self._stop(Kind.KERNEL_UNRESPONSIVE, "the kernel stopped answering the grader")
            return {}
        return reply["content"]

    def _replaced(self):
        """What student code replaced, by the guard's check; [] when all is original."""
        aliases = dict(guard.ALIASES)
        reply = self._silent("", {"found": guard.check_expression(aliases)})
        result = reply.get("user_expressions", {}).get("found", {})
        if not reply:  # no answer: the run stops here
            return []
        if result.get("status") != "ok":
            # The check itself is gone or broken: the guard's own name was replaced.
            return ["the grader's own check (__autograde_changed)"]
        return ast.literal_eval(result["data"]["text/plain"])

    def preprocess_cell(self, cell, resources, index):
        if self._stopped is None and time.monotonic() >= self._deadline:
            self._stop(
                Kind.TIMED_OUT, f"the notebook used up its {self.submission_timeout} s in total"
            )
        if self._stopped is None:
            self._reached = index
            if not self._guarded:
                self._guarded = True
                self._silent(guard.SNAPSHOT)
            replaced = self._replaced() if is_autograder_test(cell) else []
        if self._stopped is not None:
            self._not_run(cell, self._stopped)
            return cell, resources
        if replaced:
            failure = Failure(Kind.TAMPERED, cell=grade_id(cell, "a test"), names=tuple(replaced))
            cell.outputs = [error_output("TamperingDetected", failure.feedback()[0])]
            record_failure(cell, failure)
            return cell, resources
        self.timeout = max(1, min(self._cell_timeout, int(self._deadline - time.monotonic())))
        self._timed_out = False
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # the reply came, but the kernel was slow to go idle after it
            cell.outputs.append(error_output("CellTimeoutError", "The cell ran out of time."))
            self._timed_out = True
        except DeadKernelError:
            self._stop(
                Kind.KERNEL_DIED,
                "the kernel died in an earlier cell (out of memory, or the code ended the process)",
            )
            failure = Failure(Kind.KERNEL_DIED, cell=grade_id(cell, "a cell"))
            cell.outputs.append(error_output("DeadKernelError", failure.feedback()[0]))
            record_failure(cell, failure)
            return cell, resources
        if self._timed_out:
            record_failure(
                cell,
                Failure(Kind.TIMED_OUT, cell=grade_id(cell, "a cell"), detail=str(self.timeout)),
            )
            # Interrupted, a kernel goes idle at once; one that ignores SIGINT, or whose
            # code broke the protocol, would hold every later cell to its full time.
            self._silent("", timeout=self.interrupt_grace)
        return cell, resources
