"""Checks for tests and self-checks, with messages a student can act on.

Each check raises AssertionError with a sentence naming the variable, what it
should have done, and what it did: one line per variable, which the grader's
feedback shows as a list. `problems()` returns the same sentences as a
list, for feedback that reports every mistake at once.
"""

import numpy as np


def _as_names(names):
    return [names] if isinstance(names, str) else list(names)


def problems(trajectory, frozen=(), trained=()):
    """Sentences for every variable that did the wrong thing; empty when all is well.

    `frozen` names variables that must stay bit-identical; `trained` names variables
    that must move.

    Taught in lesson 00.
    """
    found = []
    for name in _as_names(frozen):
        track = trajectory.track(name)
        change = track.first_change
        if change is not None:
            step, size = change
            found.append(
                f"`{track.name}` should have stayed frozen but changed by {size:.1e} "
                f"at step {trajectory.steps[step]}"
            )
    for name in _as_names(trained):
        track = trajectory.track(name)
        if track.frozen:
            steps = len(trajectory.steps) - 1
            found.append(
                f"`{track.name}` should have been trained but stayed bit-identical to its "
                f"initial value for all {steps} steps"
                + ("" if track.trainable else " (its trainable flag is False)")
            )
    return found


def assert_frozen(trajectory, names):
    """Fail unless every named variable stayed bit-identical at every recorded step.

    Taught in lessons 00, 03 and 04.
    """
    found = problems(trajectory, frozen=names)
    if found:
        raise AssertionError("\n".join(found))


def assert_trained(trajectory, names):
    """Fail unless every named variable moved away from its initial value.

    Taught in lessons 00, 03 and 04.
    """
    found = problems(trajectory, trained=names)
    if found:
        raise AssertionError("\n".join(found))


def assert_bit_identical(actual, expected, what="the value"):
    """Fail unless two arrays (or variables) hold exactly the same bits.

    Taught in lessons 01, 02, 03 and 04.
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what} has shape {actual.shape}, expected {expected.shape}")
    if actual.dtype != expected.dtype:
        raise AssertionError(f"{what} has dtype {actual.dtype}, expected {expected.dtype}")
    same = actual.view(f"u{actual.itemsize}") == expected.view(f"u{expected.itemsize}")
    if not np.all(same):
        where = tuple(int(i) for i in np.argwhere(~same)[0])
        difference = np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64)))
        raise AssertionError(
            f"{what} is not bit-identical: {int(np.sum(~same))} of {same.size} entries differ, "
            f"first at index {where}, by up to {difference:.1e}"
        )


def check_trajectory(trajectory, frozen=(), trained=(), title=None):
    """Show the trajectory plot, then fail with one sentence per variable that did the wrong thing.

    Autograder test cells of training exercises call this, so the plot lands in the
    cell's output and so in the student's feedback.

    Taught in lessons 00, 01, 02, 03 and 04.
    """
    from .plots import show

    show(trajectory, title=title)
    found = problems(trajectory, frozen=frozen, trained=trained)
    if found:
        raise AssertionError("\n".join(found))
