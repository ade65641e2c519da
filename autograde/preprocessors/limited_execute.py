"""nbgrader preprocessors: warnings cost no points, failures explain themselves, limits hold.

Both follow nbgrader's own pattern (one preprocessor, wired in through the
converters' configurable lists in `nbgrader_config.py`).
"""

import ast
import html
import re
import time

from jupyter_core.utils import ensure_async
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution
from traitlets import Integer

from . import guard
from .sandbox import SandboxedKernelManager

ANSI = re.compile(r"\x1b\[[0-9;]*m")

NOTE = "[autograde] This test cell wrote to stderr; it is shown here and costs no points:\n"


def is_autograder_test(cell):
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


class StderrCostsNoPoints(NbGraderPreprocessor):
    """Turn stderr text of autograder test cells into stdout, so a warning costs no points.

    nbgrader gives 0 to a test cell with any stderr output, and TensorFlow and Keras
    write warnings there. Errors are `error` outputs, not stderr, and are left alone:
    a failing test still fails. Run it after Execute and before SaveAutoGrades.
    """

    def preprocess_cell(self, cell, resources, index):
        if is_autograder_test(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                    output.text = NOTE + output.text
        return cell, resources


def failure_sentences(error_value):
    """Split a course_lib message ('a; b') into its sentences, one per variable."""
    return [part.strip() for part in error_value.split("; ") if part.strip()]


def explanation_html(ename, evalue):
    """A short box that says what went wrong, shown above the traceback."""
    sentences = failure_sentences(ANSI.sub("", evalue)) or [f"The test raised {ename}."]
    items = "".join(
        "<li>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(s)) + "</li>"
        for s in sentences
    )
    return (
        '<div class="autograde-explain" style="border-left:4px solid #c62828;'
        'background:#fdecea;padding:8px 12px;margin:6px 0;font-family:sans-serif">'
        f"<strong>What went wrong ({html.escape(ename)}):</strong><ul style='margin:4px 0'>"
        f"{items}</ul></div>"
    )


class ExplainFailures(NbGraderPreprocessor):
    """Put a plain-words box above the traceback of each failed test cell, for feedback."""

    def preprocess_cell(self, cell, resources, index):
        if not is_autograder_test(cell):
            return cell, resources
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.output_type == "error"]
        already = any("autograde-explain" in str(o.get("data", {})) for o in outputs)
        if errors and not already:
            box = new_output(
                "display_data",
                data={"text/html": explanation_html(errors[0].ename, errors[0].evalue)},
            )
            cell.outputs = [
                *outputs[: outputs.index(errors[0])],
                box,
                *outputs[outputs.index(errors[0]) :],
            ]
        return cell, resources


def error_output(ename, evalue):
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
        600, help="Seconds the whole notebook may run before the rest is skipped."
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        # Before Execute's own default (a plain AsyncKernelManager) can take the place.
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.submission_timeout
        self._cell_timeout = self.timeout
        self._stopped = None  # why the rest of the notebook does not run
        self._guarded = False
        self._reached = -1  # index of the last cell handed to the kernel
        try:
            super().preprocess(nb, resources, km)
        except DeadKernelError:  # died between cells, or while shutting down
            self._stopped = self._stopped or "the kernel died"
        # Whatever stopped the run, no cell that never ran may pass as a silent success.
        for cell in self.nb.cells[self._reached + 1 :]:
            if cell.cell_type == "code":
                reason = self._stopped or "the run stopped early"
                cell.outputs = [error_output("NotRun", f"Not run: {reason}.")]
        return self.nb, self.resources

    async def _async_check_alive(self):
        # nbclient asks the heartbeat, which a busy machine can miss for a moment; a
        # kernel is dead when its process is.
        if not await ensure_async(self.km.is_alive()):
            raise DeadKernelError("Kernel died")

    def _silent(self, code, user_expressions=None):
        """Run code in the kernel without output or history; return the reply's content."""
        msg_id = self.kc.execute(
            code, silent=True, store_history=False, user_expressions=user_expressions or {}
        )
        # The grader's own requests get the notebook's remaining time, not a cell's: on a
        # busy machine the first one (which imports course_lib) can take a while.
        self.timeout = max(1, int(self._deadline - time.monotonic()))
        try:
            reply = self.wait_for_reply(msg_id)
        except DeadKernelError:
            reply = None
        if reply is None:
            self._stopped = "the kernel stopped answering the grader"
            return {}
        return reply["content"]

    def _replaced(self):
        """What student code replaced, by the guard's check; [] when all is original."""
        aliases = dict(guard.ALIASES)
        reply = self._silent("", {"found": guard.check_expression(aliases)})
        result = reply.get("user_expressions", {}).get("found", {})
        if result.get("status") != "ok":
            if result.get("ename") == "NameError" and "__autograde_changed" in result.get(
                "evalue", ""
            ):
                return ["the grader's own check (__autograde_changed)"]
            return []
        return ast.literal_eval(result["data"]["text/plain"])

    def preprocess_cell(self, cell, resources, index):
        if self._stopped is None and time.monotonic() >= self._deadline:
            self._stopped = f"the notebook used up its {self.submission_timeout} s in total"
        if self._stopped is None:
            self._reached = index
            if not self._guarded:
                self._guarded = True
                self._silent(guard.SNAPSHOT)
            replaced = self._replaced() if is_autograder_test(cell) else []
        if self._stopped is not None:
            if cell.cell_type == "code":
                cell.outputs = [error_output("NotRun", f"Not run: {self._stopped}.")]
            return cell, resources
        if replaced:
            message = (
                "This test was not run: code in the notebook replaced "
                + ", ".join(replaced)
                + ", which the tests rely on. Remove that code and submit again."
            )
            cell.outputs = [error_output("TamperingDetected", message)]
            return cell, resources
        self.timeout = max(1, min(self._cell_timeout, int(self._deadline - time.monotonic())))
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # the reply came, but the kernel was slow to go idle after it
            cell.outputs.append(error_output("CellTimeoutError", "The cell ran out of time."))
            return cell, resources
        except DeadKernelError:
            self._stopped = (
                "the kernel died in an earlier cell (out of memory, or the code ended the process)"
            )
            cell.outputs.append(
                error_output(
                    "DeadKernelError",
                    "The kernel died while running this cell: it ran out of memory, or the "
                    "code ended the Python process (os._exit, a kill signal).",
                )
            )
            return cell, resources


class ForgetDuplicateCells(NbGraderPreprocessor):
    """Remove the empty nbgrader metadata that DeduplicateIds leaves on a duplicated cell.

    nbgrader 0.9.6 blanks a duplicate's metadata to `{}`, and OverwriteCells (with
    add_missing_cells) then fails on it, so the whole submission would go ungraded.
    The duplicate becomes an ordinary cell: it runs, and earns nothing.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources
