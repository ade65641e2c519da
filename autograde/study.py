"""`autograde study` and `autograde reveal`: the course for a learner on their own, answers hidden.

`autograde study DIR` puts in DIR each lesson as a student gets it: nbgrader's own release,
made by `generate_assignment` (through `course.init_course`), with the solutions and the
hidden tests removed. The lessons themselves, with their solutions and hidden tests, stay in
DIR/.course/, an nbgrader course folder that JupyterLab's file browser does not show (it hides
dot-folders). From there come the hidden tests (`autograde check NOTEBOOK --hidden`) and one
exercise's reference solution at a time (`autograde reveal LESSON EXERCISE`).

A learner's notebook is never overwritten: a lesson already in DIR is kept as it is, whatever
is in it. Only DIR/.course/ is made afresh, when the lessons changed.

This hides the answers from a learner who does not go looking for them. It is not a lock:
the solutions are in DIR/.course/ and in the repository's notebooks/.
"""

import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution

from . import config, course
from .cells import grade_id, is_autograder_test
from .preloaded import preloaded_kernels
from .selfcheck import check_notebook, read_notebook

STUDY_DIR = "study"
HIDDEN = ".course"  # the lessons with their solutions, inside the study folder
REVEALED = "revealed.json"  # which exercises' solutions the learner asked for
SOLUTION_MARKERS = {"### BEGIN SOLUTION", "### END SOLUTION"}
EXERCISE_HEADING = re.compile(r"^#{2,4}\s*Exercise\s+(\d+)\b\s*:?\s*(.*?)\s*$", re.M | re.I)
POINTS_NOTE = re.compile(r"\s*\([^()]*\bpoints?\b[^()]*\)\s*$", re.I)
SECTION_HEADING = re.compile(r"#{1,2}\s")  # "## Summary" ends the exercises

GUIDE = """\
# Self-study copy of the course

Every lesson here is the version a student gets: the answers are removed. Nothing in this
folder is overwritten when `autograde study` runs again, so your work is safe in it.

1. Open `00_...ipynb` and choose Run > Run All Cells. The run stops at the first test of an
   exercise you have not answered yet (the error says `NotImplementedError`).
2. Write your answer in place of `raise NotImplementedError()` (or `YOUR ANSWER HERE` for a
   written answer), run that cell, then the test cell under it. Run > Run Selected Cell and
   All Below carries on from there.
3. Check yourself, from the repository's folder:

       .venv/bin/autograde check study/00_variable_has_no_trainable_parameters.ipynb
       .venv/bin/autograde check study/00_variable_has_no_trainable_parameters.ipynb --hidden

   The first runs the visible tests (the Validate button in the notebook's toolbar does the
   same); `--hidden` adds the hidden tests the grader would run. Each writes a page with
   the plot of what your training code did to every variable beside the notebook.
4. See where you are: `.venv/bin/autograde study --progress` (add `--hidden` for the
   hidden tests too).
5. Stuck? `.venv/bin/autograde reveal 00 ex2` prints the reference solution of exercise 2 of
   lesson 00, and nothing else.

To start a lesson over, rename or delete your copy and run `autograde study` again.
"""


@dataclass
class Exercise:
    """One exercise of a lesson: its number and title, its answer cells, its tests, its points."""

    number: int
    title: str
    solutions: list = field(default_factory=list)  # grade_ids of the cells the learner writes
    tests: list = field(default_factory=list)  # grade_ids of its autograded test cells
    points: float = 0.0
    written: bool = False  # a written answer, graded by hand

    @property
    def name(self):
        return f"ex{self.number}"


def exercises(nb):
    """The exercises of a lesson, read from its `### Exercise N: title` headings and cells.

    A graded cell outside any such heading makes an exercise of its own.
    """
    found, current = [], None
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        graded = is_grade(cell) or is_solution(cell)
        if cell.cell_type == "markdown" and not graded:
            match = EXERCISE_HEADING.search(cell.source)
            if match:
                title = POINTS_NOTE.sub("", match[2]).strip() or f"exercise {match[1]}"
                current = Exercise(int(match[1]), title)
                found.append(current)
            elif SECTION_HEADING.match(cell.source.lstrip()):
                current = None
            continue
        if not graded:
            continue
        if current is None:
            current = Exercise(len(found) + 1, grade_id(cell, "exercise"))
            found.append(current)
        if is_solution(cell):
            current.solutions.append(grade_id(cell))
            current.written = current.written or cell.cell_type == "markdown"
        if is_grade(cell):
            current.points += float(meta.get("points", 0))
            if is_autograder_test(cell):
                current.tests.append(grade_id(cell))
    return found


