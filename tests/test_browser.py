"""The course in a real JupyterLab, in Chromium: what a student, a self-study learner and an
instructor do there, click by click.

One `jupyter lab` server for the whole session (tests/browser/lab.py), started on a free port
with a token in a course folder made by `autograde init` (so formgrader and the Validate button
read its nbgrader_config.py, as in a class), with `lessons/solution/` (the lessons as in
notebooks/) and `lessons/student/` (the release, made by nbgrader's generate_assignment) beside
it. Lessons run one after another; every kernel is shut down after each test.

Run All runs lesson 00 with its solutions in place (`solution`) and the other lessons as
handed out (`student`). What is not run here is run elsewhere: every lesson's solutions by
nbgrader in test_autograde.py (every cell clean, every point earned, nothing on stderr in a
test cell), and lesson 00 as handed out there (graded blank, cell by cell) and here in the
self-study test (Run All of the learner's copy with one answer written).

What Run All is expected to do:
- solution version: Run All goes through in one go; every code cell runs; only the cells
  tagged `raises-exception` (the documents' examples that crash) show an error, and each of
  them does.
- student version: JupyterLab stops Run All at the first error outside a `raises-exception`
  cell. With nothing answered, that is the first test cell: it calls a function whose body is
  still `raise NotImplementedError()`. The test then carries on as a student would, with Run >
  Run Selected Cell and All Below from the next cell, until every code cell has run. Expected
  errors: every `raises-exception` cell, every autograded test cell (none can pass with no
  answer), and in answer cells `NotImplementedError` only (the stubs); no other cell.
- in both, every cell that draws a trajectory plot shows it, as an image loaded in the page,
  no wider than the notebook on a 1366x768 screen; outputs taller than the screen and code
  wider than its cell are noted in test-artifacts/browser/layout.txt.

Screenshots after each Run All (and one per plot, for the solution version) are saved under
test-artifacts/browser/, with the seconds each Run All took (run-all-times.txt); a failed
test leaves a screenshot of the page there too. A Run All in which nothing changes for two
minutes has stalled: every process's Python stacks (py-spy) go to test-artifacts/browser/stalls/
and into a warning, and the lesson runs once more after a kernel restart.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from browser import lab as jl
from nbgrader.api import Gradebook
from notebook_tools import (
    LESSONS,
    ROOT,
    describe,
    errors,
    is_autograder_test,
    is_manual_answer,
    nbgrader_meta,
    raises_on_purpose,
    stderr,
)

from autograde import course, demo, study
from autograde.cli import main
from autograde.grading import grade_course

pytestmark = pytest.mark.skipif(
    not jl.CHROMIUM.exists(),
    reason=f"no Chromium at {jl.CHROMIUM} (Debian package 'chromium'; CI installs it)",
)

ARTIFACTS = ROOT / "test-artifacts" / "browser"
VERSIONS = ("solution", "student")
# A cell that draws a trajectory plot: a call at the top level of the cell, not inside a def.
DRAWS = re.compile(r"^\S.*\b(plot_trajectory|cl\.show)\(", re.M)


# --- pytest-playwright, on Debian's Chromium, with a laptop's screen -----------------------


# pytest-playwright starts Playwright once per session; here it lives for this file only.
# Its sync API runs an event loop in greenlets on the main thread; while it is up, tests that
# run later in the same test process (make test's workers take several files) cannot call
# asyncio.run, and in one such run ast.parse raised Python 3.11's "AST constructor recursion
# depth mismatch". Stopping it after this file's last test leaves the process as it was.
@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="module")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="module")
def launch_browser(browser_type_launch_args, browser_type):
    return lambda **kwargs: browser_type.launch(**{**browser_type_launch_args, **kwargs})


@pytest.fixture(scope="module")
def browser(launch_browser):
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(jl.CHROMIUM),
        "headless": True,
        "args": jl.CHROMIUM_ARGS,
    }


@pytest.fixture(scope="module")
def browser_context_args():
    # Not pytest-playwright's: it asks for the session's Playwright (for its devices).
    return {"viewport": jl.VIEWPORT}


# --- one JupyterLab for the session --------------------------------------------------------


@pytest.fixture(scope="session")
def course_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("jupyterlab") / "course"
    course.init_course(root)
    for lesson in LESSONS:
        release = root / "release" / course.assignment_id(lesson) / lesson.name
        for version, original in (("solution", lesson), ("student", release)):
            (root / "lessons" / version).mkdir(parents=True, exist_ok=True)
            shutil.copy(original, root / "lessons" / version / lesson.name)
    return root


@pytest.fixture(scope="session")
def lab(course_root, tmp_path_factory):
    server = jl.JupyterLab(course_root, tmp_path_factory.mktemp("jupyterlab-home")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def run_all_times():
    """Seconds each Run All took, written to test-artifacts/browser/run-all-times.txt."""
    times = {}
    yield times
    if times:
        lines = [f"{stem}  {version:<8}  {s:6.1f} s" for (stem, version), s in times.items()]
        add_lines(ARTIFACTS / "run-all-times.txt", lines)


@pytest.fixture(scope="session")
def layout_notes():
    """What may read badly on a 1366x768 screen, per lesson: test-artifacts/browser/layout.txt."""
    notes = []
    yield notes
    if notes:
        add_lines(ARTIFACTS / "layout.txt", notes)


def add_lines(path, lines):
    """Merge LINES into PATH, sorted: the two test workers each write their half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    earlier = path.read_text().splitlines() if path.exists() else []  # conftest clears it
    path.write_text("\n".join(sorted(set(earlier) | set(lines))) + "\n")


