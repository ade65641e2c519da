"""End to end, with the real nbgrader: init, submissions, grade, scores read back.

Like nbgrader's own app tests, these run the real pipeline on a temporary course:
the demo's four students on lesson 00 (among them every answer, and none), plus the
solutions of every other lesson. The other lessons as handed out are run in JupyterLab
(test_browser.py: every test cell fails, every stub raises NotImplementedError, nothing
else fails) and exercise by exercise (test_wrong_answers.py: no test cell passes).
"""

import csv
import shutil
import subprocess
import sys

import nbformat
import pytest
from fixture_assignment import NOTEBOOK, answered, fixture_lesson, student_version
from notebook_tools import (
    LESSONS,
    describe,
    errors,
    is_autograder_test,
    nbgrader_meta,
    raises_on_purpose,
)

from autograde import course, demo
from autograde.grading import grade_course
from autograde.preprocessors.stderr_costs_no_points import NOTE as STDERR_NOTE


def autograded_points(lesson):
    nb = nbformat.read(lesson, as_version=4)
    return sum(nbgrader_meta(c)["points"] for c in nb.cells if is_autograder_test(c))


def points_of(lesson, grade_id):
    nb = nbformat.read(lesson, as_version=4)
    return sum(
        nbgrader_meta(c)["points"]
        for c in nb.cells
        if is_autograder_test(c) and nbgrader_meta(c)["grade_id"] == grade_id
    )


def submitter(lesson, version):
    """Who handed in the lesson's "solutions" or its untouched release ("blank") in `graded`:
    the demo's students for the demo's lesson, students of those names for the others."""
    if course.assignment_id(lesson) == demo.DEMO_ASSIGNMENT:
        return {"solutions": "ada", "blank": "dee"}[version]
    return version


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The demo, run from the command line, then the other lessons' solutions."""
    root = tmp_path_factory.mktemp("course")
    run = subprocess.run(
        [sys.executable, "-m", "autograde", "demo", str(root)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for lesson in LESSONS[1:]:
        aid = course.assignment_id(lesson)
        folder = root / "submitted" / "solutions" / aid
        folder.mkdir(parents=True)
        shutil.copy(lesson, folder / lesson.name)
    outcomes = grade_course(root)
    return root, run.stdout, {(o.student, o.assignment): o for o in outcomes}


def test_demo_prints_where_grades_and_feedback_are(graded):
    root, stdout, _ = graded
    assert f"grades:   {root / 'grades.csv'}" in stdout
    for student in ("ada", "ben", "cy", "dee"):
        # One row of the summary table each: student, assignment, a score out of the maximum.
        (row,) = [line.split() for line in stdout.splitlines() if line.split()[:1] == [student]]
        assert row[1] == "lesson00" and row[3] == "/", row
        assert list((root / "feedback" / student / "lesson00").glob("*.html"))


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.stem for lesson in LESSONS])
def test_solutions_earn_every_autograded_point(graded, lesson, code_score):
    root, _, outcomes = graded
    aid = course.assignment_id(lesson)
    student = submitter(lesson, "solutions")
    assert code_score(root, student, aid) == (autograded_points(lesson),) * 2
    assert outcomes[(student, aid)].reasons == []


def test_untouched_student_version_earns_nothing(graded, code_score):
    root, _, _ = graded
    lesson = LESSONS[0]
    student = submitter(lesson, "blank")
    assert code_score(root, student, demo.DEMO_ASSIGNMENT) == (0, autograded_points(lesson))


def autograded(root, lesson, version):
    """The notebook nbgrader executed for the lesson's solutions or its untouched release."""
    aid, student = course.assignment_id(lesson), submitter(lesson, version)
    return nbformat.read(root / "autograded" / student / aid / lesson.name, as_version=4)


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.stem for lesson in LESSONS])
def test_solutions_run_clean_but_for_the_examples_that_raise_on_purpose(graded, lesson):
    root, _, _ = graded
    for cell in autograded(root, lesson, "solutions").cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"{describe(cell)} never ran"
        if raises_on_purpose(cell):
            assert errors(cell), f"{describe(cell)} is tagged raises-exception but ran clean"
            continue
        assert not errors(cell), f"{describe(cell)} raised:\n{errors(cell)[0].evalue}"
        if is_autograder_test(cell):  # stderr would cost the points in stock nbgrader
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert STDERR_NOTE not in text, f"{describe(cell)} wrote to stderr:\n{text}"


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.stem for lesson in LESSONS])
def test_release_has_neither_solutions_nor_hidden_tests(graded, lesson):
    root, _, _ = graded
    release = (root / "release" / course.assignment_id(lesson) / lesson.name).read_text()
    assert "### BEGIN HIDDEN TESTS" in lesson.read_text()
    assert "### BEGIN HIDDEN TESTS" not in release and "### BEGIN SOLUTION" not in release