def solution_text(cell):
    """A solution cell as the learner would write it: nbgrader's markers taken out."""
    return "\n".join(
        line for line in cell.source.splitlines() if line.strip() not in SOLUTION_MARKERS
    ).strip("\n")


# --- the study folder ---------------------------------------------------------------------


def make_copy(root, lessons_dir=course.LESSONS):
    """Make or refresh the study folder ROOT; return (lessons copied, lessons kept as they were).

    ROOT/.course/ is made afresh from the lessons when they changed. A notebook already in
    ROOT is never overwritten, nor are the other files put there the first time.
    """
    root = Path(root).resolve()
    hidden = root / HIDDEN
    if not _up_to_date(hidden, lessons_dir):
        for folder in ("source", "release"):  # a lesson since removed goes too
            shutil.rmtree(hidden / folder, ignore_errors=True)
        course.init_course(hidden, lessons_dir=lessons_dir)
    copied, kept = [], []
    for lesson in course.lessons(lessons_dir):
        release = hidden / "release" / course.assignment_id(lesson) / lesson.name
        target = root / lesson.name
        if target.exists():
            kept.append(target)
        else:
            shutil.copyfile(release, target)
            copied.append(target)
    extras = {"README.md": GUIDE}
    for name, text in extras.items():
        if not (root / name).exists():
            (root / name).write_text(text, encoding="utf-8")
    claims = Path(lessons_dir) / "claims.md"  # the lessons link to it
    if claims.is_file() and not (root / claims.name).exists():
        shutil.copyfile(claims, root / claims.name)
    return copied, kept


def _up_to_date(hidden, lessons_dir):
    """Whether HIDDEN already holds these lessons and their releases, byte for byte."""
    for lesson in course.lessons(lessons_dir):
        folder = course.assignment_id(lesson)
        kept = hidden / "source" / folder / lesson.name
        if not (kept.is_file() and kept.read_bytes() == lesson.read_bytes()):
            return False
        if not (hidden / "release" / folder / lesson.name).is_file():
            return False
    return len(list((hidden / "source").glob("*/*.ipynb"))) == len(course.lessons(lessons_dir))


def sources(root=None):
    """The lessons with their solutions: ROOT/.course/source/ if ROOT is a study folder,
    else the repository's notebooks/."""
    if root is not None and (Path(root) / HIDDEN / "source").is_dir():
        return sorted((Path(root) / HIDDEN / "source").glob("*/[0-9][0-9]_*.ipynb"))
    return course.lessons()


def source_of(notebook):
    """The lesson a learner's notebook was made from (same file name), with its hidden tests:
    from the study folder it is in, else from the repository's notebooks/."""
    notebook = Path(notebook).resolve()
    studies = [f for f in notebook.parents if (f / HIDDEN / "source").is_dir()][:1]
    for folder in (*studies, None):
        for source in sources(folder):
            if source.name == notebook.name:
                return source
    return None


def find_lesson(spec, root=None):
    """The source lesson that LESSON names: `01`, `1`, `lesson01` or `01_create...`."""
    found = sources(root)
    spec = Path(str(spec)).name.removesuffix(".ipynb")
    number = re.fullmatch(r"(?:lesson)?(\d+)", spec)
    for lesson in found:
        if (number and int(number[1]) == int(lesson.name[:2])) or lesson.stem == spec:
            return lesson
    names = ", ".join(lesson.name[:2] for lesson in found)
    raise SystemExit(f"No lesson {spec!r}. The lessons are: {names}.")


def find_exercise(lesson_nb, spec, lesson_name):
    """The exercise EXERCISE names in a lesson: `ex2`, `2`, or the grade_id of one of its cells."""
    found = exercises(lesson_nb)
    spec = str(spec).strip().lower()
    number = re.fullmatch(r"(?:ex(?:ercise)?)?\s*(\d+)", spec)
    for exercise in found:
        if (number and int(number[1]) == exercise.number) or spec in (
            exercise.solutions + exercise.tests
        ):
            return exercise
    listing = "\n".join(f"  {e.name}  {e.title}" for e in found)
    raise SystemExit(f"No exercise {spec!r} in {lesson_name}. Its exercises are:\n{listing}")


