"""The gradebook: students added before grading, scores read back after, nbgrader's CSV export.

Its URL is the course config's `CourseDirectory.db_url`, which nbgrader defaults to
ROOT/gradebook.db (`config.gradebook_url`).
"""

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin

from .config import gradebook_url


def assignments(root):
    """The names of the assignments the gradebook knows."""
    with Gradebook(gradebook_url(root)) as gradebook:
        return {a.name for a in gradebook.assignments}


def add_students(root, students):
    """Add students before grading, one writer at a time.

    Parallel workers would otherwise race to create the same student; each worker then
    writes only its own submission.
    """
    with Gradebook(gradebook_url(root)) as gradebook:
        for student in sorted(set(students)):
            gradebook.update_or_create_student(student)


def read_scores(root, outcomes):
    """Fill in each outcome's score from the gradebook."""
    with Gradebook(gradebook_url(root)) as gradebook:
        for outcome in outcomes:
            try:
                submission = gradebook.find_submission(outcome.assignment, outcome.student)
            except MissingEntry:
                continue
            outcome.score, outcome.max_score = submission.score, submission.max_score


def export_csv(root):
    """nbgrader's own CSV export of the whole gradebook, to ROOT/grades.csv."""
    path = Path(root) / "grades.csv"
    with Gradebook(gradebook_url(root)) as gradebook:
        CsvExportPlugin(to=str(path)).export(gradebook)
    return path
