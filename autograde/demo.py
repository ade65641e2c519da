"""`autograde demo`: a course, four sample students, a grading run, and where to look.

The samples are made from the lesson itself, so they never drift from it:
- `ada`   submits the solutions: every autograded point;
- `ben`   answered the first exercises and left the rest blank;
- `cy`    solved everything, but trains the frozen layer by mistake;
- `dee`   hands in the notebook untouched.
"""

import os
import shutil
from pathlib import Path

import nbformat

from . import config, course
from .cells import grade_id
from .grading import grade_course
from .summary import GradingProgress, print_summary

DEMO_ASSIGNMENT = "lesson00"

# cy's mistake, made on the lesson's own answer: take gradients for model.weights
# instead of model.trainable_variables. The frozen layer's kernel is a trainable
# tf.Variable underneath, so it gets a gradient and the optimizer moves it.
MISTAKES = {
    "lesson00": {"ex3_train_head_step": ("model.trainable_variables", "model.weights")},
}


SOLUTION_MARKERS = {"### BEGIN SOLUTION", "### END SOLUTION"}


def _solution_ids(nb, code_only=False):
    return [
        grade_id(c)
        for c in nb.cells
        if _is_solution(c) and (c.cell_type == "code" or not code_only)
    ]


def _is_solution(cell):
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def _answered(release, answers, grade_ids):
    """A copy of the release notebook with the given solution cells answered."""
    nb = nbformat.from_dict(release)
    for cell in nb.cells:
        if grade_id(cell) in grade_ids:
            cell.source = answers[grade_id(cell)]
    return nb


def sample_notebooks(source_path, release_path, assignment):
    """The four sample submissions, as {student: notebook}."""
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(release_path, as_version=4)
    # A student's answer is the solution without nbgrader's markers around it.
    answers = {
        grade_id(c): "\n".join(
            line for line in c.source.splitlines() if line.strip() not in SOLUTION_MARKERS
        )
        for c in source.cells
        if grade_id(c)
    }

    everything = _solution_ids(release)
    code = _solution_ids(release, code_only=True)
    partial = _answered(release, answers, code[: max(1, len(code) // 2)])
    correct = _answered(release, answers, everything)
    mistaken = _answered(release, answers, everything)
    for cell in mistaken.cells:
        if grade_id(cell) in MISTAKES[assignment]:
            right, wrong = MISTAKES[assignment][grade_id(cell)]
            if right not in cell.source:
                raise RuntimeError(f"the demo's mistake no longer fits {grade_id(cell)}")
            cell.source = cell.source.replace(right, wrong)
    return {"ada": correct, "ben": partial, "cy": mistaken, "dee": release}


def add_samples(root, assignment=DEMO_ASSIGNMENT):
    """Write the sample submissions under root/submitted/<student>/<assignment>/."""
    root = Path(root)
    (source_path,) = (root / "source" / assignment).glob("*.ipynb")
    release_path = root / "release" / assignment / source_path.name
    for student, nb in sample_notebooks(source_path, release_path, assignment).items():
        folder = root / "submitted" / student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / source_path.name)


def run_demo(root, db_url=None):
    """Init a course in root, add the samples, grade, and print where the results are.

    The gradebook is `db_url` if given, else the one the folder's config names, else SQLite.
    """
    root = Path(root).resolve()
    print(f"Setting up a course in {root} ...")
    course.init_course(root, db_url=db_url)
    add_samples(root)
    print(
        "Grading four sample students (ada: correct, ben: partial, cy: moves a frozen layer, "
        "dee: blank) ..."
    )
    with GradingProgress() as progress:
        outcomes = grade_course(root, jobs=os.cpu_count() or 1, progress=progress)
    print_summary(root, outcomes, gradebook=config.masked(config.gradebook_url(root)))
    print(
        f"\nOpen a feedback page in a browser, e.g.\n  {root / 'feedback' / 'cy' / DEMO_ASSIGNMENT}"
    )
    return 0
