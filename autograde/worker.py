"""Grade submissions in a process of its own: `python -m autograde.worker ROOT --results FD`.

`autograde grade` runs one worker per job slot (`--jobs`) and feeds it one submission a
line on stdin, as a JSON list `[student, assignment]`. For each, the worker writes the
outcome's reasons as a JSON line to file descriptor FD: a pipe of its own, so that nothing
printed by nbgrader or a kernel can pass for a result. A worker keeps its warm kernel
process (autograde/zygote.py) from one submission to the next; a worker that a submission
wedges is killed and replaced, and the class goes on.
"""

import argparse
import json
import os
import sys

from . import course


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograde.worker")
    parser.add_argument("root")
    parser.add_argument("--results", type=int, required=True, help="file descriptor for outcomes")
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    results = os.fdopen(args.results, "w", buffering=1)
    os.set_inheritable(args.results, False)  # kernels must not write results
    course.prepare_environment()
    api = course.open_api(args.root, args.timeout)
    for line in sys.stdin:
        student, assignment = json.loads(line)
        try:
            outcome = course.grade_one(api, args.root, student, assignment, force=args.force)
            reasons = outcome.reasons
        except Exception as error:  # one submission's failure must not stop the rest
            reasons = [course.grader_failed(error)]
        results.write(json.dumps(reasons) + "\n")


if __name__ == "__main__":
    main()
