"""Grade a class: the gradebook made ready, the submissions run by a pool, scores and CSV after.

This is what `autograde grade` and `autograde demo` call. The grading itself happens in
worker processes (worker.py), run here by the local pool (pool.py), or on the workers of
a Dask cluster (dask_pool.py); both yield an Outcome per submission as it is done.
"""

from pathlib import Path

from . import config, course, gradebook
from .outcome import Failure, Kind, Outcome
from .pool import LocalPool
from .sandbox import bwrap_path
from .sandbox.kernel_manager import refusal


def grade_course(
    root,
    cell_timeout=None,
    force=False,
    jobs=1,
    progress=None,
    no_sandbox=False,
    db_url=None,
    scheduler=None,
    assignments=None,
):
    """Grade the submissions under submitted/, write feedback and grades.csv; return outcomes.

    Locally, `jobs` worker processes grade at once, each one submission at a time, each
    with a warm kernel process of its own; with `scheduler` (a Dask scheduler's address),
    the workers of that cluster grade instead. `db_url` is this run's gradebook instead of
    the config's; `assignments`, if given, limits the run to those assignments. Like
    `nbgrader autograde`, this skips submissions already autograded unless `force`.
    `progress(count, total, outcome)` is called once with `outcome=None` before grading
    starts, then as each submission is done. Without a working sandbox it refuses to grade
    (SystemExit saying why and what to do), unless `no_sandbox` or the course's config
    opts out; on a cluster, each worker checks its own.
    """
    config.prepare_environment()
    root = Path(root).resolve()
    if scheduler is None and config.sandboxed(root, no_sandbox) and bwrap_path() is None:
        raise SystemExit(refusal())
    url, course_id = config.gradebook_url(root, db_url), config.course_id(root)
    todo = course.submissions(root)
    if assignments:
        todo = [(student, assignment) for student, assignment in todo if assignment in assignments]
    known = gradebook.assignments(url, course_id)
    gradebook.add_students(url, course_id, [student for student, _ in todo])
    outcomes = [
        Outcome(student, assignment, failures=[Failure(Kind.UNKNOWN_ASSIGNMENT, detail=assignment)])
        for student, assignment in todo
        if assignment not in known
    ]
    runnable = [(student, assignment) for student, assignment in todo if assignment in known]
    options = dict(
        cell_timeout=cell_timeout,
        force=force,
        hard_limit=config.hard_limit(config.load_config(root)),
        no_sandbox=no_sandbox,
        db_url=db_url,
    )
    if scheduler is None:
        pool = LocalPool(root, jobs=min(jobs, len(runnable)) or 1, **options)
    else:
        from .dask_pool import DaskPool  # distributed is imported only for a cluster run

        pool = DaskPool(root, scheduler, **options)
    if progress is not None:
        progress(0, len(runnable), None)
    for count, outcome in enumerate(pool.grade(runnable), start=1):
        outcomes.append(outcome)
        if progress is not None:
            progress(count, len(runnable), outcome)
    outcomes.sort(key=lambda o: (o.student, o.assignment))
    gradebook.read_scores(url, course_id, outcomes)
    gradebook.export_csv(url, course_id, root)
    return outcomes
