"""ExplainFailures: a plain-words box above each failed test in a student's feedback."""

import html
import re

from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.preprocessors import NbGraderPreprocessor

from ..cells import is_autograder_test
from ..outcome import METADATA_KEY, failure_of

ANSI = re.compile(r"\x1b\[[0-9;]*m")
BOX_CLASS = "autograde-explain"


def explanation_html(title, lines):
    """The box: a title and one list item per line, `code` spans rendered as code."""
    items = "".join(
        "<li>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(line)) + "</li>"
        for line in lines
        if line.strip()
    )
    return (
        f'<div class="{BOX_CLASS}" style="border-left:4px solid #c62828;'
        'background:#fdecea;padding:8px 12px;margin:6px 0;font-family:sans-serif">'
        f"<strong>What went wrong ({html.escape(title)}):</strong><ul style='margin:4px 0'>"
        f"{items}</ul></div>"
    )


def explanation_of(cell, error):
    """(title, lines) for a failed test: the grader's recorded failure, else the test's message.

    A test's message is shown line by line as the test wrote it (course_lib's checks
    write one problem per line).
    """
    failure = failure_of(cell)
    if failure is not None:
        return failure.kind.value, failure.feedback()
    message = ANSI.sub("", error.get("evalue", "")).splitlines()
    return error.ename, message or [f"The test raised {error.ename}."]


def unsandboxed_notice():
    """The note at the top of a feedback page graded outside the sandbox."""
    return new_markdown_cell(
        "**Graded without a sandbox.** This notebook ran with the grader's own rights, not in "
        "the sandbox that normally isolates each student's code (the instructor chose "
        "`--no-sandbox`). Scores are computed as usual."
    )


class ExplainFailures(NbGraderPreprocessor):
    """Put a plain-words box above the traceback of each failed test cell, for feedback.

    A cell of the student's own where the grader recorded a failure (it ran out of
    time, the kernel died in it) gets one too.
    """

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        if nb.metadata.get(METADATA_KEY, {}).get("sandboxed") is False:
            nb.cells.insert(0, unsandboxed_notice())
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if not (is_autograder_test(cell) or failure_of(cell)):
            return cell, resources
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.output_type == "error"]
        already = any(BOX_CLASS in str(o.get("data", {})) for o in outputs)
        if errors and not already:
            where = outputs.index(errors[0])
            box = new_output(
                "display_data",
                data={"text/html": explanation_html(*explanation_of(cell, errors[0]))},
            )
            cell.outputs = [*outputs[:where], box, *outputs[where:]]
        return cell, resources
