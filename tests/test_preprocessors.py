"""autograde's nbgrader preprocessors on small fixture notebooks, as nbgrader tests its own."""

from nbformat.v4 import new_code_cell, new_notebook, new_output

from autograde.outcome import METADATA_KEY
from autograde.preprocessors import ExplainFailures, HideHiddenTests, LimitOutputBytes

TEST = {"nbgrader": {"grade": True, "solution": False, "grade_id": "test_double", "points": 2}}
HIDDEN = """\
assert double(1) == 2
### BEGIN HIDDEN TESTS
assert double(-4) == -8, "negative numbers"
### END HIDDEN TESTS
print("done")"""


def test_hidden_tests_code_and_traceback_are_hidden_but_the_result_stays():
    cell = new_code_cell(HIDDEN, metadata=TEST)
    cell.outputs = [
        new_output(
            "error",
            ename="AssertionError",
            evalue="negative numbers",
            traceback=["----> 3 assert double(-4) == -8", "AssertionError: negative numbers"],
        )
    ]
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[cell]), {})
    (cell,) = nb.cells
    assert cell.source == 'assert double(1) == 2\n# (hidden tests: not shown)\nprint("done")'
    assert cell.outputs[0].traceback == ["AssertionError: negative numbers"]
    assert cell.outputs[0].ename == "AssertionError"  # still a failure: the score stands


def test_hidden_tests_shown_when_the_instructor_wants():
    cell = new_code_cell(HIDDEN, metadata=TEST)
    nb, _ = HideHiddenTests(enabled=False)(new_notebook(cells=[cell]), {})
    assert nb.cells[0].source == HIDDEN


def test_a_student_cell_that_mentions_the_marker_is_left_alone():
    cell = new_code_cell("# BEGIN HIDDEN TESTS\nx = 1\n# END HIDDEN TESTS", metadata={})
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[cell]), {})
    assert "x = 1" in nb.cells[0].source


def test_one_long_line_is_cut_in_bytes():
    cell = new_code_cell("print('x' * 10**7)")
    cell.outputs = [new_output("stream", name="stdout", text="x" * 10**7)]
    nb, _ = LimitOutputBytes(max_bytes=1000).preprocess(new_notebook(cells=[cell]), {})
    text = nb.cells[0].outputs[0].text
    assert len(text.encode()) < 1100 and text.startswith("x" * 1000)
    assert "Output truncated: more than 1000 bytes" in text


def test_an_error_is_kept_when_outputs_are_cut():
    cell = new_code_cell("boom")
    cell.outputs = [
        new_output("stream", name="stdout", text="y" * 5000),
        new_output("display_data", data={"image/png": "A" * 5000}),
        new_output("error", ename="ValueError", evalue="z" * 5000, traceback=["t" * 5000]),
    ]
    nb, _ = LimitOutputBytes(max_bytes=1000).preprocess(new_notebook(cells=[cell]), {})
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["stream", "display_data", "error"]
    assert "image/png" not in outputs[1].data
    assert outputs[2].ename == "ValueError"


def test_outputs_within_the_limit_are_untouched():
    cell = new_code_cell("print(1)")
    cell.outputs = [new_output("stream", name="stdout", text="1\n")]
    nb, _ = LimitOutputBytes(max_bytes=1000).preprocess(new_notebook(cells=[cell]), {})
    assert nb.cells[0].outputs[0].text == "1\n"


def test_feedback_graded_outside_the_sandbox_says_so_at_the_top():
    nb = new_notebook(cells=[new_code_cell("1")], metadata={METADATA_KEY: {"sandboxed": False}})
    nb, _ = ExplainFailures().preprocess(nb, {})
    assert nb.cells[0].cell_type == "markdown"
    assert "Graded without a sandbox" in nb.cells[0].source
    sandboxed = new_notebook(
        cells=[new_code_cell("1")], metadata={METADATA_KEY: {"sandboxed": True}}
    )
    nb, _ = ExplainFailures().preprocess(sandboxed, {})
    assert len(nb.cells) == 1


def test_feedback_exporters_of_one_process_compile_the_templates_once(monkeypatch):
    from jinja2 import Environment
    from nbconvert.exporters import HTMLExporter

    from autograde.feedback_exporter import FeedbackExporter

    nb = new_notebook(cells=[new_code_cell("double(2)", metadata=TEST)])
    compiled = []
    compile_template = Environment.compile

    def counted(self, *args, **kwargs):
        compiled.append(args[1] if len(args) > 1 else kwargs.get("name"))
        return compile_template(self, *args, **kwargs)

    monkeypatch.setattr(Environment, "compile", counted)
    stock, _ = HTMLExporter().from_notebook_node(nb)
    assert compiled, "nbconvert's own exporter compiles its templates"
    first, _ = FeedbackExporter().from_notebook_node(nb)
    compiled.clear()
    second, _ = FeedbackExporter().from_notebook_node(nb)  # as nbgrader's next submission
    assert compiled == []
    assert second == first == stock  # the same page
