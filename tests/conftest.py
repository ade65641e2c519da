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

NO_SANDBOX = (
    "bubblewrap (Debian package 'bubblewrap') is not installed, so student code is not "
    "sandboxed here; CI installs it"
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sandbox: needs bubblewrap; skipped with the reason where it is missing"
    )


def pytest_collection_modifyitems(config, items):
    if bwrap_path() is None:
        for item in items:
            if "sandbox" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=NO_SANDBOX))


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