# --- running tests --------------------------------------------------------------------------


def with_hidden_tests(nb, source):
    """The learner's notebook with each test cell as the lesson has it: hidden tests included.

    As nbgrader's autograde does, a test cell the learner changed or deleted is put back
    from the lesson.
    """
    nb = nbformat.from_dict(nb)
    tests = {grade_id(c): c for c in source.cells if is_autograder_test(c)}
    position = {grade_id(c): i for i, c in enumerate(nb.cells) if grade_id(c)}
    for cell in nb.cells:
        if grade_id(cell) in tests:
            cell.source = tests[grade_id(cell)].source
            cell.metadata["nbgrader"] = dict(tests[grade_id(cell)].metadata["nbgrader"])
    missing = [gid for gid in tests if gid not in position]
    for gid in missing:  # after the cell that comes before it in the lesson, else at the end
        before = [grade_id(c) for c in source.cells[: source.cells.index(tests[gid])]]
        anchor = next((g for g in reversed(before) if g in position), None)
        index = position[anchor] + 1 if anchor else len(nb.cells)
        cell = nbformat.from_dict(tests[gid])
        cell.outputs, cell.execution_count = [], None
        nb.cells.insert(index, cell)
        position = {grade_id(c): i for i, c in enumerate(nb.cells) if grade_id(c)}
    return nb


def run_tests(path, hidden=False, cell_timeout=config.CELL_TIMEOUT, feedback=True, source=None):
    """Run a learner's notebook and score its tests as `autograde check` does.

    With `hidden`, the test cells are the lesson's own, hidden tests included. With
    `feedback`, the page the grader would give (explanations, plots; hidden code not shown)
    is written beside the notebook. Returns a CheckResult.
    """
    path = Path(path).resolve()
    nb = read_notebook(path)
    if hidden:
        source = source or source_of(path)
        if source is None:
            raise SystemExit(
                f"No lesson named {path.name} was found, in {path.parent / HIDDEN} or in "
                "the repository's notebooks/: its hidden tests are not known."
            )
        nb = with_hidden_tests(nb, nbformat.read(source, as_version=4))
    suffix = ".hidden.feedback.html" if hidden else ".feedback.html"
    return check_notebook(path, cell_timeout, nb=nb, feedback=feedback, suffix=suffix)


def check_with_hidden_tests(path, cell_timeout=config.CELL_TIMEOUT):
    """`autograde check NOTEBOOK --hidden`: visible and hidden tests, and the grader's page."""
    return run_tests(path, hidden=True, cell_timeout=cell_timeout)


# --- progress ------------------------------------------------------------------------------


@dataclass
class Status:
    """Where one exercise stands for the learner."""

    lesson: str
    exercise: Exercise
    state: str  # "pass", "fail", "not started", "answered" (written), "missing"
    detail: str = ""
    revealed: bool = False

    @property
    def done(self):
        return self.state in ("pass", "answered")


def _answered(exercise, mine, release):
    """Whether the learner changed any of the exercise's answer cells from the release."""
    given = {grade_id(c): c.source for c in release.cells if grade_id(c)}
    written = {grade_id(c): c.source for c in mine.cells if grade_id(c)}
    return any(written.get(gid) != given.get(gid) for gid in exercise.solutions)


