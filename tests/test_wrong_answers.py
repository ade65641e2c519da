"""The test of the tests: every wrong answer in `wrong_answers.py` loses points.

Grading each wrong answer with nbgrader would take minutes. Instead, each lesson runs once in
one kernel with its solutions (as nbgrader's source version does, hidden tests included): the
Exercises section, and each earlier cell that binds a name those cells read (and the cells that
those read, and so on); the lesson's other demonstrations are skipped. Then,
for each wrong answer, the exercise's solution cell is run again with the wrong source, then
every test cell of that exercise; a test cell that raises is a test cell that scores 0. The model
answer is run again afterwards, so the next wrong answer starts from a correct lesson, and after
an exercise's last wrong answer its tests are run once more with the model answer, to show that
no wrong answer left behind state that the next tests depend on.

Each exercise is first put through its tests as handed out: its solution cell as nbgrader's
`generate_assignment` leaves it (the stub, which raises NotImplementedError), with the names
the model answer binds forgotten first, as in a fresh kernel. Every test cell of the exercise
must then fail: an untouched release earns nothing. (test_autograde.py checks the same
end to end through nbgrader, for lesson 00.)

Plots are not drawn in these kernels (matplotlib's `print_figure` does nothing). That saves
time, and it can only let a wrong answer pass, never fail, so every wrong answer that loses
points here loses them in a real grading too. The lessons' own runs (`test_lessons.py`,
`test_autograde.py`) draw every plot.
"""

import ast
import builtins
import os
from collections import Counter

import nbformat
import pytest
from fixture_assignment import student_version
from IPython.core.inputtransformer2 import TransformerManager
from jupyter_client.manager import KernelManager
from notebook_tools import LESSONS, is_autograder_test, nbgrader_meta
from wrong_answers import WRONG_ANSWERS, HandedOut

CELL_TIMEOUT = 120
NO_DRAWING = """
import matplotlib.backend_bases
matplotlib.backend_bases.FigureCanvasBase.print_figure = lambda self, *args, **kwargs: None
"""
# Every lesson: a new one fails test_every_autograded_exercise_has_wrong_answers until it has some.
LESSON_OF = {lesson.name[:2]: lesson for lesson in LESSONS}


def exercises(nb):
    """{grade_id of a code solution cell: (its index, [indices of its test cells])}.

    An exercise's test cells are the autograder test cells after its solution cell and
    before the next solution cell.
    """
    found, current = {}, None
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            current = meta["grade_id"]
            found[current] = (index, [])
        elif meta.get("solution"):  # a written answer ends the code exercise before it
            current = None
        elif current and is_autograder_test(cell):
            found[current][1].append(index)
    return {grade_id: cells for grade_id, cells in found.items() if cells[1]}


