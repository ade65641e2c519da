"""Preloaded kernels for JupyterLab: each kernel forked from a process that has imported TensorFlow.

`autograde lab DIR` (what `make lab` and `make study` run) starts JupyterLab with the
options below, so that every Python kernel is started by `PreloadedProvisioner`: it asks
one preloaded process (preloaded_server.py), started with JupyterLab, to fork the kernel.
A kernel then starts with TensorFlow, Keras, matplotlib and course_lib already imported:
a restart and Run All no longer spends 4 s on imports. The kernel is otherwise a fresh
one: a new process in the notebook's folder, with the environment JupyterLab gives it,
and nothing run in it. (A kernel asked for before the preloaded process is ready waits
for it, as a fresh kernel would wait for its own imports.)

Anything other than a plain ipykernel of this Python (another kernel, or the grader's
sandboxed kernels in formgrader) starts as jupyter_client's LocalProvisioner starts it.
"""

import asyncio
import atexit
import contextlib
import os
import sys
import threading
from pathlib import Path

from jupyter_client.provisioning import KernelProvisionerFactory, LocalProvisioner

from .sandbox.warm_client import ForkedKernel, WarmKernelError, WarmProcess

JUPYTERLAB_OPTIONS = (
    # Kernels whose kernel.json names no provisioner (ipykernel's own) start this way.
    "--KernelProvisionerFactory.default_provisioner_name=autograde-preloaded",
    # The server extension below: the preloaded process starts with JupyterLab.
    "--ServerApp.jpserver_extensions=autograde.preloaded=True",
)
COURSE_LIB = Path(__file__).resolve().parents[1] / "course_lib"
# Forking a process that has loaded TensorFlow is tried and tested on Linux only (macOS, for
# one, restricts what a forked child may do); elsewhere every kernel starts afresh.
FORKS = sys.platform.startswith("linux")


def _source_times():
    """When course_lib's files last changed: a preloaded process older than that is stale."""
    return {path: path.stat().st_mtime_ns for path in sorted(COURSE_LIB.glob("*.py"))}


class PreloadedProcess(WarmProcess):
    """The running preloaded process: starts kernels, reports when they exit."""

    not_started = (
        "the preloaded kernel process did not start (its error is in JupyterLab's log); "
        "this kernel starts afresh instead"
    )

    def __init__(self):
        self.slot, self.process_cap, self.taken = None, None, False
        self.source_times = _source_times()
        self.kernels = []
        self._start([sys.executable, "-m", "autograde.preloaded_server"])

    def fork_kernel(self, arguments, cwd, env):
        """A kernel run as `python -m ipykernel_launcher *arguments`; a Popen-like handle."""
        with self._lock:
            self._send(op="start", arguments=arguments, cwd=cwd, env=env)
            kernel = ForkedKernel(self, self._expect("started", 30)["pid"])
        self.kernels.append(kernel)
        return kernel

    @property
    def serving(self):
        """Whether a kernel it forked is still running."""
        return any(kernel.poll() is None for kernel in self.kernels)

    @property
    def stale(self):
        return self.source_times != _source_times()


_lock = threading.Lock()
_processes = []  # this JupyterLab's, newest last; older ones still serve their kernels


def preloaded_process():
    """This JupyterLab's preloaded process: started, or started anew, when needed."""
    with _lock:
        newest = _processes[-1] if _processes else None
        # After course_lib changes, new kernels get it as it is now; those already forked
        # keep running from the older process.
        if newest is None or not newest.alive or newest.stale:
            newest = PreloadedProcess()
            _processes.append(newest)
        for older in _processes[:-1]:
            if not older.serving:  # its last kernel has ended: it is not needed any more
                _processes.remove(older)
                older.stop()
        return newest


@atexit.register
def _stop():
    with _lock:
        while _processes:
            _processes.pop().stop()  # it ends the kernels it forked


class PreloadedProvisioner(LocalProvisioner):
    """Starts a plain ipykernel by forking it from the preloaded process.

    The rest of a kernel's life (interrupts, restarts, shutdown) is LocalProvisioner's:
    it signals the kernel's process group, which the fork leads.
    """

    async def launch_kernel(self, cmd, **kwargs):
        launcher = [sys.executable, "-m", "ipykernel_launcher"]
        if not FORKS or cmd[:3] != launcher:
            return await super().launch_kernel(cmd, **kwargs)
        cwd = str(kwargs.get("cwd") or Path.cwd())
        # As jupyter_client's launcher sets it: the kernel then knows it has a parent to
        # answer to (and prints no console banner).
        env = {**(kwargs.get("env") or os.environ), "JPY_PARENT_PID": str(os.getpid())}
        try:
            preloaded = await asyncio.to_thread(preloaded_process)
            process = await asyncio.to_thread(preloaded.fork_kernel, cmd[3:], cwd, env)
        except WarmKernelError as error:
            self.log.warning("%s", error)
            return await super().launch_kernel(cmd, **kwargs)
        self.process, self.pid, self.pgid, self.cwd = process, process.pid, process.pid, cwd
        return self.connection_info


@contextlib.contextmanager
def preloaded_kernels():
    """Within it, this process's plain ipykernels fork from a preloaded process (ended after).

    For a command that runs several notebooks in turn (`autograde study --progress`): the
    imports are paid once, not once per notebook.
    """
    factory = KernelProvisionerFactory.instance()
    before = factory.default_provisioner_name
    factory.default_provisioner_name = "autograde-preloaded"
    try:
        yield
    finally:
        factory.default_provisioner_name = before
        _stop()


def jupyterlab_command(folder, options=()):
    """The command that runs JupyterLab on `folder` with preloaded kernels."""
    return [sys.executable, "-m", "jupyterlab", *JUPYTERLAB_OPTIONS, *options, str(folder)]


def _jupyter_server_extension_points():
    return [{"module": "autograde.preloaded"}]


def _load_jupyter_server_extension(serverapp):
    """Start the preloaded process with JupyterLab, so that even its first kernel finds it ready."""
    if not FORKS:
        return
    threading.Thread(target=_start_early, args=(serverapp.log,), daemon=True).start()


def _start_early(log):
    try:
        preloaded_process()
    except WarmKernelError as error:
        log.warning("%s", error)  # its first kernel will try again, then start afresh
