"""Self-study, through the command line in process: `autograde study`, `reveal`, `check --hidden`.

The same flow in JupyterLab is in test_browser.py.
"""

import json
import shutil

import nbformat
import pytest
from notebook_tools import LESSONS

from autograde import course, preloaded, study
from autograde.cells import grade_id, is_autograder_test
from autograde.cli import main

FIRST = LESSONS[0]  # lesson 00, the quickest to run


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One study folder for the module (making one takes ~12 s); tests that change it copy it."""
    root = tmp_path_factory.mktemp("made") / "study"
    assert main(["study", str(root)]) == 0
    return root


@pytest.fixture
def mine(made, tmp_path):
    """A learner's own study folder, to change."""
    return shutil.copytree(made, tmp_path / "study", symlinks=True)


def cell(nb, gid):
    return next(c for c in nb.cells if grade_id(c) == gid)


def answer(root, lesson, gid, source):
    """Write SOURCE into the answer cell GID of the learner's copy of LESSON, as a learner would."""
    path = root / lesson.name
    nb = nbformat.read(path, as_version=4)
    cell(nb, gid).source = source
    nbformat.write(nb, path)


def model_answer(lesson, gid):
    return study.solution_text(cell(nbformat.read(lesson, as_version=4), gid))


def test_help_lists_study_and_reveal(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "study" in out and "reveal" in out
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    assert "--hidden" in capsys.readouterr().out


def test_study_copy_has_every_lesson_without_its_answers(made):
    for lesson in LESSONS:
        copy = (made / lesson.name).read_text()
        assert "raise NotImplementedError()" in copy
        for marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
            assert marker not in copy, f"{lesson.name} in the study copy still has {marker}"
        # The lesson itself, with its answers, is kept out of sight for the hidden tests.
        kept = made / ".course" / "source" / course.assignment_id(lesson) / lesson.name
        assert kept.read_bytes() == lesson.read_bytes()
    shown = [p for p in made.rglob("*") if ".course" not in p.relative_to(made).parts]
    assert {p.name for p in shown} == {p.name for p in LESSONS} | {"README.md", "claims.md"}
    for path in shown:
        assert "BEGIN SOLUTION" not in path.read_text(), f"{path.name} shows a solution"


def test_running_study_again_keeps_the_learners_work(mine, capsys):
    answer(mine, FIRST, "ex1_gradient_is_none", "def gradient_is_none():\n    return {}  # mine")
    mine_before = (mine / FIRST.name).read_bytes()
    (mine / LESSONS[1].name).unlink()  # a learner who wants lesson 01 afresh
    (mine / "README.md").write_text("my notes")
    assert main(["study", str(mine)]) == 0
    out = capsys.readouterr().out
    assert (mine / FIRST.name).read_bytes() == mine_before
    assert f"kept  {FIRST.name} (yours, not overwritten)" in out
    assert f"new   {LESSONS[1].name}" in out
    assert "raise NotImplementedError()" in (mine / LESSONS[1].name).read_text()
    assert (mine / "README.md").read_text() == "my notes"


def test_reveal_prints_that_exercise_only_and_notes_it(mine, capsys):
    lesson = LESSONS[1]
    exercises = study.exercises(nbformat.read(lesson, as_version=4))
    second, others = exercises[1], exercises[:1] + exercises[2:]
    assert main(["reveal", lesson.name[:2], "ex2", "--dir", str(mine)]) == 0
    out = capsys.readouterr().out
    for gid in second.solutions:
        assert model_answer(lesson, gid) in out
    for other in others:
        for gid in other.solutions:
            assert model_answer(lesson, gid) not in out, f"reveal showed {gid} too"
    revealed = json.loads((mine / ".course" / "revealed.json").read_text())
    assert revealed == {lesson.stem: [2]}


def test_reveal_of_an_unknown_exercise_lists_the_exercises_without_their_answers(mine):
    with pytest.raises(SystemExit) as stop:
        main(["reveal", "00", "ex99", "--dir", str(mine)])
    message = str(stop.value.code)
    nb = nbformat.read(FIRST, as_version=4)
    for exercise in study.exercises(nb):
        assert f"{exercise.name}  {exercise.title}" in message
        for gid in exercise.solutions:
            assert model_answer(FIRST, gid) not in message
    with pytest.raises(SystemExit) as stop:
        main(["reveal", "99", "ex1", "--dir", str(mine)])
    assert "No lesson '99'. The lessons are: 00" in str(stop.value.code)


def test_every_lesson_has_numbered_exercises_with_answers_and_points():
    for lesson in LESSONS:
        found = study.exercises(nbformat.read(lesson, as_version=4))
        assert [e.number for e in found] == list(range(1, len(found) + 1)), lesson.name
        for exercise in found:
            assert exercise.solutions and exercise.points > 0, (lesson.name, exercise)
            assert exercise.tests or exercise.written, (lesson.name, exercise)


def test_progress_of_a_new_copy_runs_nothing(mine, capsys, monkeypatch):
    def no_run(*args, **kwargs):
        raise AssertionError("nothing was answered: no test should run")

    monkeypatch.setattr(study, "run_tests", no_run)
    assert main(["study", str(mine), "--progress"]) == 0
    out = capsys.readouterr().out
    total = sum(len(study.exercises(nbformat.read(lesson, as_version=4))) for lesson in LESSONS)
    assert out.count("not started") == total
    assert f"0 of {total} exercises done, {total} to go." in out
    assert "Next: 00_variable_has_no_trainable_parameters, ex1" in out


def test_hidden_tests_catch_an_answer_the_visible_tests_pass(mine, capsys, monkeypatch):
    """ex1 right; ex2 picks the variables by position, not by flag: the visible test has the
    trainable one first, so it passes; the hidden test moves the frozen one and catches it."""
    answer(mine, FIRST, "ex1_gradient_is_none", model_answer(FIRST, "ex1_gradient_is_none"))
    right = "trainable = [v for v in variables if v.trainable]"
    model = model_answer(FIRST, "ex2_train_step")
    assert right in model
    answer(mine, FIRST, "ex2_train_step", model.replace(right, "trainable = variables[:1]"))
    notebook = mine / FIRST.name

    assert main(["check", str(notebook)]) == 1  # exercise 3 is not answered
    out = capsys.readouterr().out
    assert "PASS  ex1_gradient_is_none_test" in out and "PASS  ex2_train_step_test" in out

    assert main(["check", str(notebook), "--hidden"]) == 1
    out = capsys.readouterr().out
    assert "PASS  ex1_gradient_is_none_test" in out
    assert "FAIL  ex2_train_step_test" in out
    page = (mine / (FIRST.stem + ".hidden.feedback.html")).read_text()
    assert "What went wrong" in page  # the grader's explanation box
    assert "data:image/png" in page  # and its plots
    assert "BEGIN HIDDEN TESTS" not in page and "hidden_variables" not in page  # not its code

    files = sorted(mine.rglob("*"))
    forks = []  # kernels --progress forks from a preloaded process (autograde/preloaded.py)
    fork_kernel = preloaded.PreloadedProcess.fork_kernel
    monkeypatch.setattr(
        preloaded.PreloadedProcess,
        "fork_kernel",
        lambda self, *args: forks.append(args) or fork_kernel(self, *args),
    )
    assert main(["study", str(mine), "--progress", "--hidden"]) == 0
    assert len(forks) == 1, "the one lesson with answers runs in a preloaded kernel"
    out = capsys.readouterr().out
    assert sorted(mine.rglob("*")) == files  # progress writes nothing
    section = out.split(f"\n{FIRST.stem}\n")[1].split("\n\n")[0]
    lines = {line.split()[0]: line for line in section.splitlines()}
    assert " pass" in lines["ex1"]
    assert " fail: ex2_train_step_test" in lines["ex2"]
    assert "not started" in lines["ex3"]


def test_hidden_tests_of_a_notebook_outside_a_study_folder_come_from_the_repository(tmp_path):
    copy = tmp_path / FIRST.name
    shutil.copy(FIRST, copy)
    assert study.source_of(copy) == FIRST
    assert study.source_of(tmp_path / "elsewhere.ipynb") is None


def test_with_hidden_tests_puts_back_a_deleted_test_cell(made):
    source = nbformat.read(FIRST, as_version=4)
    mine = nbformat.read(made / FIRST.name, as_version=4)
    tests = [grade_id(c) for c in source.cells if is_autograder_test(c)]
    mine.cells = [c for c in mine.cells if grade_id(c) != tests[0]]
    merged = study.with_hidden_tests(mine, source)
    assert [grade_id(c) for c in merged.cells if is_autograder_test(c)] == tests
    assert "BEGIN HIDDEN TESTS" in "".join(cell(merged, t).source for t in tests)