def test_untouched_release_fails_only_in_its_unanswered_exercises(graded):
    root, _, _ = graded
    lesson = LESSONS[0]
    for cell in autograded(root, lesson, "blank").cells:
        if cell.cell_type != "code" or raises_on_purpose(cell):
            continue
        found = [e.ename for e in errors(cell)]
        if is_autograder_test(cell):
            assert found, f"{describe(cell)} passes with no answer written: it cannot fail"
        elif nbgrader_meta(cell).get("solution"):
            assert set(found) <= {"NotImplementedError"}, f"{describe(cell)} raised {found}"
        else:
            assert not found, f"{describe(cell)} fails in the release: {found}"


def test_partly_answered_submission_earns_some_points_but_not_all(graded, code_score):
    root, _, _ = graded
    score, maximum = code_score(root, "ben", demo.DEMO_ASSIGNMENT)
    assert 0 < score < maximum


def test_a_frozen_layer_that_moves_loses_exactly_that_exercise(graded, code_score):
    root, _, _ = graded
    lesson = LESSONS[0]
    (mistake,) = demo.MISTAKES[demo.DEMO_ASSIGNMENT]
    lost = points_of(lesson, mistake + "_test")
    assert lost > 0
    assert code_score(root, "cy", "lesson00") == (
        autograded_points(lesson) - lost,
        autograded_points(lesson),
    )
    (page,) = (root / "feedback" / "cy" / "lesson00").glob("*.html")
    text = page.read_text()
    assert "should have stayed frozen but changed by" in text
    assert "<code>" in text and "frozen/kernel</code>" in text


def test_grades_csv_matches_the_gradebook(graded):
    root, _, outcomes = graded
    with open(root / "grades.csv", newline="") as f:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(f)}
    for key, outcome in outcomes.items():
        assert float(rows[key]["score"]) == outcome.score
        assert float(rows[key]["max_score"]) == outcome.max_score


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.stem for lesson in LESSONS])
def test_each_trajectory_exercise_feedback_carries_its_plot(graded, lesson):
    root, _, _ = graded
    aid = course.assignment_id(lesson)
    student = submitter(lesson, "solutions")
    trajectory_tests = [
        c
        for c in autograded(root, lesson, "solutions").cells
        if is_autograder_test(c) and "check_trajectory(" in c.source
    ]
    assert trajectory_tests, f"{lesson.name} has no trajectory exercise"
    for cell in trajectory_tests:
        assert any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source[:80]
    page = (root / "feedback" / student / aid / (lesson.stem + ".html")).read_text()
    assert page.count("data:image/png") >= len(trajectory_tests)


def test_unknown_assignment_and_missing_notebook_are_reported_not_fatal(tmp_path):
    root = tmp_path / "course"
    course.init_course(root)
    (root / "submitted" / "zed" / "lesson99").mkdir(parents=True)
    (root / "submitted" / "yan" / "lesson00").mkdir(parents=True)
    (root / "submitted" / "yan" / "lesson00" / "renamed.ipynb").write_text("{}")
    outcomes = {o.student: o for o in grade_course(root)}
    assert outcomes["zed"].reasons == ["there is no assignment called 'lesson99'"]
    assert outcomes["yan"].reasons == [
        f"{LESSONS[0].name} is missing (found: renamed.ipynb); rename or re-collect it"
    ]
    assert (root / "grades.csv").exists()


def test_check_passes_a_correct_notebook_and_fails_a_blank_one(tmp_path):
    # The small fixture assignment: what is checked is the command, not a lesson (the lessons'
    # own checks run in test_study and in the browser's Validate).
    release = student_version(fixture_lesson())
    correct = tmp_path / "correct" / NOTEBOOK
    blank = tmp_path / "blank" / NOTEBOOK
    correct.parent.mkdir()
    blank.parent.mkdir()
    nbformat.write(answered(release), correct)
    nbformat.write(release, blank)
    ok = subprocess.run(
        [sys.executable, "-m", "autograde", "check", str(correct)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert " 0 failed" in ok.stdout
    assert ok.stderr == ""  # no kernel's warning in the student's terminal
    bad = subprocess.run(
        [sys.executable, "-m", "autograde", "check", str(blank)], capture_output=True, text=True
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FAIL" in bad.stdout and "NotImplementedError" in bad.stdout
    feedback = blank.with_name(blank.stem + ".feedback.html")
    assert "What went wrong" in feedback.read_text()