@pytest.fixture
def page(page, lab, request):
    """pytest-playwright's page; on failure a screenshot is saved; kernels are shut down after."""
    page.set_default_timeout(jl.SHORT)  # two busy cores: a page or a kernel can take a while
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        (ARTIFACTS / "failures").mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        page.screenshot(path=ARTIFACTS / "failures" / f"{name}.png")
    lab.shut_down_kernels()


def keep_stacks(lab, name, stall):
    """Add the stall and every JupyterLab process's stacks to test-artifacts/browser/stalls/NAME.txt;
    return them."""
    stacks = f"{stall}\n\n{lab.stacks()}\n"
    (ARTIFACTS / "stalls").mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "stalls" / f"{name}.txt", "a") as report:
        report.write(stacks)
    return stacks


def screenshot(page, name):
    (ARTIFACTS / "lessons").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "lessons" / f"{name}.png")


# --- every lesson, both versions: Run All -------------------------------------------------


def expected_error(cell, version):
    """'always', 'never', or the one error name allowed in that cell (see the module's doc)."""
    if raises_on_purpose(cell):
        return "always"
    if version == "student" and is_autograder_test(cell):
        return "always"
    if version == "student" and nbgrader_meta(cell).get("solution"):
        return "NotImplementedError"
    return "never"


RUN_ALLS = [
    pytest.param(lesson, version, id=f"{lesson.stem[:2]}-{version}")
    for lesson in LESSONS
    for version in VERSIONS
    if (version == "student") != (lesson == LESSONS[0])
]


