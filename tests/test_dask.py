"""Grading on a Dask cluster: a real scheduler and two workers, started here as processes.

Each worker runs in an empty folder of its own (its working folder, temporary folder and
Dask's local directory), so it grades from what the tasks carry, never from the course
folder. The class is graded through the cluster and compared, score by score and cell by
cell, with a local run of the same class; then a worker is killed mid-run, and the run
must still grade every submission once.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from fixture_assignment import AID, NOTEBOOK, answered, fixture_lesson
from nbgrader.api import Gradebook

from autograde import config, course, dask_worker
from autograde.grading import grade_course
from autograde.sandbox.warm_client import remove_leftovers_of

BIN = Path(sys.executable).parent
WRONG_DOUBLE = "def double(x):\n    return x"
WRONG_TRAIN = "def train_step(w, frozen):\n    frozen.assign_add([1.0])"
# student: (notebook made from the release, expected code score out of 5)
CLASS = {
    "ada": (lambda release: answered(release), 5),
    "ben": (lambda release: release, 0),
    "cy": (lambda release: answered(release, double=WRONG_DOUBLE), 3),
    "dee": (lambda release: answered(release, train_step=WRONG_TRAIN), 2),
    "eve": (lambda release: answered(release), 5),
    "fay": (lambda release: answered(release, double=WRONG_DOUBLE), 3),
}


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """`dask scheduler` and `dask worker --nthreads 1` processes, each in a folder of its own."""

    def __init__(self, base, workers=2):
        self.base, self.processes, self.folders = base, [], []
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(port)])
        self.workers = [
            self._start(
                f"worker{n}",
                [*dask_worker.worker_arguments(self.address, 1), "--no-nanny"],
                local_directory=True,
            )
            for n in range(workers)
        ]
        self.wait_for_workers(workers)

    def _start(self, name, arguments, local_directory=False):
        folder = self.base / name
        folder.mkdir(exist_ok=True)
        assert not any(folder.iterdir())  # an empty folder of its own
        arguments = [*arguments, "--no-dashboard"]
        if local_directory:
            arguments += ["--local-directory", str(folder)]
        log = open(folder.parent / f"{name}.log", "w")  # beside it, so the folder stays its own
        process = subprocess.Popen(
            [BIN / "dask", *arguments],
            cwd=folder,
            env={**os.environ, "TMPDIR": str(folder)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        self.folders.append(folder)
        return process

    def wait_for_workers(self, count):
        check = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from distributed import Client; "
                "c = Client(sys.argv[1], timeout=120); "
                "c.wait_for_workers(int(sys.argv[2]), timeout=180); c.close()",
                self.address,
                str(count),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert check.returncode == 0, check.stderr

    @staticmethod
    def kill(process):
        """End a process and everything it started, as when its machine dies."""
        try:
            tree = psutil.Process(process.pid)
            family = [tree, *tree.children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        for member in family:
            try:
                member.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        process.wait()
        # A dead machine's /tmp goes with it; here the grading processes' warm slots
        # would stay in this machine's.
        for member in family:
            remove_leftovers_of(member.pid)

    def stop(self):
        for process in reversed(self.processes):
            self.kill(process)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One cluster for this file's tests, as an instructor's stays up from run to run; the
    test that kills a worker comes last."""
    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    yield cluster
    cluster.stop()


def make_class(root, lessons):
    course.init_course(root, lessons_dir=lessons, cell_timeout=20, submission_timeout=60)
    release = nbformat.read(root / "release" / AID / NOTEBOOK, as_version=4)
    for student, (notebook, _) in CLASS.items():
        folder = root / "submitted" / student / AID
        folder.mkdir(parents=True)
        nbformat.write(notebook(release), folder / NOTEBOOK)
    return root


def grades(root):
    """{(student, grade id): (auto score, needs manual grade)} and {student: code score}."""
    cells, scores = {}, {}
    with Gradebook(config.gradebook_url(root)) as gradebook:
        for submission in gradebook.assignment_submissions(AID):
            scores[submission.student_id] = (submission.code_score, submission.max_code_score)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[(submission.student_id, grade.name)] = (
                        grade.auto_score,
                        grade.needs_manual_grade,
                    )
    return cells, scores


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """The class graded by the local pool: what the cluster must give."""
    base = tmp_path_factory.mktemp("local")
    (base / "lessons").mkdir()
    nbformat.write(fixture_lesson(), base / "lessons" / NOTEBOOK)
    root = make_class(base / "course", base / "lessons")
    outcomes = grade_course(root, jobs=1)  # the reference: one grading process is enough
    cells, scores = grades(root)
    for student, (_, expected) in CLASS.items():
        assert scores[student] == (expected, 5), student  # the reference is right
    return base, {o.student: o for o in outcomes}, cells


