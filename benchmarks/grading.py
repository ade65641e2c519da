"""Benchmark: `autograde grade` locally and on a Dask cluster, against stock nbgrader.

    .venv/bin/python benchmarks/grading.py [STUDENTS] [JOBS] [ROUNDS]

A class of STUDENTS (default 12) submissions of lesson 00 (the demo's four samples,
repeated) is graded by stock nbgrader with a default configuration (`nbgrader
autograde`, `generate_feedback`, `export`), by `autograde grade --jobs JOBS`, and by
`autograde grade --scheduler` on a Dask cluster of JOBS workers (one thread each) started
here on this machine beforehand (its start is not timed: the cluster exists already, as
it would for an instructor). Where PostgreSQL is installed, the class is graded once more
into a throw-away PostgreSQL gradebook, which counts the transactions and rows written.
The local and Dask runs are repeated ROUNDS times (default 1), each round on fresh copies
of the class and a fresh cluster, the order swapped from one round to the next; the
figures are medians. Prints wall times, throughput ratios, writes per submission, and
whether every score is the same. Asserts nothing.
"""

import csv
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograde import config, course, dask_worker, demo  # noqa: E402

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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cluster(folder, workers):
    """A Dask scheduler and `workers` one-thread workers, each in a folder of its own."""
    address = f"tcp://127.0.0.1:{free_port()}"
    processes = []
    for name, arguments in [
        ("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1]]),
        *[
            (
                f"worker{n}",
                [*dask_worker.worker_arguments(address, 1), "--no-nanny"],
            )
            for n in range(workers)
        ],
    ]:
        own = Path(folder) / name
        own.mkdir()
        processes.append(
            subprocess.Popen(
                [BIN / "dask", *arguments, "--no-dashboard"],
                cwd=own,
                env={**os.environ, "TMPDIR": str(own)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    wait = "from distributed import Client; c = Client({!r}, timeout=120); "
    wait += "c.wait_for_workers({}, timeout=300); c.close()"
    subprocess.run([sys.executable, "-c", wait.format(address, workers)], check=True)
    return address, processes


def stop_cluster(processes):
    for process in reversed(processes):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def postgres_writes(ours, students):
    """Grade a copy of the class into a throw-away PostgreSQL; (seconds, writes per submission)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import pg_server

    try:
        server = pg_server.Server().start()
    except pg_server.Unavailable as why:
        print(f"(no PostgreSQL figures: {why})")
        return None
    try:
        server.create_user("grader", "bench-pw")
        server.create_database("bench", "grader")
        url = server.url("grader", "bench-pw", "bench")
        course_copy = ours.parent / "postgres"
        shutil.copytree(ours, course_copy, ignore=shutil.ignore_patterns("autograded", "feedback"))
        course.init_course(course_copy, db_url=url)
        counters = (
            "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, sessions "
            "FROM pg_stat_database "
            "WHERE datname = 'bench'"
        )
        server.execute("SELECT pg_stat_reset()", database="bench")
        time.sleep(1)  # the statistics collector's interval
        before = server.execute(counters)[0]
        seconds = timed([[BIN / "autograde", "grade", course_copy, "--jobs", "2"]], course_copy)
        time.sleep(1)
        after = server.execute(counters)[0]
        return seconds, [(a - b) / students for a, b in zip(after, before, strict=True)]
    finally:
        server.stop()


def local_run(course_root, jobs):
    """Seconds to grade `course_root` with the local pool of `jobs` workers."""
    return timed([[BIN / "autograde", "grade", course_root, "--jobs", str(jobs)]], course_root)


def dask_run(folder, course_root, jobs):
    """Seconds to grade `course_root` on a fresh cluster of `jobs` workers (start not timed)."""
    cluster_folder = Path(tempfile.mkdtemp(prefix="cluster-", dir=folder))
    address, cluster = start_cluster(cluster_folder, jobs)
    try:
        return timed(
            [[BIN / "autograde", "grade", course_root, "--scheduler", address]], course_root
        )
    finally:
        stop_cluster(cluster)


def main(students=12, jobs=None, rounds=1):
    jobs = jobs or os.cpu_count() or 1
    config.prepare_environment()
    with tempfile.TemporaryDirectory() as folder:
        ours, stock = Path(folder) / "ours", Path(folder) / "stock"
        make_class(ours, students)  # never graded: each round grades copies of it
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
        # Rounds of (local pool, Dask), the order swapped from round to round, each on a
        # fresh copy of the class and a fresh cluster: what runs first or second on a
        # machine that heats up or is shared must not decide the overhead.
        local_times, dask_times, same = [], [], True
        theirs = scores(stock / "grades.csv", aid)
        for number in range(rounds):
            on_local, on_dask = Path(folder) / f"local{number}", Path(folder) / f"dask{number}"
            shutil.copytree(ours, on_local)
            shutil.copytree(ours, on_dask)
            order = ["local", "dask"] if number % 2 == 0 else ["dask", "local"]
            for backend in order:
                if backend == "local":
                    local_times.append(local_run(on_local, jobs))
                else:
                    dask_times.append(dask_run(folder, on_dask, jobs))
            mine = scores(on_local / "grades.csv", aid)
            same &= theirs == mine == scores(on_dask / "grades.csv", aid) and len(mine) == students
            print(
                f"round {number + 1}: local {local_times[-1]:.1f} s, Dask {dask_times[-1]:.1f} s "
                f"({100 * (dask_times[-1] / local_times[-1] - 1):+.1f}%)",
                flush=True,
            )
        writes = postgres_writes(ours, students)
    ours_time, dask_time = statistics.median(local_times), statistics.median(dask_times)
    print(f"{students} submissions of {aid}, {os.cpu_count()} cores; medians of {rounds} round(s)")
    print(f"stock nbgrader (autograde + generate_feedback + export): {stock_time:6.1f} s")
    print(f"autograde grade --jobs {jobs} (sandboxed, guarded):        {ours_time:6.1f} s")
    print(f"autograde grade --scheduler (Dask, {jobs} workers x 1 thread): {dask_time:6.1f} s")
    print(
        f"throughput vs stock: local {stock_time / ours_time:.2f}x, Dask {stock_time / dask_time:.2f}x"
    )
    overheads = [100 * (d / o - 1) for d, o in zip(dask_times, local_times, strict=True)]
    print(
        f"Dask overhead vs the local pool: {statistics.median(overheads):+.1f}% "
        f"(median of the rounds; each: {', '.join(f'{x:+.1f}%' for x in overheads)})"
    )
    print(f"same scores: {same}")
    if writes:
        seconds, (commits, inserted, updated, deleted, sessions) = writes
        print(
            f"into PostgreSQL (--jobs 2): {seconds:.1f} s; per submission: {commits:.1f} "
            f"transactions, {inserted:.1f} rows inserted, {updated:.1f} updated, "
            f"{deleted:.1f} deleted, {sessions:.1f} connections opened"
        )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
