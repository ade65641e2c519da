"""What the instructor sees: the progress bar (or plain lines) while grading, the summary table after."""

import io

from rich.console import Console

from autograde import summary
from autograde.outcome import Failure, Kind, Outcome

OUTCOMES = [
    Outcome("ada", "lesson00", 5, 5),
    Outcome("[bold]ben", "lesson00", 3, 5, failures=[Failure(Kind.TIMED_OUT, cell="double")]),
    Outcome(
        "cy",
        "lesson01",
        failures=[Failure(Kind.MISSING_NOTEBOOK, notebook="01_x.ipynb", names=("mine.ipynb",))],
    ),
    Outcome(
        "dee",
        "lesson00",
        0,
        5,
        failures=[
            Failure(Kind.KERNEL_DIED, cell="double"),
            Failure(Kind.NOT_RUN, cell="test_double", detail="the kernel died"),
        ],
    ),
]


def terminal(width=100):
    return Console(
        file=io.StringIO(), force_terminal=True, width=width, markup=False, color_system=None
    )


def rows(text):
    """The summary's table rows, split in cells on runs of 2+ spaces."""
    import re

    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def test_the_summary_has_a_row_per_submission_with_score_and_what_went_wrong(capsys):
    summary.print_summary("/course", OUTCOMES)
    out = capsys.readouterr().out
    table = rows(out)
    assert ["student", "assignment", "score", "what went wrong"] in table
    assert ["ada", "lesson00", "5 / 5"] in table
    # A student id is shown as it is, never read as rich markup.
    assert ["[bold]ben", "lesson00", "3 / 5", "double ran out of time"] in table
    assert [
        "cy",
        "lesson01",
        "not graded",
        "01_x.ipynb is missing (found: mine.ipynb); rename or re-collect it",
    ] in table
    # A cell left unrun because the kernel died is a consequence, not a second reason.
    assert ["dee", "lesson00", "0 / 5", "the kernel died in double (out of memory, or exited)"] in (
        table
    )
    assert "4 submissions: complete 1 · " in out
    assert "timed out 1" in out and "kernel died 1" in out and "missing notebook 1" in out


def test_a_long_reason_stays_on_its_row_when_output_is_not_a_terminal(capsys):
    reason = "x" * 300
    outcome = Outcome("ada", "lesson00", 0, 5, failures=[Failure(Kind.NOT_A_NOTEBOOK, detail="")])
    outcome.failures = [Failure(Kind.GRADER_ERROR, detail=reason)]
    summary.print_summary("/course", [outcome])
    (line,) = [
        line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("ada")
    ]
    assert line.rstrip().endswith(reason)


def test_in_a_terminal_the_table_fits_the_width():
    out = terminal(width=60)
    outcome = Outcome(
        "ada", "lesson00", 0, 5, failures=[Failure(Kind.GRADER_ERROR, detail="z" * 200)]
    )
    summary.print_summary("/course", [outcome], out=out)
    text = out.file.getvalue()
    assert max(len(line) for line in text.splitlines() if "z" in line) <= 60
    assert text.count("z") == 200  # folded, not cut


def test_the_gradebook_is_named_as_given(capsys):
    summary.print_summary("/course", OUTCOMES[:1], gradebook="postgresql://grader:***@db/course")
    assert "gradebook: postgresql://grader:***@db/course" in capsys.readouterr().out


def test_without_a_terminal_progress_is_one_plain_line_per_submission(capsys):
    with summary.GradingProgress() as progress:
        progress(0, 2, None)
        progress(1, 2, OUTCOMES[0])
        progress(2, 2, OUTCOMES[1])
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "[##########          ] 1/2 graded: ada / lesson00",
        "[####################] 2/2 graded: [bold]ben / lesson00 (timed out)",
    ]


def test_in_a_terminal_the_bar_counts_each_kind_of_outcome_and_estimates_time_left():
    out = terminal(width=150)
    with summary.GradingProgress(out) as progress:
        progress(0, len(OUTCOMES), None)
        for count, outcome in enumerate(OUTCOMES, start=1):
            progress(count, len(OUTCOMES), outcome)
    final = out.file.getvalue().split("\r")[-1]
    assert "4/4" in final
    for words in ("complete 1", "timed out 1", "missing notebook 1", "kernel died 1"):
        assert words in final
    assert "left" in final and "graded:" not in final  # a bar, not the plain lines


def test_counts_put_complete_first_then_the_most_frequent():
    counts = {"timed out": 1, "kernel died": 3, "complete": 2}
    assert summary.counts_text(counts) == "complete 2 · kernel died 3 · timed out 1"
