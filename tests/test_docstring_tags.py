"""Docstring tags that cannot lie: each export names exactly the lessons that use it.

The tag format. Every name in `course_lib.__all__` has, in its own docstring (not
inherited), exactly one line that reads, and only reads, one of

    Taught in lesson 01.
    Taught in lessons 00 and 03.
    Taught in lessons 00, 01 and 03.

Two-digit lesson numbers in increasing order without repeats; "lesson" before one number,
"lessons" before several, the last one joined with " and " (no comma before it); a full
stop at the end. Lesson NN is `notebooks/NN_*.ipynb`. Any other docstring line that says
"taught in" is a malformed tag and fails, and so does a tag on anything that is not
exported (a method, a helper, a class only ever returned by a call): nothing checks those.

What "uses" means. A lesson uses an exported name when a code cell of its source version
(solutions and hidden tests included) refers to it through the library: `cl.NAME` for
whatever alias `import course_lib as cl` binds (`course_lib.NAME` after `import
course_lib`, `cl.plots.NAME` too), or `from course_lib import NAME`. Cells are parsed with
`ast` after IPython turns magics into Python, so a comment, a string or a Markdown cell
does not count; a cell `ast` cannot parse is searched with a regular expression instead.

Methods and attributes (`Trajectory.record`, `Audit.row`) are not exported and carry no
tag: a lesson reaches them through an object it got from a tagged name. `Audit` and
`VariableTrack` are only returned (by `audit()` and `Trajectory.track()`), never named by a
lesson, so they are not exported either.
"""

import ast
import functools
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

import course_lib

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSON_FILES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
LESSONS = [path.name[:2] for path in LESSON_FILES]

TAG = re.compile(r"Taught in (?:lesson (?P<one>\d\d)|lessons (?P<many>\d\d(?:, \d\d)* and \d\d))\.")


class MalformedTag(ValueError):
    """A docstring line that says "taught in" but is not a tag in the one format."""


# The tag: parse and write ---------------------------------------------------------------


def parse_tag(docstring):
    """The lessons a docstring's tag names, as a tuple of 'NN' strings; None if it has no tag."""
    lines = [line.strip() for line in inspect.cleandoc(docstring or "").splitlines()]
    tags = [line for line in lines if "taught in" in line.lower()]
    if not tags:
        return None
    if len(tags) > 1:
        raise MalformedTag(f"{len(tags)} tag lines, expected one: {tags}")
    match = TAG.fullmatch(tags[0])
    if match is None:
        raise MalformedTag(
            f"{tags[0]!r} is not a tag: write 'Taught in lesson 01.' or 'Taught in lessons 00 and 03.'"
        )
    if match["one"]:
        return (match["one"],)
    lessons = tuple(re.findall(r"\d\d", match["many"]))
    if list(lessons) != sorted(set(lessons)):
        raise MalformedTag(f"{tags[0]!r}: lessons must be in increasing order, each once")
    return lessons


def format_tag(lessons):
    """The tag line naming these lessons, in the one format."""
    lessons = sorted(set(lessons))
    if len(lessons) == 1:
        return f"Taught in lesson {lessons[0]}."
    return f"Taught in lessons {', '.join(lessons[:-1])} and {lessons[-1]}."


@pytest.mark.parametrize(
    "docstring, lessons",
    [
        ("Do a thing.\n\n    Taught in lesson 01.\n    ", ("01",)),
        ("Do a thing.\n\nTaught in lessons 00 and 03.", ("00", "03")),
        ("Do a thing.\n\nTaught in lessons 00, 01, 02 and 03.\n", ("00", "01", "02", "03")),
        ("Do a thing.", None),
        (None, None),
    ],
)
def test_tag_parser_reads_the_lessons_a_tag_names(docstring, lessons):
    assert parse_tag(docstring) == lessons


