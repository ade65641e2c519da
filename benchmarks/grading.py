"""Benchmark: `autograde grade --jobs N` against stock nbgrader on the same class.

    .venv/bin/python benchmarks/grading.py [STUDENTS] [JOBS]

A class of STUDENTS (default 12) submissions of lesson 00 (the demo's four samples,
repeated) is graded twice: by stock nbgrader with a default configuration
(`nbgrader autograde`, `generate_feedback`, `export`) and by `autograde grade`. Prints
both wall times, the throughput ratio, and whether every score is the same.
Asserts nothing.
"""

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograde import config, course, demo  # noqa: E402

BIN = Path(sys.executable).parent


def make_class(root, students):
    """A course with `students` submissions of lesson 00 (ours: autograde init)."""
    course.init_course(root)
    demo.add_samples(root)
    samples = sorted((root / "submitted").iterdir())
    for number in range(len(samples), students):
        sample = samples[number % len(samples)]
        shutil.copytree(sample, root / "submitted" / f"{sample.name}{number}")


def stock_copy(ours, stock):
    """The same course for stock nbgrader: same files, default config, fresh gradebook."""
    shutil.copytree(ours / "source", stock / "source")
    shutil.copytree(ours / "submitted", stock / "submitted")
    (stock / "nbgrader_config.py").write_text(
        f'c = get_config()\nc.CourseDirectory.course_id = "{config.COURSE_ID}"\n'
    )
    subprocess.run(
        [BIN / "nbgrader", "generate_assignment", demo.DEMO_ASSIGNMENT, "--force"],
        cwd=stock,
        check=True,
        capture_output=True,
    )


def timed(commands, cwd):
    start = time.perf_counter()
    for command in commands:
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def scores(path, assignment):
    """Scores of one assignment: our course also lists the other lessons, at 0."""
    with open(path, newline="") as f:
        return {
            r["student_id"]: float(r["score"])
            for r in csv.DictReader(f)
            if r["assignment"] == assignment
        }


def main(students=12, jobs=None):
    jobs = jobs or os.cpu_count() or 1
    config.prepare_environment()
    with tempfile.TemporaryDirectory() as folder:
        ours, stock = Path(folder) / "ours", Path(folder) / "stock"
        make_class(ours, students)
        stock_copy(ours, stock)
        aid = demo.DEMO_ASSIGNMENT
        stock_time = timed(
            [
                [BIN / "nbgrader", "autograde", aid, "--force"],
                [BIN / "nbgrader", "generate_feedback", aid, "--force"],
                [BIN / "nbgrader", "export", "--to", "grades.csv"],
            ],
            stock,
        )
        ours_time = timed([[BIN / "autograde", "grade", ours, "--jobs", str(jobs)]], ours)
        theirs, mine = scores(stock / "grades.csv", aid), scores(ours / "grades.csv", aid)
        same = theirs == mine and len(mine) == students
    print(f"{students} submissions of {aid}, {os.cpu_count()} cores")
    print(f"stock nbgrader (autograde + generate_feedback + export): {stock_time:6.1f} s")
    print(f"autograde grade --jobs {jobs} (sandboxed, guarded):        {ours_time:6.1f} s")
    print(f"throughput ratio: {stock_time / ours_time:.2f}x; same scores: {same}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
