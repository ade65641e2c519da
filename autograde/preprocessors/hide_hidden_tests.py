"""HideHiddenTests: feedback shows a hidden test's name, points and result, not its code."""

import re

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ..cells import is_autograder_test


class HideHiddenTests(NbGraderPreprocessor):
    """Replace the code between the hidden-test markers, and its traceback, in feedback.

    nbgrader's feedback shows every test cell as it ran, hidden tests included (its
    issue #917). With this on (the course default), a student still sees the test's
    name, points, pass or fail and the explanation box, but not the hidden code, nor a
    traceback that would quote it. `c.HideHiddenTests.enabled = False` shows them.
    """

    begin = Unicode("BEGIN HIDDEN TESTS", help="The marker that opens hidden tests.").tag(
        config=True
    )
    end = Unicode("END HIDDEN TESTS", help="The marker that closes hidden tests.").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if not is_autograder_test(cell) or self.begin not in cell.source:
            return cell, resources
        pattern = re.compile(
            rf"^([ \t]*)#+\s*{re.escape(self.begin)}.*?#+\s*{re.escape(self.end)}[^\n]*",
            re.M | re.S,
        )
        cell.source = pattern.sub(r"\1# (hidden tests: not shown)", cell.source)
        for output in cell.get("outputs", []):
            if output.output_type == "error":  # its traceback may quote a hidden line
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
