"""The `autograde` command: init a course, grade it, let students self-check, run a demo."""

import argparse
import os
from pathlib import Path

from . import config, course
from .grading import grade_course
from .summary import GradingProgress, print_summary


def cmd_init(args):
    """Create a ready nbgrader course in DIR: config, one assignment per lesson, gradebook."""
    ids = course.init_course(args.dir, cell_timeout=args.timeout, db_url=args.db)
    root = Path(args.dir).resolve()
    print(f"Course ready in {root}")
    print(f"  gradebook:   {config.masked(config.gradebook_url(root))}")
    print(f"  assignments: {', '.join(ids)}")
    print(f"  students get:  {root / 'release'}")
    print(f"  collect into:  {root / 'submitted'}/<student>/<assignment>/")
    return 0


def cmd_grade(args):
    """Autograde the submissions under DIR/submitted/, write feedback and DIR/grades.csv.

    Submissions graded before are skipped (as nbgrader does) unless --force is given.
    """
    with GradingProgress() as progress:
        outcomes = grade_course(
            args.dir,
            cell_timeout=args.timeout,
            force=args.force,
            jobs=args.jobs,
            progress=progress,
            no_sandbox=args.no_sandbox,
            db_url=args.db,
            scheduler=args.scheduler,
            assignments=args.assignment,
        )
    print_summary(
        args.dir,
        outcomes,
        sandboxed=config.sandboxed(args.dir, args.no_sandbox),
        gradebook=config.masked(config.gradebook_url(args.dir, args.db)),
    )
    return 0


def cmd_check(args):
    """Self-check: run NOTEBOOK's visible tests and write NOTEBOOK.feedback.html beside it."""
    if args.hidden:
        from .study import check_with_hidden_tests as check_notebook
    else:
        from .selfcheck import check_notebook

    result = check_notebook(args.notebook, cell_timeout=args.timeout)
    for grade_id in result.passed:
        print(f"PASS  {grade_id}")
    for grade_id, reason in result.failed:
        print(f"FAIL  {grade_id}: {reason}")
    if not result.passed and not result.failed:
        print("This notebook has no autograded tests to run.")
    print(f"\n{len(result.passed)} passed, {len(result.failed)} failed")
    print(f"feedback with plots: {result.feedback}")
    return 0 if result.ok else 1


def cmd_demo(args):
    """Init a course in DIR, add sample submissions, grade them, and say where results are."""
    from .demo import run_demo

    return run_demo(args.dir, args.db)


def cmd_study(args):
    """Self-study: make DIR (default: study/), every lesson with its answers removed, for
    JupyterLab; a lesson already there is yours and never overwritten. --progress: which
    exercises pass and which remain."""
    from .study import study

    return study(args.dir, args.progress, args.hidden, args.timeout)


def cmd_lab(args):
    """JupyterLab on DIR (default: notebooks/), its kernels forked from a process that has
    already imported TensorFlow: a restart and Run All starts at once. Options after DIR
    go to JupyterLab."""
    from .preloaded import jupyterlab_command

    command = jupyterlab_command(args.dir, args.jupyterlab_options)
    os.execv(command[0], command)  # JupyterLab takes this process over: Ctrl-C stops it


def cmd_reveal(args):
    """Print the reference solution of one exercise, e.g. `autograde reveal 01 ex2`."""
    from .study import reveal

    print(reveal(args.lesson, args.exercise, args.dir), end="")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="autograde",
        description="Grade the frozen-vs-trainable lessons with nbgrader, with trajectory plots "
        "of frozen and trainable variables in every student's feedback.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, function, *arguments):
        command = sub.add_parser(name, help=function.__doc__, description=function.__doc__)
        for flags, options in arguments:
            command.add_argument(*flags, **options)
        command.set_defaults(run=function)
        return command

    timeout = (
        ["--timeout"],
        {
            "type": float,
            "default": config.CELL_TIMEOUT,
            "metavar": "S",
            "help": "seconds one cell may run (default: %(default)s)",
        },
    )
    db = (
        ["--db"],
        {
            "metavar": "URL",
            "help": "the gradebook's database, e.g. postgresql://user:password@host:5432/db "
            "(default: c.CourseDirectory.db_url in nbgrader_config.py, else DIR/gradebook.db); "
            "init and demo write it into the config, grade uses it for this run only",
        },
    )
    add("init", cmd_init, (["dir"], {"metavar": "DIR"}), timeout, db)
    force = (
        ["--force"],
        {"action": "store_true", "help": "regrade submissions that were graded before"},
    )
    jobs = (
        ["--jobs"],
        {
            "type": int,
            "default": os.cpu_count() or 1,
            "metavar": "N",
            "help": "submissions graded at once (default: the number of cores, %(default)s)",
        },
    )
    no_sandbox = (
        ["--no-sandbox"],
        {
            "action": "store_true",
            "help": "grade even where no sandbox can be started: the students' code then runs "
            "with your rights (said loudly in the summary and every feedback page)",
        },
    )
    scheduler = (
        ["--scheduler"],
        {
            "metavar": "ADDRESS",
            "help": "grade on the workers of this Dask cluster (e.g. tcp://host:8786) "
            "instead of on this machine",
        },
    )
    assignment = (
        ["--assignment"],
        {
            "action": "append",
            "metavar": "ID",
            "help": "grade only this assignment (repeatable; default: every one submitted)",
        },
    )
    add(
        "grade",
        cmd_grade,
        (["dir"], {"metavar": "DIR"}),
        timeout,
        force,
        jobs,
        no_sandbox,
        db,
        scheduler,
        assignment,
    )
    hidden = (
        ["--hidden"],
        {
            "action": "store_true",
            "help": "run the hidden tests too, taken from the lesson (the study folder's copy, "
            "else the repository's notebooks/)",
        },
    )
    add("check", cmd_check, (["notebook"], {"metavar": "NOTEBOOK"}), timeout, hidden)
    add("demo", cmd_demo, (["dir"], {"metavar": "DIR", "nargs": "?", "default": "demo-course"}), db)
    study_dir = (["dir"], {"metavar": "DIR", "nargs": "?", "default": "study"})
    show_progress = (
        ["--progress"],
        {
            "action": "store_true",
            "help": "run the tests of the lessons you started and show "
            "which exercises pass and which remain (changes nothing)",
        },
    )
    add("study", cmd_study, study_dir, show_progress, hidden, timeout)
    add(
        "lab",
        cmd_lab,
        (["dir"], {"metavar": "DIR", "nargs": "?", "default": "notebooks"}),
        (["jupyterlab_options"], {"nargs": argparse.REMAINDER, "metavar": "..."}),
    )
    add(
        "reveal",
        cmd_reveal,
        (["lesson"], {"metavar": "LESSON", "help": "e.g. 01"}),
        (["exercise"], {"metavar": "EXERCISE", "help": "e.g. ex2"}),
        (["--dir"], {"default": "study", "help": "the study folder (default: %(default)s)"}),
    )
    return parser


def main(argv=None):
    """Run one command; return its exit status (0: it completed, whatever the scores)."""
    config.prepare_environment()
    args = build_parser().parse_args(argv)
    return args.run(args)
