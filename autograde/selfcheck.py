"""`autograde check`: a student's self-check, with nothing but the notebook itself.

It runs the notebook with nbgrader's Execute preprocessor, scores the visible tests
the way nbgrader does (`nbgrader.utils.determine_grade`), and writes an HTML page
with the trajectory plots next to the notebook.
"""

from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbgrader.preprocessors import Execute
from nbgrader.utils import determine_grade

from . import config
from .cells import grade_id, is_autograder_test
from .preprocessors import ExplainFailures, HideHiddenTests, StderrCostsNoPoints
from .sandbox.kernel_manager import UnixSocketKernelManager


class CheckResult:
    """Which visible tests passed, which failed and why, and where the page was written."""

    def __init__(self, passed, failed, feedback):
        self.passed, self.failed, self.feedback = passed, failed, feedback

    @property
    def ok(self):
        return bool(self.passed) and not self.failed


def read_notebook(path):
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"{path}: no such file. Give the path of your .ipynb notebook.")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several types for broken files
        raise SystemExit(
            f"{path} is not a readable notebook ({type(error).__name__}). If you edited it by "
            "hand, restore it from JupyterLab's File > Revert, or download a fresh copy."
        ) from None


def check_notebook(
    path, cell_timeout=config.CELL_TIMEOUT, nb=None, feedback=True, suffix=".feedback.html"
):
    """Run a notebook's tests; return a CheckResult and, with `feedback`, write PATH + suffix.

    `nb` is the notebook to run in PATH's folder, if not the file itself (`autograde check
    --hidden` passes one with the lesson's hidden tests put back); the page never shows
    hidden tests' code.
    """
    path = Path(path).resolve()
    nb = read_notebook(path) if nb is None else nb
    resources = {"metadata": {"path": str(path.parent)}}
    nb, resources = Execute(
        timeout=cell_timeout, kernel_manager_class=UnixSocketKernelManager
    ).preprocess(nb, resources)
    nb, resources = StderrCostsNoPoints().preprocess(nb, resources)
    passed, failed = [], []
    for cell in nb.cells:
        if not is_autograder_test(cell):
            continue
        name = grade_id(cell, "a test")
        score, _ = determine_grade(cell)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if score:
            passed.append(name)
        else:
            reason = f"{errors[0].ename}: {errors[0].evalue}" if errors else "no credit"
            failed.append((name, reason))
    page = None
    if feedback:
        nb, resources = ExplainFailures().preprocess(nb, resources)
        nb, resources = HideHiddenTests().preprocess(nb, resources)
        html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
        page = path.with_name(path.stem + suffix)
        page.write_text(html, encoding="utf-8")
    return CheckResult(passed, failed, page)
