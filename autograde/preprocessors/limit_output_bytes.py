"""LimitOutputBytes: a cell's outputs cut to a number of bytes, as nbgrader's LimitOutput cuts lines."""

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

CUT = "\n... Output truncated: more than {} bytes ...\n"


class LimitOutputBytes(NbGraderPreprocessor):
    """Cut each cell's outputs to `max_bytes` in all, text and images alike.

    nbgrader's LimitOutput counts lines, so one 10 MB line passes it whole into the
    autograded notebook and the feedback page. Error outputs are kept (they decide the
    score), with their text cut the same way.
    """

    max_bytes = Integer(1_000_000, help="Bytes of output kept per cell (-1 means no limit).").tag(
        config=True
    )

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or self.max_bytes < 0:
            return cell, resources
        left = self.max_bytes
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                output.text, left = self._cut(output.text, left)
            elif output.output_type == "error":
                output.evalue, left = self._cut(output.evalue, left)
                traceback = []
                for line in output.traceback:
                    line, left = self._cut(line, left)
                    traceback.append(line)
                output.traceback = traceback
            else:  # display_data, execute_result: all of one, or a note
                size = sum(len(str(value)) for value in output.get("data", {}).values())
                if size > left:
                    output.data = {"text/plain": CUT.format(self.max_bytes).strip()}
                    left = 0
                else:
                    left -= size
            kept.append(output)
        cell.outputs = kept
        return cell, resources

    def _cut(self, text, left):
        data = text.encode("utf-8", errors="replace")
        if len(data) <= left:
            return text, left - len(data)
        return data[: max(left, 0)].decode("utf-8", errors="ignore") + CUT.format(self.max_bytes), 0
