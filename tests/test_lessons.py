"""Every lesson: its shape and its nbgrader metadata.

What happens when a lesson runs is checked where it already runs: in the graded course of
test_autograde.py (each lesson's solutions and its untouched release, autograded) and in
JupyterLab (test_browser.py: Run All of both versions in a fresh kernel, and Validate).
"""

import nbformat
import pytest
from notebook_tools import (
    LESSONS,
    SEEDS,
    describe,
    is_autograder_test,
    is_manual_answer,
    nbgrader_meta,
    needs_documents,
    seed_code_blocks,
)

# Lesson NN teaches document 0NN; a lesson with no such document (04, the capstone) teaches none.
SEED_OF = {
    lesson.name: seed
    for lesson in LESSONS
    for seed in (SEEDS.glob(f"0{lesson.name[:2]}_*.txt") if SEEDS.is_dir() else [])
}
ids = [lesson.stem for lesson in LESSONS]


@needs_documents
def test_there_is_one_lesson_per_source_document():
    assert len(SEED_OF) == len(set(SEED_OF.values())) == len(list(SEEDS.glob("*.txt"))) == 4


@pytest.mark.parametrize("lesson", LESSONS, ids=ids)
def test_lesson_is_committed_without_outputs(lesson):
    nb = nbformat.read(lesson, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, describe(cell)


@pytest.mark.parametrize("lesson", LESSONS, ids=ids)
def test_lesson_follows_the_skeleton(lesson):
    nb = nbformat.read(lesson, as_version=4)
    headings = [
        line
        for c in nb.cells
        if c.cell_type == "markdown"
        for line in c.source.splitlines()
        if line.startswith("#")
    ]
    assert headings[0].startswith("# "), "a lesson starts with its title"
    text = "\n".join(headings).lower()
    for section in ("what you will learn", "## setup", "exercise", "summary", "next steps"):
        assert section in text, f"{lesson.name} has no '{section}' heading"
    setup = next(i for i, c in enumerate(nb.cells) if c.source.lower().startswith("## setup"))
    assert "import course_lib" in nb.cells[setup + 1].source, "Setup imports course_lib first"


@needs_documents
@pytest.mark.parametrize("lesson", LESSONS, ids=ids)
def test_lesson_shows_every_example_of_its_document_as_written(lesson):
    if lesson.name not in SEED_OF:
        pytest.skip(f"{lesson.name} teaches no document")
    nb = nbformat.read(lesson, as_version=4)
    code = [c.source.strip("\n") for c in nb.cells if c.cell_type == "code"]
    blocks = seed_code_blocks(SEED_OF[lesson.name])
    assert len(blocks) == 3
    for block in blocks:
        assert block in code, f"{lesson.name} lacks this example as written:\n{block[:200]}"


@pytest.mark.parametrize("lesson", LESSONS, ids=ids)
def test_lesson_has_the_exercises_nbgrader_needs(lesson):
    nb = nbformat.read(lesson, as_version=4)
    tests = [c for c in nb.cells if is_autograder_test(c)]
    assert len(tests) >= 3, "at least 3 autograded test cells"
    assert all(nbgrader_meta(c).get("points", 0) > 0 for c in tests)
    assert any("### BEGIN HIDDEN TESTS" in c.source for c in tests), "some tests are hidden"
    assert any(not c.source.lstrip().startswith("### BEGIN HIDDEN") for c in tests)
    assert any(is_manual_answer(c) for c in nb.cells), "one written answer, graded by hand"
    assert any("### BEGIN SOLUTION" in c.source for c in nb.cells)
    grade_ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(grade_ids) == len(set(grade_ids)), "grade_ids are unique"
