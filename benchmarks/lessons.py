"""Benchmark: how long each lesson takes to run top to bottom, with its solutions.

    .venv/bin/python benchmarks/lessons.py          # every lesson, best and worst of 3 runs
    .venv/bin/python benchmarks/lessons.py --preloaded  # in kernels as `make lab` starts them
    .venv/bin/python benchmarks/lessons.py 5 04     # lessons starting 04, 5 runs
    .venv/bin/python benchmarks/lessons.py --cells  # and where each lesson's seconds go
    CELLS=40 .venv/bin/python benchmarks/lessons.py 1 03 --cells  # its 40 slowest cells

Each lesson runs in a fresh kernel, as a student's Run All would (kernel start and the
TensorFlow import included). With --preloaded, each kernel is forked from the preloaded
process JupyterLab gets from `make lab` (autograde/preloaded.py), started beforehand, as
JupyterLab starts it: what a restart and Run All costs there. Prints seconds per lesson;
asserts nothing.
"""

import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def cell_seconds(cell):
    """How long the kernel spent on one cell, from the timing nbclient records."""
    timing = cell.metadata.get("execution", {})
    if "iopub.execute_input" not in timing or "shell.execute_reply" not in timing:
        return 0.0
    start, end = timing["iopub.execute_input"], timing["shell.execute_reply"]
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def seconds_to_run(path, repeats, slowest=None):
    """Best and worst seconds over `repeats` runs; the last run's cells into `slowest`."""
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
    if slowest is not None:
        code = [c for c in nb.cells if c.cell_type == "code"]
        slowest[:] = sorted(((cell_seconds(c), c.source) for c in code), reverse=True)
    return min(times), max(times)


if __name__ == "__main__":
    show_cells = "--cells" in sys.argv
    preloaded = "--preloaded" in sys.argv
    arguments = [a for a in sys.argv[1:] if a not in ("--cells", "--preloaded")]
    repeats = int(arguments[0]) if arguments else 3
    only = tuple(arguments[1:])  # name prefixes; none: every lesson
    kind = "fresh kernel each"
    if preloaded:
        from jupyter_client.provisioning import KernelProvisionerFactory

        from autograde.preloaded import preloaded_process

        KernelProvisionerFactory.instance().default_provisioner_name = "autograde-preloaded"
        preloaded_process()  # as `make lab` does when JupyterLab starts
        kind = "fresh kernel each, forked from the preloaded process"
    print(f"{os.cpu_count()} cores; best and worst of {repeats} runs, {kind}")
    for lesson in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        if only and not lesson.name.startswith(only):
            continue
        slowest = [] if show_cells else None
        best, worst = seconds_to_run(lesson, repeats, slowest)
        print(f"{lesson.stem:<45} {best:5.1f} s  (worst {worst:5.1f} s)")
        for seconds, source in (slowest or [])[: int(os.environ.get("CELLS", 6))]:
            first = source.strip().splitlines()[0][:60] if source.strip() else ""
            print(f"    {seconds:5.2f} s  {first}")
        if slowest:
            print(f"    {sum(s for s, _ in slowest):5.2f} s  in all cells")