@pytest.mark.parametrize(
    "line",
    [
        "Taught in lesson 00 (hand-written loops), lesson 01 (Keras models and `fit`).",
        "Used by the grader for feedback; taught in lesson 00.",
        "that must move. Taught in lesson 00.",  # the tag shares a line with prose
        "Taught in lessons 01.",  # plural for one lesson
        "Taught in lesson 00 and 01.",  # singular for two
        "Taught in lessons 00, 01.",  # no "and"
        "Taught in lessons 00, 01, and 02.",  # comma before "and"
        "Taught in lessons 03 and 00.",  # not in order
        "Taught in lessons 01 and 01.",  # twice
        "Taught in lesson 1.",  # one digit
        "Taught in lesson 01",  # no full stop
        "taught in lesson 01.",
    ],
)
def test_tag_parser_rejects_a_malformed_tag(line):
    with pytest.raises(MalformedTag):
        parse_tag(f"Do a thing.\n\n{line}\n")


def test_tag_parser_rejects_two_tags():
    with pytest.raises(MalformedTag):
        parse_tag("Do a thing.\n\nTaught in lesson 00.\nTaught in lesson 01.")


@pytest.mark.parametrize("lessons", [("02",), ("00", "03"), ("00", "01", "02", "03")])
def test_a_written_tag_parses_back(lessons):
    assert parse_tag(format_tag(lessons)) == lessons


# Which lessons use which names ----------------------------------------------------------


def _library_aliases(trees):
    """Names bound to course_lib or one of its submodules by `import` statements."""
    aliases = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "course_lib" or alias.name.startswith("course_lib."):
                        aliases.add(alias.asname or "course_lib")
    return aliases


def names_used(sources):
    """The names that these code cells (one notebook's) take from course_lib."""
    trees, unparsed = [], []
    for source in sources:
        try:
            trees.append(ast.parse(TransformerManager().transform_cell(source)))
        except SyntaxError:
            unparsed.append(source)
    aliases = _library_aliases(trees)
    used = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == "course_lib" or node.module.startswith("course_lib."):
                    used.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Attribute):
                owner = node.value
                if isinstance(owner, ast.Attribute):  # cl.plots.show
                    owner = owner.value
                if isinstance(owner, ast.Name) and owner.id in aliases:
                    used.add(node.attr)
    if unparsed and aliases:
        pattern = re.compile(rf"\b(?:{'|'.join(map(re.escape, sorted(aliases)))})\.(?:\w+\.)?(\w+)")
        for source in unparsed:
            used.update(pattern.findall(source))
    return used


def code_cells(path):
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@functools.cache
def uses_by_lesson():
    """{lesson number: exported names its code cells use}."""
    exported = set(course_lib.__all__)
    return {path.name[:2]: names_used(code_cells(path)) & exported for path in LESSON_FILES}


def lessons_using(name):
    return tuple(lesson for lesson, used in uses_by_lesson().items() if name in used)


def test_usage_finder_counts_references_through_the_library_only():
    cells = [
        "%matplotlib inline\nimport course_lib as cl\nimport numpy as np",
        "record = cl.Trajectory(model)  # then cl.problems(record) in a comment",
        "print('cl.plot_trajectory is only a string here')",
        "from course_lib import audit as take_stock\ntake_stock(model)",
        "import course_lib\ncourse_lib.assert_frozen(record, ['a'])",
        "cl.plots.show(record)",
        "other.check_trajectory(record)\nnp.assert_trained = 1",
    ]
    used = names_used(cells)
    assert used >= {"Trajectory", "audit", "assert_frozen", "show"}
    assert not used & {"problems", "plot_trajectory", "check_trajectory", "assert_trained"}


def test_usage_finder_reads_a_cell_ast_cannot_parse_with_a_regex():
    cells = ["import course_lib as cl", "cl.assert_frozen(record, ['a']) this is not Python"]
    assert "assert_frozen" in names_used(cells)


def test_usage_finder_ignores_markdown_cells(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import course_lib as cl"),
        nbformat.v4.new_markdown_cell("Call `cl.check_trajectory(record)` at the end."),
    ]
    path = tmp_path / "99_example.ipynb"
    nbformat.write(nb, path)
    assert "check_trajectory" not in names_used(code_cells(path))