def progress(root, hidden=False, cell_timeout=config.CELL_TIMEOUT):
    """The Status of every exercise of the study folder ROOT, lesson by lesson.

    An exercise whose answer cells are as handed out is "not started", without running
    anything. The lessons with an answer in them are run (their tests, visible or also
    hidden), in a scratch copy: nothing is written into ROOT.
    """
    root = Path(root).resolve()
    if not (root / HIDDEN / "source").is_dir():
        raise SystemExit(f"{root} is not a study folder: make it with `autograde study {root}`.")
    revealed = _read_revealed(root)
    statuses = []
    # Each lesson runs in a kernel of its own; forked from one preloaded process, the
    # lessons after the first no longer import TensorFlow again.
    with preloaded_kernels():
        for source in sources(root):
            lesson_nb = nbformat.read(source, as_version=4)
            release_nb = nbformat.read(
                root / HIDDEN / "release" / source.parent.name / source.name, as_version=4
            )
            found = exercises(lesson_nb)
            mine_path = root / source.name
            shown = set(revealed.get(source.stem, []))
            if not mine_path.exists():
                statuses += [
                    Status(source.stem, e, "missing", f"no {source.name} in {root}") for e in found
                ]
                continue
            mine = read_notebook(mine_path)
            answered = {e.number: _answered(e, mine, release_nb) for e in found}
            result = None
            if any(answered[e.number] and e.tests for e in found):
                with tempfile.TemporaryDirectory() as scratch:
                    copy = Path(scratch) / mine_path.name
                    shutil.copyfile(mine_path, copy)
                    result = run_tests(copy, hidden, cell_timeout, feedback=False, source=source)
            for e in found:
                status = Status(source.stem, e, "not started", revealed=e.number in shown)
                if answered[e.number] and e.written and not e.tests:
                    status.state, status.detail = "answered", "graded by hand"
                elif answered[e.number]:
                    failures = [(t, why) for t, why in result.failed if t in e.tests]
                    status.state = "fail" if failures else "pass"
                    if failures:
                        status.detail = f"{failures[0][0]}: {failures[0][1].splitlines()[0]}"
                statuses.append(status)
    return statuses


def print_progress(root, statuses, hidden=False):
    tests = "visible and hidden tests" if hidden else "visible tests; --hidden adds the hidden ones"
    print(f"Progress in {Path(root).resolve()} ({tests})")
    lesson = None
    for s in statuses:
        if s.lesson != lesson:
            lesson = s.lesson
            print(f"\n{lesson}")
        points = f"{s.exercise.points:g} pt{'s' if s.exercise.points != 1 else ''}"
        state = s.state + (f": {s.detail}" if s.detail else "")
        note = "  (solution revealed)" if s.revealed else ""
        title = s.exercise.title if len(s.exercise.title) <= 48 else s.exercise.title[:47] + "…"
        print(f"  {s.exercise.name:<4} {title:<48} {points:>6}  {state}{note}")
    done = sum(s.done for s in statuses)
    print(f"\n{done} of {len(statuses)} exercises done, {len(statuses) - done} to go.")
    remaining = [s for s in statuses if not s.done]
    if remaining:
        first = remaining[0]
        print(f"Next: {first.lesson}, {first.exercise.name} ({first.exercise.title}).")


# --- revealing one solution -----------------------------------------------------------------


def _read_revealed(root):
    path = Path(root) / HIDDEN / REVEALED
    return json.loads(path.read_text()) if path.is_file() else {}


def reveal(lesson_spec, exercise_spec, root=STUDY_DIR):
    """The reference solution of one exercise, as text; noted in ROOT/.course if it exists."""
    root = Path(root)
    lesson = find_lesson(lesson_spec, root)
    nb = nbformat.read(lesson, as_version=4)
    exercise = find_exercise(nb, exercise_spec, lesson.stem)
    cells = [c for c in nb.cells if grade_id(c) in exercise.solutions]
    parts = [f"# {lesson.stem}, {exercise.name}: {exercise.title} (reference solution)"]
    for cell in cells:
        text = solution_text(cell)
        parts.append(text if cell.cell_type == "code" else f"(written answer)\n{text}")
    if (root / HIDDEN).is_dir():
        revealed = _read_revealed(root)
        numbers = set(revealed.get(lesson.stem, [])) | {exercise.number}
        revealed[lesson.stem] = sorted(numbers)
        (root / HIDDEN / REVEALED).write_text(json.dumps(revealed, indent=1))
    return "\n\n".join(parts) + "\n"


# --- the commands --------------------------------------------------------------------------


def study(root=STUDY_DIR, show_progress=False, hidden=False, cell_timeout=config.CELL_TIMEOUT):
    """`autograde study`: make or refresh the copy, or with `show_progress`, report on it."""
    root = Path(root).resolve()
    if show_progress:
        print_progress(root, progress(root, hidden, cell_timeout), hidden)
        return 0
    copied, kept = make_copy(root)
    print(f"Your copy of the course, answers removed: {root}")
    for path in copied:
        print(f"  new   {path.name}")
    for path in kept:
        print(f"  kept  {path.name} (yours, not overwritten)")
    print(
        f"\nOpen it: .venv/bin/autograde lab {root} (or `make study`); {root / 'README.md'} "
        "says how to check yourself, see your progress and reveal one solution."
    )
    return 0
