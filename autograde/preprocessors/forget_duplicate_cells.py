"""ForgetDuplicateCells: a duplicated grade cell no longer stops a whole submission's grading."""

from nbgrader.preprocessors import NbGraderPreprocessor


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
