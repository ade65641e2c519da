"""The small assignment the grader tests share: `double` (2 points) and `train_step` (3 points).

Small enough that a class of twenty-odd submissions grades in about a minute; the
trajectory exercise makes the same kind of plot the lessons do.
"""

import json
import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOK = "00_fixture.ipynb"
AID = "lesson00"


def meta(grade_id, **kw):
    return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "task": False, **kw}}


SOLUTION = dict(grade=False, solution=True, locked=False)
TEST = dict(grade=True, solution=False, locked=True)

DOUBLE = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
TRAIN = textwrap.dedent(
    """\
    def train_step(w, frozen):
        ### BEGIN SOLUTION
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum((w + frozen) ** 2)
        (grad,) = tape.gradient(loss, [w])
        w.assign_sub(0.1 * grad)
        ### END SOLUTION"""
)
TEST_DOUBLE = textwrap.dedent(
    """\
    np.testing.assert_array_equal(double(np.arange(3)), [0, 2, 4])
    assert isinstance(double(1), int)
    ### BEGIN HIDDEN TESTS
    assert double(-4) == -8
    ### END HIDDEN TESTS"""
)
TEST_TRAIN = textwrap.dedent(
    """\
    w = tf.Variable([1.0, 2.0], name="w")
    frozen = tf.Variable([0.5], trainable=False, name="frozen")
    record = cl.Trajectory([w, frozen])
    for _ in range(3):
        train_step(w, frozen)
        record.record()
    cl.check_trajectory(record, frozen=["frozen"], trained=["w"])"""
)


def fixture_lesson():
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells = [
        new_markdown_cell("# A fixture assignment"),
        new_code_cell("import course_lib as cl\nimport numpy as np\nimport tensorflow as tf"),
        new_code_cell(DOUBLE, metadata=meta("double", **SOLUTION)),
        new_code_cell(TEST_DOUBLE, metadata=meta("test_double", points=2, **TEST)),
        new_code_cell(TRAIN, metadata=meta("train_step", **SOLUTION)),
        new_code_cell(TEST_TRAIN, metadata=meta("test_train_step", points=3, **TEST)),
    ]
    return nb


def answered(release, **answers):
    """The release notebook with solution cells replaced by `answers` (grade_id -> code)."""
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    right = {"double": "def double(x):\n    return 2 * x", "train_step": TRAIN}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in right:
            cell.source = answers.get(grade_id, right[grade_id])
    return nb


def student_version(source):
    """What a student gets of `source`: nbgrader's own preprocessors clear the solutions and
    the hidden tests, as `generate_assignment` does, without a course."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = nbformat.from_dict(json.loads(json.dumps(source)))
    for step in (ClearSolutions(), ClearHiddenTests()):
        nb, _ = step.preprocess(nb, {})
    return nb
