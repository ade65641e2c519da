"""The `autograde` command: init a course, grade it, let students self-check, run a demo."""

import argparse
import os
from pathlib import Path

from . import config, course
from .grading import grade_course
from .summary import print_progress, print_summary


def cmd_init(args):
    """Create a ready nbgrader course in DIR: config, one assignment per lesson, gradebook."""
    ids = course.init_course(args.dir, cell_timeout=args.timeout)
    root = Path(args.dir).resolve()
    print(f"Course ready in {root}")
    print(f"  assignments: {', '.join(ids)}")
    print(f"  students get:  {root / 'release'}")
    print(f"  collect into:  {root / 'submitted'}/<student>/<assignment>/")
    return 0


def cmd_grade(args):
    """Autograde the submissions under DIR/submitted/, write feedback and DIR/grades.csv.

    Submissions graded before are skipped (as nbgrader does) unless --force is given.
    """
    outcomes = grade_course(
        args.dir,
        cell_timeout=args.timeout,
        force=args.force,
        jobs=args.jobs,
        progress=print_progress,
        no_sandbox=args.no_sandbox,
    )
    print_summary(args.dir, outcomes, sandboxed=config.sandboxed(args.dir, args.no_sandbox))
    return 0


def cmd_check(args):
    """Self-check: run NOTEBOOK's visible tests and write NOTEBOOK.feedback.html beside it."""
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

    return run_demo(args.dir)


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
    add("init", cmd_init, (["dir"], {"metavar": "DIR"}), timeout)
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
    add("grade", cmd_grade, (["dir"], {"metavar": "DIR"}), timeout, force, jobs, no_sandbox)
    add("check", cmd_check, (["notebook"], {"metavar": "NOTEBOOK"}), timeout)
    add("demo", cmd_demo, (["dir"], {"metavar": "DIR", "nargs": "?", "default": "demo-course"}))
    return parser


def main(argv=None):
    """Run one command; return its exit status (0: it completed, whatever the scores)."""
    config.prepare_environment()
    args = build_parser().parse_args(argv)
    return args.run(args)
