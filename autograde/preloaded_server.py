"""The preloaded process behind JupyterLab's kernels: imports the lessons' modules once, then forks.

A kernel that starts afresh spends about 4 s importing TensorFlow, Keras and matplotlib
before a lesson's first cell is done; a kernel forked from this process finds them
already imported, so a restart and Run All starts at once. It serves one learner's
JupyterLab (`make lab`, `make study`), with no sandbox: its kernels are that learner's,
with their rights, as a fresh kernel would be. The grader's warm process
(sandbox/warm_server.py) is the sandboxed version of the same idea.

    JupyterLab --stdin/stdout (JSON lines)--> this process --fork--> kernels

This module is the program, `python -m autograde.preloaded_server`; JupyterLab's side is
the kernel provisioner in preloaded.py. The process ends, and ends its kernels, when
JupyterLab closes its stdin (or exits).
"""

import ctypes
import functools
import os
import signal
import sys

from .sandbox.warm_server import WARM_MODULES, become_kernel, preload, requests_from

# Lesson 01 compares with legacy Keras 2 as well; the lessons draw from numpy.random.
PRELOADED_MODULES = (*WARM_MODULES, "numpy.random", "tf_keras")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def serve():
    """Import the lessons' modules, then fork a kernel per request; exit when stdin closes."""
    # What imported modules and kernels print goes to JupyterLab's log.
    requests, replies, reply = preload(PRELOADED_MODULES)
    kernels = set()
    # A forked kernel compares its parent with this pid: see _prepare_kernel.
    prepare = functools.partial(_prepare_kernel, server=os.getpid())
    reply(op="ready", pid=os.getpid())
    for request in requests_from(requests, kernels, reply):
        if request["op"] == "start":
            pid = os.fork()
            if pid == 0:
                replies.close()
                become_kernel(prepare, request)  # never returns
            kernels.add(pid)
            reply(op="started", pid=pid)
        elif request["op"] == "signal" and request["pid"] in kernels:
            _signal_group(request["pid"], request["signum"])
    # JupyterLab is gone: so are its kernels.
    for pid in kernels:
        _signal_group(pid, signal.SIGKILL)
    os._exit(0)  # without TensorFlow's slow clean-up


def _signal_group(pid, signum):
    """Signal a kernel and what it started, as JupyterLab does a kernel it started itself."""
    try:
        os.killpg(pid, signum)  # each kernel leads its own process group (setsid below)
    except ProcessLookupError:
        pass


def _prepare_kernel(request, server):
    """Take the kernel's folder and environment; return ipykernel's arguments. `server` is
    the preloaded process's pid."""
    # If this process is killed (the out-of-memory killer, say), its kernels die with it
    # rather than run on as orphans, whether or not ipykernel polls for its parent.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != server:  # it died before the line above
        os._exit(1)
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # the requests stay with this process; output goes to the log
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # A fresh kernel's unseeded NumPy draws differ from run to run; every fork would
    # otherwise repeat this process's. (Python's `random` reseeds itself at fork.)
    sys.modules["numpy.random"].seed()
    arguments = list(request["arguments"])
    # ipykernel read JPY_PARENT_PID when this process imported it, before JupyterLab set it.
    if os.environ.get("JPY_PARENT_PID"):
        arguments.append(f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}")
    return arguments


if __name__ == "__main__":
    serve()
