"""What an instructor sees of a grading run: a progress bar while grading, then the summary.

Both are drawn with `rich`. In a terminal, the bar counts the submissions done by what
became of them (complete, timed out, kernel died, ...) and estimates the time left; where
output is not a terminal (a pipe, a log file, CI), one plain line per submission instead.
The summary is a table: student, assignment, score, and what kept the submission from
being graded fully (`Outcome.reasons`).
"""

from collections import Counter
from pathlib import Path

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .outcome import CONSEQUENCES
from .sandbox.kernel_manager import UNSANDBOXED

COMPLETE = "complete"  # the count of submissions graded with nothing to report


def console():
    """A console on stdout that never reads student ids as markup; unwrapped when not a terminal."""
    plain = Console(markup=False, highlight=False, emoji=False)
    if plain.is_terminal:
        return plain
    # A pipe or a file: each table row on one line, whatever its length, for grep.
    return Console(markup=False, highlight=False, emoji=False, width=100_000)


def kind_of(outcome):
    """What became of a submission, in a word or two: `complete`, or its first failure's kind."""
    shown = [f for f in outcome.failures if f.kind not in CONSEQUENCES]
    return shown[0].kind.value if shown else COMPLETE


def counts_text(counts):
    """`complete 9 · timed out 2 · kernel died 1`: complete first, then the most frequent."""
    order = sorted(counts, key=lambda kind: (kind != COMPLETE, -counts[kind], kind))
    return " · ".join(f"{kind} {counts[kind]}" for kind in order)


def progress_line(count, total, outcome):
    """`[#####               ] 3/12 graded: ada / lesson00`, and what went wrong if anything."""
    bar = "#" * (20 * count // total)
    kind = kind_of(outcome)
    note = "" if kind == COMPLETE else f" ({kind})"
    return f"[{bar:<20}] {count}/{total} graded: {outcome.student} / {outcome.assignment}{note}"


class GradingProgress:
    """The `progress(count, total, outcome)` callback of `grade_course`, as a context manager.

    `grade_course` calls it once with `outcome=None` before the first submission is done
    (so that the bar shows from the start), then once per submission.
    """

    def __init__(self, out=None):
        self.console = out or console()
        self.counts = Counter()
        self._bar = self._task = None

    def __enter__(self):
        if self.console.is_terminal:
            self._bar = Progress(
                TextColumn("grading"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TextColumn("elapsed"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._bar.start()
        return self

    def __call__(self, count, total, outcome):
        if outcome is not None:
            self.counts[kind_of(outcome)] += 1
        if self._bar is None:
            if outcome is not None:
                print(progress_line(count, total, outcome), flush=True)
            return
        if self._task is None:
            self._task = self._bar.add_task("grading", total=total, counts="")
        self._bar.update(self._task, completed=count, counts=counts_text(self.counts))

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.stop()
        return False


def summary_table(outcomes):
    """One row per submission: student, assignment, score, what went wrong."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    table.add_column("student", overflow="fold")
    table.add_column("assignment")
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("what went wrong", overflow="fold")
    for outcome in outcomes:
        score = (
            "not graded" if outcome.score is None else f"{outcome.score:g} / {outcome.max_score:g}"
        )
        style = "yellow" if outcome.reasons else None
        table.add_row(
            outcome.student, outcome.assignment, score, "; ".join(outcome.reasons), style=style
        )
    return table


def print_summary(root, outcomes, sandboxed=True, gradebook=None, out=None):
    """Each submission's score and what kept it from being complete; where to find the rest.

    `gradebook` is the URL as it may be shown (its password masked: `config.masked`).
    """
    out = out or console()
    root = Path(root).resolve()
    out.print("\nSummary", soft_wrap=True)
    if not sandboxed:
        out.print(f"  !!! {UNSANDBOXED}", style="bold red", soft_wrap=True)
    if not outcomes:
        out.print(f"  no submissions found under {root / 'submitted'}", soft_wrap=True)
    else:
        out.print(Padding(summary_table(outcomes), (0, 0, 0, 2), expand=False))
        counts = Counter(kind_of(outcome) for outcome in outcomes)
        submissions = "1 submission" if len(outcomes) == 1 else f"{len(outcomes)} submissions"
        out.print(f"\n{submissions}: {counts_text(counts)}", soft_wrap=True)
    out.print(f"\ngrades:   {root / 'grades.csv'}", soft_wrap=True)
    out.print(f"feedback: {root / 'feedback'}/<student>/<assignment>/*.html", soft_wrap=True)
    if gradebook:
        out.print(f"gradebook: {gradebook}", soft_wrap=True)
    if not sandboxed:
        out.print(f"!!! {UNSANDBOXED}", style="bold red", soft_wrap=True)
