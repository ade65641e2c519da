"""Preloaded kernels (`autograde lab`): forked from a process that has imported TensorFlow,
and otherwise what a fresh kernel is.

The kernels here are started as JupyterLab starts them, by a jupyter_client kernel manager
with `autograde-preloaded` as the default provisioner; test_browser.py runs the lessons in
them in a real JupyterLab.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from jupyter_client import KernelManager
from jupyter_client.provisioning import KernelProvisionerFactory

from autograde import preloaded
from autograde.preloaded import PreloadedProcess, jupyterlab_command, preloaded_kernels
from autograde.sandbox.warm_client import ForkedKernel, WarmProcess


@pytest.fixture
def preloaded_default():
    """Kernels whose kernel.json names no provisioner start preloaded, as in `autograde lab`."""
    with preloaded_kernels():
        yield
    assert KernelProvisionerFactory.instance().default_provisioner_name == "local-provisioner"
    assert preloaded._processes == [], "the preloaded process outlived preloaded_kernels()"


class Kernel:
    """A kernel started by a kernel manager, and a way to run code in it."""

    def __init__(self, cwd, env=None, kernel_name="python3"):
        self.km = KernelManager(kernel_name=kernel_name)
        self.km.start_kernel(cwd=str(cwd), env=env or dict(os.environ))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code, timeout=60):
        """Run `code`; return (its stdout, the error name, "aborted" or None, [output types])."""
        out, types = [], []

        def hook(message):
            types.append(message["msg_type"])
            if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
                out.append(message["content"]["text"])

        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=hook)
        status = reply["content"]["status"]
        error = reply["content"].get("ename") or (None if status == "ok" else status)
        return "".join(out).strip(), error, types

    def stop(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def gone(pid, timeout=10, zombie_is_gone=False):
    """True once process `pid` has ended (and been reaped by its parent, unless
    `zombie_is_gone`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    if zombie_is_gone:
                        return True
                    time.sleep(0.05)
                    continue
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_a_preloaded_kernel_is_a_fresh_process_with_tensorflow_already_imported(
    preloaded_default, tmp_path
):
    kernel = Kernel(tmp_path, env={**os.environ, "COURSE_MARK": "from JupyterLab"})
    try:
        process = kernel.km.provisioner.process
        assert isinstance(process, ForkedKernel), "the kernel was not forked"
        before_any_import, error, _ = kernel.run(
            "import os, sys\n"
            "print('tensorflow' in sys.modules, 'course_lib' in sys.modules, os.getpid(), "
            "os.getcwd(), os.environ.get('COURSE_MARK'), os.environ.get('JPY_PARENT_PID'))"
        )
        assert error is None
        assert before_any_import.split(" ", 4) == [
            "True",
            "True",
            str(process.pid),
            str(tmp_path),
            f"from JupyterLab {os.getpid()}",
        ]
        # The lessons' plots: matplotlib's inline backend, an image in the cell's output.
        backend, error, types = kernel.run(
            "import matplotlib, matplotlib.pyplot as plt\n"
            "plt.plot([0, 1]); plt.show()\n"
            "print(matplotlib.get_backend())"
        )
        assert error is None and "inline" in backend and "display_data" in types

        # An interrupt stops the running cell and leaves the kernel working.
        kernel.kc.execute("import time; time.sleep(60)")
        time.sleep(1)
        started = time.monotonic()
        kernel.km.interrupt_kernel()
        reply = kernel.kc.get_shell_msg(timeout=20)
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert time.monotonic() - started < 10
        # ipykernel aborts a request that arrives while it still handles the error (Run All
        # stopping at an error): one sent right after the reply can be, so it is sent again.
        for _ in range(5):
            after = kernel.run("print(6 * 7)")
            if after[1] != "aborted":
                break
            time.sleep(0.2)
        assert after[:2] == ("42", None)

        # A restart is a new process, with none of the old one's names.
        kernel.run("remembered = 1")
        kernel.km.restart_kernel(now=True)
        kernel.kc.wait_for_ready(timeout=60)
        assert gone(process.pid)
        assert kernel.km.provisioner.process.pid != process.pid
        assert kernel.run("print('remembered' in globals())")[:2] == ("False", None)
    finally:
        pid = kernel.km.provisioner.pid
        kernel.stop()
    assert gone(pid), "the kernel outlived its shutdown"


def test_two_preloaded_kernels_draw_different_unseeded_numbers(preloaded_default, tmp_path):
    draws = []
    for _ in range(2):
        kernel = Kernel(tmp_path)
        try:
            out, error, _ = kernel.run(
                "import numpy as np, random; print(np.random.rand(), random.random())"
            )
            assert error is None
            draws.append(out.split())
        finally:
            kernel.stop()
    assert draws[0][0] != draws[1][0], "NumPy draws repeat from kernel to kernel"
    assert draws[0][1] != draws[1][1], "random draws repeat from kernel to kernel"


def test_any_other_kernel_command_starts_as_jupyter_client_starts_it(
    preloaded_default, tmp_path, monkeypatch
):
    # A kernel.json whose command is not `python -m ipykernel_launcher ...` (here the same
    # kernel with a flag for the interpreter); the grader's sandboxed kernels in formgrader
    # (bwrap, prlimit) are such commands, and must never be forked from a learner's process.
    spec = tmp_path / "kernels" / "flagged"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-X", "utf8", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "flagged", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    kernel = Kernel(tmp_path, kernel_name="flagged")
    try:
        assert isinstance(kernel.km.provisioner.process, subprocess.Popen)
        out, error, _ = kernel.run(
            "import sys; print('tensorflow' in sys.modules, sys.flags.utf8_mode)"
        )
        assert (out, error) == ("False 1", None)
    finally:
        kernel.stop()


def test_the_preloaded_process_ends_its_kernels_when_jupyterlab_is_gone(tmp_path):
    process = PreloadedProcess()
    try:
        ended = process.fork_kernel(["--version"], str(tmp_path), dict(os.environ))
        assert ended.wait(timeout=20) == 0
        ended.send_signal(signal.SIGINT)  # to a kernel that has exited: ignored
        kernel = process.fork_kernel(
            ["-f", str(tmp_path / "kernel.json")], str(tmp_path), dict(os.environ)
        )
        assert not gone(kernel.pid, timeout=1) and process.alive
    finally:
        process.stop()  # closes its stdin: what JupyterLab's end (even a SIGKILL) does to it
    assert process.process.returncode == 0
    assert gone(kernel.pid)


def test_a_killed_preloaded_process_takes_its_kernels_with_it(tmp_path):
    # Killed outright (by the out-of-memory killer, say), it cannot end its kernels itself;
    # they are not left running as orphans, even with no parent for ipykernel to poll.
    env = {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"}
    process = PreloadedProcess()
    kernel = process.fork_kernel(["-f", str(tmp_path / "kernel.json")], str(tmp_path), env)
    try:
        assert not gone(kernel.pid, timeout=1)
        process.process.kill()
        # Whoever adopts an orphan may not reap it at once: a zombie has ended too.
        assert gone(kernel.pid, timeout=10, zombie_is_gone=True)
    finally:
        process.stop()
        with contextlib.suppress(ProcessLookupError):
            os.kill(kernel.pid, signal.SIGKILL)  # if it was left running


def stand_in_server(monkeypatch, code):
    """Preloaded processes run `python -c code` instead of the real server."""
    monkeypatch.setattr(
        PreloadedProcess,
        "_start",
        lambda self, argv, **options: WarmProcess._start(self, [sys.executable, "-c", code]),
    )


class KernelStandIn:
    """A forked kernel as the preloaded process's client sees it: running until it has a code."""

    returncode = None

    def poll(self):
        return self.returncode


def test_a_change_to_course_lib_starts_a_new_preloaded_process(tmp_path, monkeypatch):
    library = tmp_path / "course_lib"
    library.mkdir()
    (library / "plots.py").write_text("# as it was\n")
    monkeypatch.setattr(preloaded, "COURSE_LIB", library)
    monkeypatch.setattr(preloaded, "_processes", [])
    # A stand-in server that only says it is ready: what is tested is when one is started.
    stand_in_server(
        monkeypatch, 'print(\'{"op": "ready"}\', flush=True); import sys; sys.stdin.read()'
    )
    first = preloaded.preloaded_process()
    try:
        assert preloaded.preloaded_process() is first
        stamp = os.stat(library / "plots.py").st_mtime_ns
        os.utime(library / "plots.py", ns=(stamp + 10**9, stamp + 10**9))  # edited a second later
        kernel = KernelStandIn()  # one it forked, still running
        first.kernels.append(kernel)
        second = preloaded.preloaded_process()
        assert second is not first and second.alive
        assert first.alive, "kernels forked before the change keep their process"
        kernel.returncode = 0  # that kernel has ended
        assert preloaded.preloaded_process() is second
        assert not first.alive and preloaded._processes == [second], "not needed, not kept"
        second.process.kill()
        second.process.wait()
        third = preloaded.preloaded_process()
        assert third is not second and third.alive, "a process that died is replaced"
    finally:
        for process in preloaded._processes:
            process.stop()


def test_autograde_lab_runs_jupyterlab_with_preloaded_kernels(tmp_path):
    command = jupyterlab_command(tmp_path, ["--port=9999"])
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--KernelProvisionerFactory.default_provisioner_name=autograde-preloaded" in command
    assert "--ServerApp.jpserver_extensions=autograde.preloaded=True" in command
    assert command[-2:] == ["--port=9999", str(tmp_path)]


def test_kernels_start_afresh_when_the_preloaded_process_cannot_start(
    preloaded_default, tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(preloaded, "_processes", [])
    stand_in_server(
        monkeypatch,
        "import sys; print('ImportError: a broken install', file=sys.stderr); sys.exit(1)",
    )
    kernel = Kernel(tmp_path)
    try:
        assert isinstance(kernel.km.provisioner.process, subprocess.Popen)
        assert kernel.run("print(6 * 7)")[:2] == ("42", None)
    finally:
        kernel.stop()
    assert "the preloaded kernel process did not start" in caplog.text