def bindings(source):
    """(names a cell binds at its top level, not counting imports; names it reads and binds
    nowhere in the cell)."""
    tree = ast.parse(TransformerManager().transform_cell(source))
    binds = set()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            binds.add(statement.name)
        elif not isinstance(statement, ast.Import | ast.ImportFrom):
            binds |= {
                n.id
                for n in ast.walk(statement)
                if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
            }
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    reads = {n.id for n in names if isinstance(n.ctx, ast.Load)}
    local = {n.id for n in names if not isinstance(n.ctx, ast.Load)}  # in functions too
    local |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    local |= {
        (a.asname or a.name).split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    return binds, reads - binds - local - set(dir(builtins))


def cells_the_exercises_need(nb):
    """Indices of the code cells to run: the Setup cell (the first code cell: it imports what
    the lesson uses), the Exercises section, and, going back from there, each cell that binds
    a name read by a cell chosen after it and not bound in between. Over-choosing only costs
    time; under-choosing shows up as a test cell that fails with the model answer."""
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    first = next(i for i, cell in enumerate(nb.cells) if nbgrader_meta(cell))
    chosen = {code[0]} | {i for i in code if i >= first}
    found = {i: bindings(nb.cells[i].source) for i in code}
    exercises_section = [i for i in code if i >= first]
    wanted = set().union(*(found[i][1] for i in exercises_section))
    wanted -= set().union(*(found[i][0] for i in exercises_section))
    for i in reversed([i for i in code if code[0] < i < first]):
        binds, reads = found[i]
        if binds & wanted:
            chosen.add(i)
            wanted = (wanted - binds) | reads
    return sorted(chosen)


class LessonKernel:
    """One kernel that has run a lesson's source version, ready to re-run its cells."""

    def __init__(self, lesson, cwd):
        self.nb = nbformat.read(lesson, as_version=4)
        self.exercises = exercises(self.nb)
        self.stubs = {  # each solution cell as handed out
            nbgrader_meta(cell)["grade_id"]: cell.source
            for cell in student_version(self.nb).cells
            if nbgrader_meta(cell).get("solution")
        }
        self.km = KernelManager(kernel_name="python3")
        # Its temporary files (lesson 04 keeps its .keras files in one) go where pytest cleans up.
        self.km.start_kernel(cwd=str(cwd), env={**os.environ, "TMPDIR": str(cwd)})
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.alive = True
        assert self.run(NO_DRAWING) is None
        self.errors = {}  # cell index -> error of the first run, for the cells that raised
        for index in cells_the_exercises_need(self.nb):
            error = self.run(self.nb.cells[index].source)
            if error:
                self.errors[index] = error

    def run(self, code):
        """Run code in the kernel; return 'Name: message' if it raised, else None."""
        reply = self.kc.execute_interactive(
            code, timeout=CELL_TIMEOUT, output_hook=lambda msg: None, allow_stdin=False
        )
        content = reply["content"]
        if content["status"] == "ok":
            return None
        return f"{content.get('ename')}: {content.get('evalue')}"

    def points_lost(self, grade_id, source):
        """Run the solution cell as `source`, then the exercise's tests: {test grade_id: error}."""
        solution, tests = self.exercises[grade_id]
        error = self.run(source)
        assert error is None, f"the answer itself raised, so it tests nothing: {error}"
        failed = {}
        for index in tests:
            error = self.run(self.nb.cells[index].source)
            if error:
                failed[nbgrader_meta(self.nb.cells[index])["grade_id"]] = error
        return failed

    def points_kept_as_handed_out(self, grade_id):
        """Forget what the model answer binds, run the stub, then the exercise's tests:
        [grade_id of each test cell that passed]."""
        solution, tests = self.exercises[grade_id]
        names = sorted(bindings(self.nb.cells[solution].source)[0])
        assert self.run(f"for _name in {names!r}:\n    globals().pop(_name, None)") is None
        self.run(self.stubs[grade_id])  # a stub at the top level raises where it stands
        return [
            nbgrader_meta(self.nb.cells[index])["grade_id"]
            for index in tests
            if self.run(self.nb.cells[index].source) is None
        ]

    def restore(self, grade_id):
        solution, _ = self.exercises[grade_id]
        assert self.run(self.nb.cells[solution].source) is None

    def shutdown(self):
        self.alive = False
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    """kernels(lesson) -> its LessonKernel, alive; one kernel alive at a time.

    `kernels.first_run(lesson)` -> the errors of the lesson's first run, from the kernel
    that ran it (alive or not): the model-answer test runs last and reuses them.
    """
    started = {}

    def get(lesson):
        kernel = started.get(lesson)
        if kernel is None or not kernel.alive:
            for old in started.values():
                if old.alive:
                    old.shutdown()
            kernel = started[lesson] = LessonKernel(
                LESSON_OF[lesson], tmp_path_factory.mktemp(f"lesson{lesson}")
            )
        return kernel

    get.first_run = lambda lesson: started.get(lesson) or get(lesson)
    yield get
    for kernel in started.values():
        if kernel.alive:
            kernel.shutdown()


def test_every_autograded_exercise_has_wrong_answers():
    listed = Counter((w.lesson, w.grade_id) for w in WRONG_ANSWERS)
    for code, lesson in LESSON_OF.items():
        for grade_id in exercises(nbformat.read(lesson, as_version=4)):
            assert listed[(code, grade_id)] >= 3, f"lesson {code} {grade_id}: list 3 wrong answers"
    known = {
        (code, grade_id)
        for code, lesson in LESSON_OF.items()
        for grade_id in exercises(nbformat.read(lesson, as_version=4))
    }
    assert not set(listed) - known, f"wrong answers for no exercise: {set(listed) - known}"


REMAINING = Counter((w.lesson, w.grade_id) for w in WRONG_ANSWERS)
# Each exercise's stub just before its wrong answers: a lesson's kernel is started once.
CASES = []
for wrong in WRONG_ANSWERS:
    if HandedOut(wrong.lesson, wrong.grade_id) not in CASES:
        CASES.append(HandedOut(wrong.lesson, wrong.grade_id))
    CASES.append(wrong)


@pytest.mark.parametrize("wrong", CASES, ids=[w.id for w in CASES])
def test_wrong_answer_loses_points(kernels, wrong):
    kernel = kernels(wrong.lesson)
    solution, tests = kernel.exercises[wrong.grade_id]
    assert not set(tests) & set(kernel.errors), (
        f"the model answer already fails the tests of {wrong.grade_id}: wrong answers prove nothing"
    )
    if isinstance(wrong, HandedOut):
        try:
            passed = kernel.points_kept_as_handed_out(wrong.grade_id)
        finally:
            kernel.restore(wrong.grade_id)
        assert not passed, f"as handed out, {wrong.grade_id} keeps the points of {passed}"
        return
    model_answer = kernel.nb.cells[solution].source
    try:
        failed = kernel.points_lost(wrong.grade_id, wrong.apply(model_answer))
    finally:
        kernel.restore(wrong.grade_id)
    assert failed, f"'{wrong.name}' passes every test of {wrong.grade_id}"
    REMAINING[(wrong.lesson, wrong.grade_id)] -= 1
    if REMAINING[(wrong.lesson, wrong.grade_id)] == 0:
        again = kernel.points_lost(wrong.grade_id, model_answer)
        assert not again, f"the model answer fails after the wrong answers: {again}"


@pytest.mark.parametrize("lesson", sorted(LESSON_OF))
def test_model_answers_keep_every_point(kernels, lesson):
    kernel = kernels.first_run(lesson)
    tests = [i for i, c in enumerate(kernel.nb.cells) if is_autograder_test(c)]
    raised = {
        nbgrader_meta(kernel.nb.cells[i])["grade_id"]: kernel.errors[i]
        for i in tests
        if i in kernel.errors
    }
    assert not raised, f"with the model answers, these test cells raised: {raised}"
