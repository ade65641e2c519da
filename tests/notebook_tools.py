"""Helpers the tests share: run a notebook in a fresh kernel, read nbgrader metadata."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograde.cells import is_autograder_test  # noqa: F401  (shared with the tests)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SEEDS = ROOT.parent / "shared" / "seeds"
# The source documents live beside the repository, not in it: tests that compare with them
# skip where they are absent.
needs_documents = pytest.mark.skipif(
    not SEEDS.is_dir(),
    reason="the source documents (../shared/seeds) are not beside this clone; CI has them",
)
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_manual_answer(cell):
    meta = nbgrader_meta(cell)
    return cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution")


def raises_on_purpose(cell):
    return "raises-exception" in cell.get("metadata", {}).get("tags", [])


def execute(path, cwd=None, timeout=180):
    """Run every cell in a fresh kernel, errors allowed; return the executed notebook."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd or Path(path).parent)}},
    )
    client.execute()
    return nb


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def stderr(cell):
    return "".join(
        o.text for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"
    )


def describe(cell):
    first = cell.source.strip().splitlines()[0] if cell.source.strip() else "(empty)"
    grade_id = nbgrader_meta(cell).get("grade_id")
    return f"cell {grade_id or ''} starting {first!r}"


def seed_code_blocks(seed_path):
    """The fenced Python examples of a source document, exactly as written."""
    text = Path(seed_path).read_text(encoding="utf-8")
    return [block.strip("\n") for block in re.findall(r"```python\n(.*?)```", text, re.S)]


def generate_student_version(lesson, course_dir):
    """Run the real `nbgrader generate_assignment` on one lesson; return the release copy."""
    name = lesson.stem
    source = Path(course_dir) / "source" / name
    source.mkdir(parents=True, exist_ok=True)
    (source / lesson.name).write_bytes(lesson.read_bytes())
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--no-db", "--force"],
        cwd=course_dir,
        check=True,
        capture_output=True,
    )
    return Path(course_dir) / "release" / name / lesson.name
