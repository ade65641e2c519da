"""StderrCostsNoPoints: a warning on stderr in a test cell costs no points."""

from nbgrader.preprocessors import NbGraderPreprocessor

from ..cells import is_autograder_test

NOTE = "[autograde] This test cell wrote to stderr; it is shown here and costs no points:\n"


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