@pytest.mark.parametrize("lesson, version", RUN_ALLS)
def test_run_all_in_jupyterlab(
    page, lab, course_root, run_all_times, layout_notes, lesson, version
):
    folder = f"lessons/{version}"
    jl.open_lab(page, lab, folder)
    jl.open_notebook(page, lesson.name)
    try:
        seconds, stops = jl.run_all_the_way(page)
    except jl.Stalled as stall:
        # Once in about 60 Run Alls in CI (not reproduced since), a kernel stopped answering
        # in a cell that takes milliseconds. Keep what every process was doing, say so
        # loudly, and run the lesson once more in a new kernel; a second stall fails.
        stacks = keep_stacks(lab, f"{lesson.stem}-{version}", stall)
        warnings.warn(
            f"{lesson.name} ({version}): Run All stalled, {stall}; running it again after a "
            f"restart. What every process was doing:\n{stacks}",
            stacklevel=1,
        )
        jl.restart_and_clear(page)
        try:
            seconds, stops = jl.run_all_the_way(page)
        except jl.Stalled as again:
            keep_stacks(lab, f"{lesson.stem}-{version}", again)
            raise AssertionError(f"Run All stalled twice; see {ARTIFACTS / 'stalls'}") from again
    run_all_times[(lesson.stem, version)] = seconds
    jl.save(page)
    if stops:  # what a student sees where Run All stopped: the first unanswered exercise
        page.locator(f"{jl.NOTEBOOK} .jp-Notebook .jp-Cell").nth(
            stops[0]
        ).scroll_into_view_if_needed()
    screenshot(page, f"{lesson.stem}-{version}")

    nb = nbformat.read(course_root / folder / lesson.name, as_version=4)
    assert len(jl.cells(page)) == len(nb.cells)
    code = [c for c in nb.cells if c.cell_type == "code"]
    not_run = [describe(c) for c in code if c.execution_count is None]
    assert not not_run, f"cells that never ran: {not_run}"
    for cell in code:
        expected, found = expected_error(cell, version), [e.ename for e in errors(cell)]
        if version == "solution" and is_autograder_test(cell):  # stock nbgrader's zero
            assert not stderr(cell), f"{describe(cell)} wrote to stderr: {stderr(cell)}"
        if expected == "always":
            assert found, f"{describe(cell)} should raise but ran without error"
        elif expected == "never":
            assert not found, f"{describe(cell)} raised {found[0]}: {errors(cell)[0].evalue}"
        else:
            assert set(found) <= {expected}, f"{describe(cell)} raised {found[0]}"
    if version == "solution":
        assert stops == [], f"Run All stopped at {[describe(nb.cells[i]) for i in stops]}"
    else:  # it stopped only at tests, or at a stub that raises where it stands
        unanswered = [i for i in stops if not is_autograder_test(nb.cells[i])]
        assert all(nbgrader_meta(nb.cells[i]).get("solution") for i in unanswered), [
            describe(nb.cells[i]) for i in unanswered
        ]

    # Plots: each cell that draws one has it; each image is loaded and fits the notebook.
    pngs = sum("image/png" in o.get("data", {}) for c in code for o in c.outputs)
    for cell in code:
        if DRAWS.search(cell.source) and not errors(cell) and not nbgrader_meta(cell):
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), (
                f"{describe(cell)} drew no plot"
            )
    shown = jl.images(page)
    assert len(shown) == pngs > 0
    for k, image in enumerate(shown):
        assert image["loaded"], f"image {k} of {lesson.name} did not load"
        assert image["shown"] <= image["room"] + 1, f"image {k} is wider than the notebook"
    for cell, box in zip(nb.cells, jl.layout(page), strict=True):  # what reads badly
        if box["outputs"] > jl.VIEWPORT["height"] - 150:
            layout_notes.append(
                f"{lesson.stem} ({version}): {describe(cell)}: outputs {box['outputs']} px tall"
            )
        if box["overflow"] > 0:
            layout_notes.append(
                f"{lesson.stem} ({version}): {describe(cell)}: code {box['overflow']} px wider "
                "than the cell"
            )
    if version == "solution":  # each plot as it looks on the screen
        for k, img in enumerate(page.locator(f"{jl.NOTEBOOK} .jp-OutputArea-output img").all()):
            img.scroll_into_view_if_needed()
            screenshot(page, f"{lesson.stem}-plot{k:02d}")


# --- the nbgrader extension: Validate, formgrader, what is installed ------------------------


def validate(page):
    page.locator("jp-button.validate-button").click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.locator(".validation-success, .validation-failed").wait_for(timeout=jl.LONG)
    return dialog


def test_validate_button_passes_the_solutions(page, lab):
    lesson = LESSONS[0]
    jl.open_lab(page, lab, "lessons/solution")
    jl.open_notebook(page, lesson.name)
    dialog = validate(page)
    assert "Success! Your notebook passes all the tests." in dialog.inner_text()


