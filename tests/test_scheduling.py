"""How `make test` shares the tests between its two workers (tests/conftest.py)."""

from conftest import OneFileOneWorker

RUN_ALL = "tests/test_browser.py::test_run_all_in_jupyterlab"


def scope(nodeid):
    return OneFileOneWorker._split_scope(None, nodeid)


def test_every_test_of_a_file_is_in_one_scope():
    ids = [
        "tests/test_autograde.py::test_demo_prints_where_grades_and_feedback_are",
        "tests/test_autograde.py::test_solutions_earn_every_autograded_point[00_variable]",
        "tests/test_autograde.py::test_grades_csv_matches_the_gradebook",
    ]
    assert {scope(i) for i in ids} == {"tests/test_autograde.py"}
    assert scope("tests/test_hostile.py::test_x[correct]") != scope(ids[0])


def test_the_browser_run_alls_are_two_scopes_apart_from_the_other_browser_tests():
    solution = {scope(f"{RUN_ALL}[chromium-{n}-solution]") for n in ("00", "03", "04")}
    student = {scope(f"{RUN_ALL}[chromium-{n}-student]") for n in ("00", "03", "04")}
    others = {
        scope("tests/test_browser.py::test_validate_button_passes_the_solutions[chromium]"),
        scope("tests/test_browser.py::test_self_study_in_jupyterlab[chromium]"),
    }
    assert len(solution) == len(student) == len(others) == 1
    assert len(solution | student | others) == 3
