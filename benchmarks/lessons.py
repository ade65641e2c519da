"""Benchmark: how long each lesson takes to run top to bottom, with its solutions.

    .venv/bin/python benchmarks/lessons.py          # every lesson, best and worst of 3 runs
    .venv/bin/python benchmarks/lessons.py 5 04     # lessons starting 04, 5 runs

Each lesson runs in a fresh kernel, as a student's Run All would (kernel start and the
TensorFlow import included). Prints seconds per lesson; asserts nothing.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def seconds_to_run(path, repeats):
    times = []
    for _ in range(repeats):
        nb = nbformat.read(path, as_version=4)
        with tempfile.TemporaryDirectory() as folder:
            client = NotebookClient(
                nb,
                timeout=300,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": folder}},
            )
            start = time.perf_counter()
            client.execute()
            times.append(time.perf_counter() - start)
    return min(times), max(times)


if __name__ == "__main__":
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    only = tuple(sys.argv[2:])  # name prefixes; none: every lesson
    print(f"{os.cpu_count()} cores; best and worst of {repeats} runs, fresh kernel each")
    for lesson in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if only and not lesson.name.startswith(only):
            continue
        best, worst = seconds_to_run(lesson, repeats)
        print(f"{lesson.stem:<45} {best:5.1f} s  (worst {worst:5.1f} s)")
