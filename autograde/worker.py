"""Grade one submission in a process of its own: `python -m autograde.worker ROOT STUDENT ASSIGNMENT`.

`autograde grade` runs one of these per submission, several at once with --jobs, so a
submission that wedges nbgrader or its kernel can be stopped without stopping the class.
Prints the outcome's reasons as JSON on its last line.
"""

import argparse
import json

from . import course


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograde.worker")
    parser.add_argument("root")
    parser.add_argument("student")
    parser.add_argument("assignment")
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    course.prepare_environment()
    api = course.open_api(args.root, args.timeout)
    outcome = course.grade_one(api, args.root, args.student, args.assignment, force=args.force)
    print(json.dumps(outcome.reasons))


if __name__ == "__main__":
    main()
