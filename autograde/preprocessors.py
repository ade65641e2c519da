"""Two nbgrader preprocessors: warnings cost no points, and failures explain themselves.

Both follow nbgrader's own pattern (one preprocessor, wired in through the
converters' configurable lists in `nbgrader_config.py`).
"""

import html
import re

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

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
