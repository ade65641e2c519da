"""The sandbox around each student's kernel: bubblewrap, a memory cap, and warm kernels.

- bwrap.py: the bubblewrap command line, and what it hides, binds and drops;
- kernel_manager.py: `SandboxedKernelManager`, which nbgrader's Execute uses to start kernels;
- warm_server.py: the warm process that runs inside the sandbox and forks kernels;
- warm_client.py: the grader's side of it, and the pool of warm processes.
"""

from .bwrap import SandboxError, bwrap_path
from .kernel_manager import SandboxedKernelManager, SandboxUnavailable

__all__ = ["SandboxError", "SandboxUnavailable", "SandboxedKernelManager", "bwrap_path"]
