"""Grade a class: the gradebook made ready, the submissions run by a pool, scores and CSV after.

This is what `autograde grade` and `autograde demo` call. The grading itself happens
in worker processes (worker.py), run here by the local pool (pool.py).
"""

from pathlib import Path

from . import config, course, gradebook
from .outcome import Failure, Kind, Outcome
from .pool import LocalPool
from .sandbox import bwrap_path
from .sandbox.kernel_manager import refusal


def grade_course(root, cell_timeout=None, force=False, jobs=1, progress=None, no_sandbox=False):
    """Grade the submissions under submitted/, write feedback and grades.csv; return outcomes.

    `jobs` worker processes grade at once, each one submission at a time, each with a
    warm kernel process of its own. Like `nbgrader autograde`, this skips submissions
    already autograded unless `force`. `progress(count, total, outcome)` is called as each
    submission is done. Without a working sandbox it refuses to grade (SystemExit saying
    why and what to do), unless `no_sandbox` or the course's config opts out.
    """
    config.prepare_environment()
    root = Path(root).resolve()
    if config.sandboxed(root, no_sandbox) and bwrap_path() is None:
        raise SystemExit(refusal())
    todo = course.submissions(root)
    known = gradebook.assignments(root)
    gradebook.add_students(root, [student for student, _ in todo])
    outcomes = [
        Outcome(student, assignment, failures=[Failure(Kind.UNKNOWN_ASSIGNMENT, detail=assignment)])
        for student, assignment in todo
        if assignment not in known
    ]
    runnable = [(student, assignment) for student, assignment in todo if assignment in known]
    pool = LocalPool(
        root,
        jobs=min(jobs, len(runnable)) or 1,
        cell_timeout=cell_timeout,
        force=force,
        hard_limit=config.hard_limit(config.load_config(root)),
        no_sandbox=no_sandbox,
    )
    for count, outcome in enumerate(pool.grade(runnable), start=1):
        outcomes.append(outcome)
        if progress is not None:
            progress(count, len(runnable), outcome)
    outcomes.sort(key=lambda o: (o.student, o.assignment))
    gradebook.read_scores(root, outcomes)
    gradebook.export_csv(root)
    return outcomes
