"""What grading one submission gave: its score and, as typed records, why it is incomplete.

A `Failure` is written where the failure is seen (the intake check, `LimitedExecute`
in a cell's metadata, the worker around nbgrader) and turned into words only at the
edge: `Failure.sentence()` for the summary, `Failure.feedback()` for the box in a
student's feedback page. Nothing reads a reason back out of text.
"""

import enum
from dataclasses import asdict, dataclass, field

METADATA_KEY = "autograde"  # cell.metadata["autograde"]["failure"] holds a Failure's dict


class Kind(enum.Enum):
    """Why a submission, or one of its cells, could not be graded as written."""

    TIMED_OUT = "timed out"  # a cell ran past its time, or the notebook past its budget
    KERNEL_DIED = "kernel died"  # out of memory, or the code ended the process
    KERNEL_UNRESPONSIVE = "kernel unresponsive"  # stopped answering the grader's requests
    TAMPERED = "checker tampered with"  # student code replaced what the tests rely on
    NOT_RUN = "not run"  # a cell after one of the above
    MISSING_NOTEBOOK = "missing notebook"
    NOT_A_NOTEBOOK = "not a notebook"
    UNKNOWN_ASSIGNMENT = "unknown assignment"
    SANDBOX_REFUSED = "sandbox refused"  # no sandbox could be started for the kernel
    NBGRADER_ERROR = "nbgrader error"  # nbgrader raised while autograding the submission
    NO_FEEDBACK = "no feedback"  # autograded, but the feedback page could not be written
    STOPPED_BY_FORCE = "stopped by force"  # the worker was killed past the hard limit
    GRADER_ERROR = "grader error"  # the grader itself, not the submission, went wrong


# Failures that are the consequence of another, already reported: not repeated in the summary.
CONSEQUENCES = {Kind.NOT_RUN}


@dataclass(frozen=True)
class Failure:
    """One failure: its kind, the cell (grade id) or notebook concerned, and its particulars.

    `names` lists what the failure is about (what code replaced, which notebooks were
    found instead); `detail` is a short fact for people (an exception's type and
    message, a number of seconds), shown as it is and never parsed.
    """

    kind: Kind
    cell: str | None = None
    notebook: str | None = None
    names: tuple[str, ...] = ()
    detail: str = ""

    def to_dict(self):
        return {**asdict(self), "kind": self.kind.name, "names": list(self.names)}

    @classmethod
    def from_dict(cls, data):
        return cls(**{**data, "kind": Kind[data["kind"]], "names": tuple(data.get("names", ()))})

    def sentence(self):
        """The failure in one line of the instructor's summary."""
        where = self.cell or "a cell"
        if self.kind is Kind.TIMED_OUT:
            return f"{where} ran out of time"
        if self.kind is Kind.KERNEL_DIED:
            return f"the kernel died in {where} (out of memory, or exited)"
        if self.kind is Kind.KERNEL_UNRESPONSIVE:
            return f"the kernel stopped answering the grader in {where}"
        if self.kind is Kind.TAMPERED:
            return f"{where} was not run: the notebook replaced {', '.join(self.names)}"
        if self.kind is Kind.NOT_RUN:
            return f"{where} was not run: {self.detail}"
        if self.kind is Kind.MISSING_NOTEBOOK:
            found = (
                f"found: {', '.join(self.names)}" if self.names else "the folder has no notebook"
            )
            return f"{self.notebook} is missing ({found}); rename or re-collect it"
        if self.kind is Kind.NOT_A_NOTEBOOK:
            return f"{self.notebook} is not a readable notebook ({self.detail})"
        if self.kind is Kind.UNKNOWN_ASSIGNMENT:
            return f"there is no assignment called {self.detail!r}"
        if self.kind is Kind.SANDBOX_REFUSED:
            return f"no sandbox could be started for the kernel: {self.detail}"
        if self.kind is Kind.NBGRADER_ERROR:
            return f"nbgrader could not autograde it: {self.detail}"
        if self.kind is Kind.NO_FEEDBACK:
            return "the feedback page could not be written"
        if self.kind is Kind.STOPPED_BY_FORCE:
            return f"grading was stopped by force after {self.detail} s"
        return f"the grader failed on this submission: {self.detail}"

    def feedback(self):
        """The failure as the student reads it, in the box above the cell's output."""
        if self.kind is Kind.TIMED_OUT:
            return [
                f"This cell ran out of time ({self.detail} s)."
                if self.detail
                else "This cell ran out of time."
            ]
        if self.kind is Kind.KERNEL_DIED:
            return [
                "The kernel died while running this cell: it ran out of memory, or the code "
                "ended the Python process (os._exit, a kill signal)."
            ]
        if self.kind is Kind.KERNEL_UNRESPONSIVE:
            return ["The kernel stopped answering the grader, so this cell could not be run."]
        if self.kind is Kind.TAMPERED:
            return [
                "This test was not run: code in the notebook replaced "
                + ", ".join(self.names)
                + ", which the tests rely on. Remove that code and submit again."
            ]
        if self.kind is Kind.NOT_RUN:
            return [f"This cell was not run: {self.detail}."]
        return [self.sentence()[0].upper() + self.sentence()[1:] + "."]


def failure_of(cell):
    """The Failure recorded in a cell's metadata, or None."""
    data = cell.get("metadata", {}).get(METADATA_KEY, {}).get("failure")
    return Failure.from_dict(data) if data else None


def record_failure(cell, failure):
    """Write `failure` into the cell's metadata, where the summary and the feedback read it."""
    cell.metadata.setdefault(METADATA_KEY, {})["failure"] = failure.to_dict()


@dataclass
class Outcome:
    """One graded submission: the score nbgrader recorded and what kept it from being complete."""

    student: str
    assignment: str
    score: float | None = None
    max_score: float | None = None
    failures: list[Failure] = field(default_factory=list)

    @property
    def reasons(self):
        """The failures worth an instructor's attention, in words."""
        return [f.sentence() for f in self.failures if f.kind not in CONSEQUENCES]

    @property
    def kinds(self):
        return {f.kind for f in self.failures}

    def line(self):
        score = "not graded" if self.score is None else f"{self.score:g} / {self.max_score:g}"
        note = f"  -- {'; '.join(self.reasons)}" if self.reasons else ""
        return f"{self.student:<16} {self.assignment:<10} {score:>12}{note}"