@pytest.mark.parametrize("path", LESSON_FILES, ids=LESSONS)
def test_every_lesson_imports_course_lib_as_cl_and_uses_it(path):
    # Guards the finder: a lesson in which it finds nothing would make every tag "wrong".
    assert "cl" in _library_aliases(
        ast.parse(TransformerManager().transform_cell(s)) for s in code_cells(path)
    )
    assert uses_by_lesson()[path.name[:2]], f"{path.name} uses nothing from course_lib"


# The tags of the real library -----------------------------------------------------------


def tag_errors(name, tagged, used):
    """Sentences for every way the tag `tagged` of `name` disagrees with the lessons `used`."""
    if not used:
        return [
            f"{name} is exported but no lesson uses it: remove it from course_lib.__all__"
            " (or use it in a lesson)"
        ]
    errors = []
    if tagged is None:
        errors.append(f"{name}'s docstring has no tag")
    else:
        if extra := sorted(set(tagged) - set(used)):
            errors.append(f"{name}'s tag names lesson(s) {', '.join(extra)}, which do not use it")
        if missing := sorted(set(used) - set(tagged)):
            errors.append(
                f"lesson(s) {', '.join(missing)} use {name} but its tag does not name them"
            )
    if errors:
        errors.append(f"the tag should read {format_tag(used)!r}")
    return errors


def test_a_tag_naming_the_wrong_lesson_is_reported():
    errors = tag_errors("show", ("00",), ("02", "03"))
    assert "show's tag names lesson(s) 00, which do not use it" in errors
    assert "lesson(s) 02, 03 use show but its tag does not name them" in errors
    assert errors[-1] == "the tag should read 'Taught in lessons 02 and 03.'"


def test_a_missing_tag_and_an_unused_export_are_reported():
    assert "audit's docstring has no tag" in tag_errors("audit", None, ("01",))
    assert "save_png is exported but no lesson uses it" in tag_errors("save_png", ("00",), ())[0]
    assert tag_errors("audit", ("01",), ("01",)) == []


def tag_of(name):
    """The lessons named by the tag of course_lib.NAME's own docstring; fails naming `name`."""
    try:
        return parse_tag(getattr(course_lib, name).__doc__)
    except MalformedTag as error:
        pytest.fail(f"{name}: {error}")


@pytest.mark.parametrize("name", course_lib.__all__)
def test_every_export_has_a_tag(name):
    assert tag_of(name) is not None, f"{name}'s docstring has no lesson tag"


@pytest.mark.parametrize("name", course_lib.__all__)
def test_tag_names_exactly_the_lessons_that_use_the_export(name):
    errors = tag_errors(name, tag_of(name), lessons_using(name))
    assert not errors, "; ".join(errors)


def _documented_objects(module):
    """(qualified name, object) for every function and class `module` defines, and their members."""
    for value in vars(module).values():
        if not (inspect.isfunction(value) or inspect.isclass(value)):
            continue
        if value.__module__ != module.__name__:
            continue
        yield value.__qualname__, value
        if inspect.isclass(value):
            for member_name, member in vars(value).items():
                if isinstance(member, property):
                    member = member.fget
                if inspect.isfunction(member):
                    yield f"{value.__qualname__}.{member_name}", member


def test_only_exports_carry_a_tag():
    exported = {id(getattr(course_lib, name)) for name in course_lib.__all__}
    modules = [
        importlib.import_module(f"course_lib.{info.name}")
        for info in pkgutil.iter_modules(course_lib.__path__)
        if not info.ispkg
    ]
    assert len(modules) >= 4, "course_lib's modules were not found"
    unchecked = [
        f"{module.__name__}.{qualname}"
        for module in modules
        for qualname, value in _documented_objects(module)
        if id(value) not in exported and parse_tag(value.__doc__) is not None
    ]
    assert not unchecked, f"tags that no test checks (not exported): {unchecked}"
