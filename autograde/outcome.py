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
    SYMLINK = "symbolic link"  # refused: nbgrader's copy would follow it out of the submission
    TOO_LARGE = "too large"  # refused: more bytes or cells than the course grades
    SANDBOX_REFUSED = "sandbox refused"  # no sandbox could be started for the kernel
    NBGRADER_ERROR = "nbgrader error"  # nbgrader raised while autograding the submission
    NO_FEEDBACK = "no feedback"  # autograded, but the feedback page could not be written
    STOPPED_BY_FORCE = "stopped by force"  # the worker was killed past the hard limit
    GRADER_ERROR = "grader error"  # the grader itself, not the submission, went wrong


# Failures that are the consequence of another, already reported: not repeated in the summary.
CONSEQUENCES = {Kind.NOT_RUN}
# Failures found at intake for which nbgrader is not run at all.
REFUSED = {Kind.SYMLINK, Kind.TOO_LARGE}


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
        found = f"found: {', '.join(self.names)}" if self.names else "the folder has no notebook"
        return SENTENCES[self.kind].format(
            cell=self.cell or "a cell",
            notebook=self.notebook,
            names=", ".join(self.names),
            detail=self.detail,
            found=found,
        )

    def feedback(self):
        """The failure as the student reads it, in the box above the cell's output."""
        if self.kind in FEEDBACK:
            return [FEEDBACK[self.kind].format(names=", ".join(self.names), detail=self.detail)]
        sentence = self.sentence()
        return [sentence[0].upper() + sentence[1:] + "."]


# What the instructor's summary says of each kind (fields of the Failure, `found` derived).
SENTENCES = {
    Kind.TIMED_OUT: "{cell} ran out of time",
    Kind.KERNEL_DIED: "the kernel died in {cell} (out of memory, or exited)",
    Kind.KERNEL_UNRESPONSIVE: "the kernel stopped answering the grader in {cell}",
    Kind.TAMPERED: "{cell} was not run: the notebook replaced {names}",
    Kind.NOT_RUN: "{cell} was not run: {detail}",
    Kind.MISSING_NOTEBOOK: "{notebook} is missing ({found}); rename or re-collect it",
    Kind.NOT_A_NOTEBOOK: "{notebook} is not a readable notebook ({detail})",
    Kind.UNKNOWN_ASSIGNMENT: "there is no assignment called '{detail}'",
    Kind.SYMLINK: "not graded: {names} is a symbolic link (links are not followed; "
    "collect the file itself)",
    Kind.TOO_LARGE: "not graded: {detail}",
    Kind.SANDBOX_REFUSED: "no sandbox could be started for the kernel: {detail}",
    Kind.NBGRADER_ERROR: "nbgrader could not autograde it: {detail}",
    Kind.NO_FEEDBACK: "the feedback page could not be written",
    Kind.STOPPED_BY_FORCE: "grading was stopped by force after {detail} s",
    Kind.GRADER_ERROR: "the grader failed on this submission: {detail}",
}
# What the feedback box says of a kind that concerns one cell, to the student.
FEEDBACK = {
    Kind.TIMED_OUT: "This cell ran out of time ({detail} s).",
    Kind.KERNEL_DIED: "The kernel died while running this cell: it ran out of memory, or the "
    "code ended the Python process (os._exit, a kill signal).",
    Kind.KERNEL_UNRESPONSIVE: "The kernel stopped answering the grader, so this cell could "
    "not be run.",
    Kind.TAMPERED: "This test was not run: code in the notebook replaced {names}, which the "
    "tests rely on. Remove that code and submit again.",
    Kind.NOT_RUN: "This cell was not run: {detail}.",
}


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
