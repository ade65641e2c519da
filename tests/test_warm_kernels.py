"""Warm kernels (autograde/sandbox/warm_server.py): forked from one process, yet each like a fresh kernel."""

import asyncio
import json
import os
import subprocess
import sys

import pytest

from autograde.sandbox import SandboxedKernelManager, bwrap_path

needs_sandbox = pytest.mark.skipif(
    bwrap_path() is None,
    reason="bubblewrap (Debian package 'bubblewrap') is not installed, and warm kernels "
    "run only inside it; CI installs it",
)

# What a kernel reports of itself: a warm one must match a fresh one in all but `draw`.
FACTS = """\
import json, os, resource, sys
import matplotlib, numpy, tensorflow as tf
def content(name):
    try:
        return open(name).read()
    except OSError:
        return ""
print(json.dumps({
    "draw": [numpy.random.rand(), float(tf.random.uniform([]))],
    "readable": {name: content(name) for name in os.listdir(".") if content(name)},
    "memory_cap": resource.getrlimit(resource.RLIMIT_AS)[0],
    "home": os.environ["HOME"],
    "backend": matplotlib.get_backend(),
    "cwd_importable": "" in sys.path,
    "tensorflow_log_level": os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
    "other_processes": [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())],
}))
"""


def make_submission(tmp_path):
    course_root = tmp_path / "course"
    submission = course_root / "autograded" / "ada" / "lesson00"
    submission.mkdir(parents=True)
    (submission / "data.csv").write_text("1,2\n")
    (submission / "00_lesson.ipynb").write_text("{}")  # holds hidden tests: never visible
    return submission, course_root


async def kernel_facts(submission, course_root, warm):
    km = SandboxedKernelManager(hidden_paths=[str(course_root)], warm=warm, memory_limit_gb=3)
    await km.start_kernel(cwd=str(submission))
    client = km.client()
    client.start_channels()
    printed = []
    try:
        await client.wait_for_ready(timeout=120)

        def keep(message):
            if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
                printed.append(message["content"]["text"])

        reply = await client.execute_interactive(FACTS, timeout=120, output_hook=keep)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        await km.shutdown_kernel(now=True)
    return json.loads("".join(printed))


@needs_sandbox
def test_a_warm_kernel_is_like_a_fresh_one_but_for_its_random_numbers(tmp_path):
    submission, course_root = make_submission(tmp_path)

    async def both():
        fresh = await kernel_facts(submission, course_root, warm=False)
        first = await kernel_facts(submission, course_root, warm=True)
        second = await kernel_facts(submission, course_root, warm=True)
        return fresh, first, second

    fresh, first, second = asyncio.run(both())
    # numpy reseeds itself in a forked child, and TensorFlow seeds its generator at first
    # use: the zygote must not use it before forking.
    assert first["draw"][0] != second["draw"][0] and first["draw"][1] != second["draw"][1]
    for facts in (first, second):
        assert {k: v for k, v in facts.items() if k != "draw"} == {
            k: v for k, v in fresh.items() if k != "draw"
        }
    assert first["readable"] == {"data.csv": "1,2\n"}
    # In a PID namespace of its own, a kernel sees no grader and no other student's kernel.
    assert fresh["other_processes"] == []
    assert first["memory_cap"] == 3 * 2**30
    assert first["backend"] == "module://matplotlib_inline.backend_inline"


@needs_sandbox
def test_kernels_running_at_once_in_one_process_get_a_warm_process_each(tmp_path):
    # A warm process clears out its last kernel before starting the next: shared, the
    # second kernel's start would kill the first.
    submission, course_root = make_submission(tmp_path)

    async def together():
        return await asyncio.gather(
            kernel_facts(submission, course_root, warm=True),
            kernel_facts(submission, course_root, warm=True),
        )

    first, second = asyncio.run(together())
    assert first["readable"] == second["readable"] == {"data.csv": "1,2\n"}


def test_the_warm_process_refuses_to_run_outside_a_pid_namespace_of_its_own():
    # Between kernels it kills every process it can signal: outside a namespace of its
    # own, that would be every process of this user on the machine.
    process = subprocess.Popen(
        [sys.executable, "-m", "autograde.sandbox.warm_server", os.readlink("/proc/self/ns/pid")],
        stdin=subprocess.PIPE,  # kept open: closing it is what would start the killing
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the warm process started outside a PID namespace of its own")
    assert code != 0
    assert b"must run in a PID namespace of its own" in process.stderr.read()
    process.stdin.close()
    process.stdout.close()
    process.stderr.close()
