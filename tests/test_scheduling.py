"""How `make test` shares the tests between its two workers (tests/conftest.py)."""

import re
import subprocess
import sys

from conftest import ROOT, OneFileOneWorker

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


def test_the_handed_out_run_alls_are_a_scope_apart_from_the_other_browser_tests():
    student = {scope(f"{RUN_ALL}[chromium-{n}-student]") for n in ("00", "03", "04")}
    others = {
        scope(f"{RUN_ALL}[chromium-00-solution]"),
        scope("tests/test_browser.py::test_validate_button_passes_the_solutions[chromium]"),
        scope("tests/test_browser.py::test_self_study_in_jupyterlab[chromium]"),
    }
    assert len(student) == len(others) == 1
    assert student != others


def test_under_xdist_each_file_runs_on_one_worker():
    # The scopes above only count if xdist uses them: under pytest 9, xdist's own
    # `--dist loadgroup` was silently ignored, and every file was split between the workers.
    files = ["tests/test_summary.py", "tests/test_docstring_tags.py"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-v", "-p", "no:cacheprovider", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    workers = {}
    for line in run.stdout.splitlines():
        found = re.match(r"\[(gw\d)\] .*(PASSED|FAILED|SKIPPED) (tests/\S+\.py)::", line)
        if found:
            workers.setdefault(found.group(3), set()).add(found.group(1))
    assert set(workers) == set(files), run.stdout[-3000:]
    assert all(len(ran_on) == 1 for ran_on in workers.values()), workers
