"""The `autograde` command, in process through `main(argv)`, and once end to end per command.

`demo` and `check` run end to end in test_autograde.py; `init` and `grade` here.
"""

import shutil
import subprocess
import sys

import nbformat
import pytest
from notebook_tools import LESSONS

from autograde import config, course
from autograde.cli import main


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for command in ("init", "grade", "check", "demo"):
        assert command in out
    # Each command's --help is its docstring.
    with pytest.raises(SystemExit):
        main(["grade", "--help"])
    out = capsys.readouterr().out
    assert "Autograde the submissions under DIR/submitted/" in out
    assert "regrade submissions that were graded before" in out


def test_init_makes_a_course_with_one_assignment_per_lesson(tmp_path, capsys):
    assert main(["init", str(tmp_path / "course"), "--timeout", "30"]) == 0
    out = capsys.readouterr().out
    ids = [course.assignment_id(lesson) for lesson in LESSONS]
    assert f"assignments: {', '.join(ids)}" in out
    for lesson, aid in zip(LESSONS, ids, strict=True):
        assert (tmp_path / "course" / "release" / aid / lesson.name).is_file()
    assert "c.Execute.timeout = 30" in (tmp_path / "course" / "nbgrader_config.py").read_text()


def test_grade_on_a_folder_that_is_not_a_course_says_what_to_do(tmp_path):
    with pytest.raises(SystemExit) as stop:
        main(["grade", str(tmp_path)])
    assert f"{tmp_path} is not a course: run `autograde init {tmp_path}` first." == str(
        stop.value.code
    )


def test_check_on_a_missing_notebook_says_what_to_give(tmp_path):
    with pytest.raises(SystemExit) as stop:
        main(["check", str(tmp_path / "nope.ipynb")])
    assert "no such file. Give the path of your .ipynb notebook." in str(stop.value.code)


def test_check_on_a_broken_notebook_says_how_to_recover(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    with pytest.raises(SystemExit) as stop:
        main(["check", str(broken)])
    assert "is not a readable notebook" in str(stop.value.code)
    assert "File > Revert" in str(stop.value.code)


def test_grade_with_no_submissions_says_where_it_looked(tmp_path, capsys):
    config_only = tmp_path / "course"
    config_only.mkdir()
    config.write_config(config_only)
    assert main(["grade", str(config_only)]) == 0
    assert f"no submissions found under {config_only / 'submitted'}" in capsys.readouterr().out


def test_init_then_grade_from_the_command_line(tmp_path, code_score):
    root = tmp_path / "course"
    init = subprocess.run(
        [sys.executable, "-m", "autograde", "init", str(root)], capture_output=True, text=True
    )
    assert init.returncode == 0, init.stdout + init.stderr
    lesson = LESSONS[0]
    folder = root / "submitted" / "blank" / "lesson00"
    folder.mkdir(parents=True)
    shutil.copy(root / "release" / "lesson00" / lesson.name, folder / lesson.name)
    nbformat.read(folder / lesson.name, as_version=4)  # a real notebook went in
    grade = subprocess.run(
        [sys.executable, "-m", "autograde", "grade", str(root), "--jobs", "1"],
        capture_output=True,
        text=True,
    )
    assert grade.returncode == 0, grade.stdout + grade.stderr
    assert "1/1 graded: blank / lesson00" in grade.stdout
    score, maximum = code_score(root, "blank", "lesson00")
    assert score == 0 < maximum
    (line,) = [line for line in grade.stdout.splitlines() if line.strip().startswith("blank ")]
    assert line.split()[1:4] == ["lesson00", "0", "/"]
    assert (root / "grades.csv").is_file()