def test_validate_button_reports_the_failing_test_of_a_blank_notebook(page, lab):
    """nbgrader's Validate stops at the first failing test (`Validator.validate_all` is off)."""
    lesson = LESSONS[0]
    first_test = next(c for c in nbformat.read(lesson, as_version=4).cells if is_autograder_test(c))
    jl.open_lab(page, lab, "lessons/student")
    jl.open_notebook(page, lesson.name)
    dialog = validate(page)
    text = dialog.inner_text()
    assert dialog.locator(".validation-failed").is_visible()
    assert "The following cell failed" in text
    assert first_test.source.splitlines()[0] in text
    assert "NotImplementedError" in text
    screenshot(page, "validate-blank")


@pytest.fixture(scope="session")
def graded_course(course_root):
    """The demo's samples for lesson 00, two of them (ada: every answer; dee: none), graded."""
    demo.add_samples(course_root)
    for student in ("ben", "cy"):
        shutil.rmtree(course_root / "submitted" / student)
    grade_course(course_root, jobs=1)  # one grading process: less CPU for the suite
    return course_root


def test_formgrader_lists_the_submissions_and_saves_a_hand_grade(page, lab, graded_course):
    lesson = LESSONS[0]
    aid = course.assignment_id(lesson)
    written = next(c for c in nbformat.read(lesson, as_version=4).cells if is_manual_answer(c))
    gid, points = nbgrader_meta(written)["grade_id"], nbgrader_meta(written)["points"]

    jl.open_lab(page, lab)
    jl.menu(page, "Nbgrader", "Formgrader")
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current")
    assert tab.inner_text().strip() == "Formgrader"
    frame = page.frame_locator("#jp-main-dock-panel iframe").first
    # Manage Assignments: one per lesson, and lesson 00's two submissions.
    frame.locator("td.name", has_text=aid).wait_for()
    names = frame.locator("td.name").all_inner_texts()
    assert [n.strip() for n in names] == [course.assignment_id(x) for x in LESSONS]
    row = frame.locator("tr", has=frame.locator("td.name", has_text=aid))
    assert row.locator("td.num-submissions").inner_text().strip() == "2"
    row.locator("td.num-submissions a").click()
    frame.locator("td.student-name").first.wait_for()
    assert sorted(t.strip() for t in frame.locator("td.student-id").all_inner_texts()) == [
        "ada",
        "dee",
    ]
    # Manual Grading > lesson00 > the notebook > the first submission.
    frame.get_by_role("link", name="Manual Grading").click()
    frame.locator("a", has_text=aid).first.click()
    frame.locator("a", has_text=lesson.stem).first.click()
    submissions = frame.locator("a", has_text="Submission #")
    submissions.first.wait_for()
    assert submissions.count() == 2
    submissions.first.click()
    score = frame.locator(f"input.score#{gid}")
    score.wait_for()
    screenshot(page, "formgrader-grading")
    with page.expect_response(
        lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT"
    ) as saved:
        score.fill(f"{points:g}")
        score.press("Tab")  # the score is saved when the field changes
    assert saved.value.ok

    submission_id = next(
        f.url.split("/formgrader/submissions/")[1].split("/")[0]
        for f in page.frames
        if "/formgrader/submissions/" in f.url
    )
    with Gradebook(f"sqlite:///{graded_course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook_by_id(submission_id)
        grade = gradebook.find_grade(gid, lesson.stem, aid, notebook.student.id)
        assert grade.manual_score == points
        assert notebook.written_score == points


def test_nbgrader_extensions_are_enabled_and_none_is_broken(lab):
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(lab.home / "config")}  # as the server's
    lines = {}
    for kind in ("labextension", "server"):
        args = (
            ["labextension", "list"] if kind == "labextension" else ["server", "extension", "list"]
        )
        result = subprocess.run(
            [sys.executable, "-m", "jupyter", *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        lines[kind] = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr).splitlines()
    labextensions = [
        line.split()
        for line in lines["labextension"]
        if re.match(r"\s+\S+ v\S+ (en|dis)abled", line)
    ]
    assert ["@jupyter/nbgrader", "enabled", "OK"] in [[x[0], x[2], x[3]] for x in labextensions]
    broken = [x for x in labextensions if x[3] != "OK"]
    assert not broken, f"broken JupyterLab extensions: {broken}"
    server = "\n".join(lines["server"])
    for name in ("formgrader", "validate_assignment", "assignment_list", "course_list"):
        assert re.search(rf"nbgrader\.server_extensions\.{name} enabled", server), name
        assert re.search(rf"nbgrader\.server_extensions\.{name}\s+OK", server), name


def test_jupyterlabs_kernels_are_forked_from_its_preloaded_process(lab):
    # The server runs with `autograde lab`'s options (autograde/preloaded.py): its server
    # extension started the preloaded process; the default kernel is forked from it.
    preloaded = [
        pid
        for pid in jl.children(lab.process.pid)
        if b"autograde.preloaded_server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(preloaded) == 1, "JupyterLab did not start its preloaded process"
    before = set(jl.children(preloaded[0]))
    kernel = lab.api("POST", "api/kernels")  # the default kernel, Python 3 (ipykernel)
    try:
        forked = set(jl.children(preloaded[0])) - before
        assert len(forked) == 1, "the kernel was not forked from the preloaded process"
    finally:
        lab.api("DELETE", f"api/kernels/{kernel['id']}")
    assert not set(jl.children(preloaded[0])) & forked, "the kernel outlived its shutdown"


# --- self-study: the learner's copy in JupyterLab -----------------------------------------


def test_self_study_in_jupyterlab(page, lab, course_root, capsys):
    """`autograde study`, then in JupyterLab: no answers shown; write one (the revealed
    reference solution) in its cell, Run All, save; progress says it passes; `autograde
    study` again keeps the work."""
    lesson = LESSONS[0]
    folder = course_root / "study"
    assert main(["study", str(folder)]) == 0
    copy = folder / lesson.name
    nb = nbformat.read(copy, as_version=4)
    first = next(e for e in study.exercises(nb) if e.tests)
    ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells]
    index, test_index = ids.index(first.solutions[0]), ids.index(first.tests[0])

    jl.open_lab(page, lab, "study")
    shown = jl.listing(page)
    assert {lesson.name for lesson in LESSONS} | {"README.md", "claims.md"} == set(shown)
    jl.open_notebook(page, lesson.name)
    text = page.locator(jl.NOTEBOOK).inner_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    cell = page.locator(f"{jl.NOTEBOOK} .jp-Notebook .jp-Cell").nth(index)
    assert "raise NotImplementedError()" in cell.inner_text()

    capsys.readouterr()
    assert main(["reveal", lesson.name[:2], first.name, "--dir", str(folder)]) == 0
    solution = capsys.readouterr().out
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(solution)
    _, stops = jl.run_all_the_way(page)
    jl.save(page)
    page.locator(f"{jl.NOTEBOOK} .jp-Notebook .jp-Cell").nth(
        test_index
    ).scroll_into_view_if_needed()
    screenshot(page, "study-after-one-answer")

    nb = nbformat.read(copy, as_version=4)
    assert nb.cells[index].source.strip() == solution.strip()
    test = nb.cells[test_index]
    assert not errors(test), f"{describe(test)}: {errors(test)[0].evalue}"
    assert stops and test_index not in stops  # it stopped at the tests not answered yet

    assert main(["study", str(folder), "--progress"]) == 0
    out = capsys.readouterr().out
    section = out.split(f"\n{lesson.stem}\n")[1].split("\n\n")[0]
    assert re.search(rf"^  {first.name} .* pass  \(solution revealed\)$", section, re.M), section
    assert "not started" in section

    work = copy.read_bytes()
    assert main(["study", str(folder)]) == 0
    assert f"kept  {lesson.name} (yours, not overwritten)" in capsys.readouterr().out
    assert copy.read_bytes() == work
    assert json.loads((folder / ".course" / "revealed.json").read_text()) == {
        lesson.stem: [first.number]
    }
