"""The sandbox around each student's kernel: bubblewrap, a memory cap, and warm kernels.

- bwrap.py: the bubblewrap command line, and what it hides, binds and drops;
- kernel_manager.py: `SandboxedKernelManager`, which nbgrader's Execute uses to start kernels;
- warm_server.py: the warm process that runs inside the sandbox and forks kernels;
- warm_client.py: the grader's side of it, and the pool of warm processes.
"""

import importlib

from .bwrap import SandboxError, bwrap_path

__all__ = ["SandboxError", "SandboxUnavailable", "SandboxedKernelManager", "bwrap_path"]


def __getattr__(name):
    # kernel_manager is imported on first use: the warm process, which starts as
    # `python -m autograde.sandbox.warm_server`, imports this package first, and importing
    # jupyter_client and nbgrader there would cost every warm process 2.8 s.
    if name in ("SandboxedKernelManager", "SandboxUnavailable"):
        return getattr(importlib.import_module(".kernel_manager", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
