"""A grading worker's program: `python -m autograde.worker_process ROOT --results FD`.

The worker is worker.py's `main`; this module starts the worker's warm process first,
before nbgrader is imported, so that the two start side by side: the warm process
imports TensorFlow (3.6 s) while this process imports nbgrader and prepares its first
submission, rather than after.
"""

import argparse
import atexit
import sys

from .sandbox.warm_client import start_warm_process_early


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    course = argparse.ArgumentParser(add_help=False)
    course.add_argument("root")
    try:
        start_warm_process_early(course.parse_known_args(argv)[0].root)
    except (Exception, SystemExit):  # worker.main reports what is wrong, as it would anyway
        pass
    from . import worker  # nbgrader, and the rest of the grader

    worker.main(argv)


if __name__ == "__main__":
    main()
    from .worker import exit_without_teardown

    # The interpreter's teardown of nbgrader's modules takes most of a second, paid at the
    # end of every run; the exit handlers (stopping the warm process among them) are what
    # must run.
    atexit._run_exitfuncs()
    exit_without_teardown()