def summary_rows(stdout):
    return [
        line.split() for line in stdout.splitlines() if line.split()[:1] in [[s] for s in CLASS]
    ]


def test_the_preload_turns_off_dasks_profiler_and_imports_the_grader(cluster):
    from distributed import Client

    def facts(dask_worker):
        return "profile" in dask_worker.periodic_callbacks, "autograde.pool" in sys.modules

    with Client(cluster.address, timeout=60) as client:
        seen = client.run(facts)  # before any task: what the preload did at the worker's start
    assert list(seen.values()) == [(False, True)] * 2


def test_the_module_the_tasks_name_imports_no_grader():
    # The scheduler imports it to unpickle a task: nbgrader there made each run 2.5 s slower.
    check = (
        "import sys, autograde.dask_worker; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'nbgrader', 'tensorflow'}))"
    )
    run = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert run.stdout == "[]\n", run.stdout + run.stderr
    from autograde import dask_pool  # and the tasks it submits name functions of that module

    for task in (dask_pool.carried, dask_pool.grade_on_worker):
        assert task.__module__ == "autograde.dask_worker"


def test_a_class_graded_on_the_cluster_scores_exactly_as_locally(local, cluster, tmp_path):
    base, outcomes, cells = local
    root = make_class(tmp_path / "course", base / "lessons")
    run = subprocess.run(
        [sys.executable, "-m", "autograde", "grade", root, "--scheduler", cluster.address],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert grades(root)[0] == cells  # every grade of every cell
    rows = summary_rows(run.stdout)
    assert sorted(row[0] for row in rows) == sorted(CLASS)
    for row in rows:
        local_score = outcomes[row[0]]
        assert row[1:5] == [AID, f"{local_score.score:g}", "/", f"{local_score.max_score:g}"]
        assert len(row) == 5  # nothing went wrong
    for student in CLASS:  # the course folder keeps what the workers made
        assert (root / "autograded" / student / AID / NOTEBOOK).is_file()
        page = root / "feedback" / student / AID / NOTEBOOK.replace(".ipynb", ".html")
        assert "test_double" in page.read_text()
    # The grading happened in the workers' own folders, each with its throw-away gradebook.
    graded_there = set()
    for folder in cluster.folders[1:]:
        for staged in folder.glob("autograde-staging-*/gradebook.db"):
            with Gradebook(f"sqlite:///{staged}") as gradebook:
                graded_there |= {s.id for s in gradebook.students}
    assert graded_there == set(CLASS)
    assert (root / "grades.csv").read_text().count(f"{AID},") == len(CLASS)


def test_a_worker_killed_mid_run_costs_a_retry_not_a_grade(local, cluster, tmp_path):
    base, outcomes, cells = local
    root = make_class(tmp_path / "course", base / "lessons")
    run = subprocess.Popen(
        [sys.executable, "-m", "autograde", "grade", root, "--scheduler", cluster.address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in run.stdout:  # progress lines, one per submission: kill after the first
        lines.append(line)
        if " graded: " in line:
            break
    assert f"1/{len(CLASS)} graded: " in lines[-1]
    victim, folder = cluster.workers[0], cluster.folders[1]
    for _ in range(600):  # until it is in the middle of grading a submission
        in_flight = list(folder.glob(f"autograde-staging-*/submitted/*/{AID}/{NOTEBOOK}"))
        if in_flight:
            break
        time.sleep(0.1)
    assert in_flight, "the worker never started a second submission"
    Cluster.kill(victim)
    time.sleep(0.1)
    stdout, stderr = run.communicate(timeout=900)
    stdout = "".join(lines) + stdout
    assert run.returncode == 0, stdout + stderr
    assert victim.poll() is not None
    # Every submission once, graded in full, with the local run's scores.
    assert stdout.count(" graded: ") == len(CLASS)
    rows = summary_rows(stdout)
    assert sorted(row[0] for row in rows) == sorted(CLASS)
    for row in rows:
        assert row[2] == f"{outcomes[row[0]].score:g}" and len(row) == 5, row
    assert grades(root)[0] == cells
    with Gradebook(config.gradebook_url(root)) as gradebook:
        submitted = [s.student_id for s in gradebook.assignment_submissions(AID)]
    assert sorted(submitted) == sorted(CLASS)
    shutil.rmtree(root)
