"""Which cells are which, as the grader sees nbgrader's cell metadata."""

from nbgrader.utils import is_grade, is_solution


def is_autograder_test(cell):
    """A locked code cell worth points: nbgrader's autograder tests."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def grade_id(cell, default=None):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", default)
