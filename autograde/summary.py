"""What an instructor sees of a grading run: a progress line per submission, then the summary."""

from pathlib import Path

from .sandbox.kernel_manager import UNSANDBOXED


def progress_line(count, total, outcome):
    """`[#####     ] 3/12 graded: ada / lesson00`."""
    bar = "#" * (20 * count // total)
    return f"[{bar:<20}] {count}/{total} graded: {outcome.student} / {outcome.assignment}"


def print_progress(count, total, outcome):
    print(progress_line(count, total, outcome), flush=True)


def print_summary(root, outcomes, sandboxed=True):
    """Each submission's score and what kept it from being complete; where to find the rest."""
    root = Path(root).resolve()
    print("\nSummary")
    if not sandboxed:
        print(f"  !!! {UNSANDBOXED}")
    if not outcomes:
        print(f"  no submissions found under {root / 'submitted'}")
    for outcome in outcomes:
        print("  " + outcome.line())
    print(f"\ngrades:   {root / 'grades.csv'}")
    print(f"feedback: {root / 'feedback'}/<student>/<assignment>/*.html")
    if not sandboxed:
        print(f"!!! {UNSANDBOXED}")
