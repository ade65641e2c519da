"""The course folder: set it up from the lessons, list its submissions, check their files.

A plain nbgrader course directory (`source/ release/ submitted/ autograded/ feedback/`,
the gradebook, `nbgrader_config.py`), made with nbgrader's own API.
"""

import os
import shutil
from pathlib import Path

import nbformat

from . import config, gradebook
from .outcome import Failure, Kind

LESSONS = Path(__file__).resolve().parents[1] / "notebooks"


def assignment_id(lesson):
    """`00_variable_has_no_trainable_parameters.ipynb` is assignment `lesson00`."""
    return f"lesson{Path(lesson).name[:2]}"


def lessons(lessons_dir=LESSONS):
    found = sorted(Path(lessons_dir).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise SystemExit(f"No lessons (NN_*.ipynb) found in {lessons_dir}.")
    return found


def _require(result, what):
    if not result["success"]:
        raise RuntimeError(f"{what} failed:\n{result.get('error') or result.get('log')}")


def init_course(
    root,
    lessons_dir=LESSONS,
    cell_timeout=config.CELL_TIMEOUT,
    submission_timeout=config.SUBMISSION_TIMEOUT,
    memory_gb=config.MEMORY_GB,
    db_url=None,
):
    """Write the config, one assignment per lesson under source/, release/, and the gradebook.

    The gradebook is `db_url` if given (written into the config), else the one an existing
    config names, else SQLite in ROOT/gradebook.db.
    """
    config.prepare_environment()
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    config.write_config(root, cell_timeout, submission_timeout, memory_gb, db_url=db_url)
    gradebook.assignments(config.gradebook_url(root), config.course_id(root))  # can it open?
    api = config.open_api(root)
    ids = []
    for lesson in lessons(lessons_dir):
        aid = assignment_id(lesson)
        target = root / "source" / aid
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(lesson, target / lesson.name)
        _require(api.generate_assignment(aid, force=True, create=True), f"Releasing {aid}")
        ids.append(aid)
    return ids


def submissions(root):
    """(student, assignment) for every folder under submitted/."""
    base = Path(root) / "submitted"
    if not base.is_dir():
        return []
    return [
        (student.name, assignment.name)
        for student in sorted(p for p in base.iterdir() if p.is_dir())
        for assignment in sorted(p for p in student.iterdir() if p.is_dir())
    ]


def links_and_size(folder):
    """The symbolic links under `folder` (relative paths), and the bytes of its files."""
    links, size = [], 0
    for parent, dirs, files in os.walk(folder):  # never follows a link to a folder
        for name in dirs + files:
            path = Path(parent) / name
            if path.is_symlink():
                links.append(str(path.relative_to(folder)))
            elif name in files:
                size += path.stat().st_size
    return sorted(links), size


def check_files(root, student, assignment):
    """Failures of a submission folder's files, found before nbgrader sees them.

    A symbolic link anywhere in the folder, or more bytes or cells than the limits,
    refuses the submission: nbgrader's copy to autograded/ would follow a link to the
    gradebook or the source notebooks, and a huge notebook would cost the grader's memory.
    """
    expected = sorted(p.name for p in (Path(root) / "source" / assignment).glob("*.ipynb"))
    folder = Path(root) / "submitted" / student / assignment
    links, size = links_and_size(folder)
    links += [str(p.relative_to(root)) for p in (folder.parent, folder) if p.is_symlink()]
    if links:
        return [Failure(Kind.SYMLINK, names=tuple(links))]
    if size > config.MAX_SUBMISSION_MB * 2**20:
        detail = f"the folder holds {size / 2**20:.0f} MB (at most {config.MAX_SUBMISSION_MB} MB)"
        return [Failure(Kind.TOO_LARGE, detail=detail)]
    found = tuple(sorted(p.name for p in folder.glob("*.ipynb")))
    failures = []
    for name in expected:
        path = folder / name
        if not path.exists():
            failures.append(Failure(Kind.MISSING_NOTEBOOK, notebook=name, names=found))
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as error:  # nbformat raises several types for a broken file
            failures.append(
                Failure(Kind.NOT_A_NOTEBOOK, notebook=name, detail=type(error).__name__)
            )
            continue
        if len(nb.cells) > config.MAX_CELLS:
            detail = f"{name} has {len(nb.cells)} cells (at most {config.MAX_CELLS})"
            failures.append(Failure(Kind.TOO_LARGE, notebook=name, detail=detail))
    return failures
