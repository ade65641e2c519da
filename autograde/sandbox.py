"""A kernel manager that starts each student's kernel in a sandbox, with a memory cap.

nbgrader's Execute preprocessor takes a `kernel_manager_class`; this one wraps the
kernel's command line:
- `prlimit --as`: a memory cap per kernel, so a memory bomb ends only its own kernel
  (Linux; always on);
- `bwrap` (bubblewrap, from Debian's `bubblewrap` package): the file system is read-only
  except the submission's own working folder; the course folder (gradebook, source
  notebooks with hidden tests, other students' work) is replaced by an empty one; the
  notebook being graded is hidden; and the kernel has no network.
Without bwrap the kernel still runs, with the memory cap only, and the grader warns.
"""

import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Float, List, Unicode


class SandboxUnavailable(UserWarning):
    pass


def bwrap_path():
    return shutil.which("bwrap")


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel under prlimit, and under bubblewrap where it is installed."""

    memory_limit_gb = Float(4.0, help="Address-space cap per kernel, in GiB.").tag(config=True)
    hidden_paths = List(Unicode(), help="Folders the kernel must not see (the course root).").tag(
        config=True
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Unix sockets in a private folder, bound into the sandbox: TCP cannot cross
        # into a kernel that has no network.
        self._socket_dir = tempfile.mkdtemp(prefix="autograde-kernel-")
        self.transport = "ipc"
        self.ip = str(Path(self._socket_dir) / "kernel")
        self.connection_file = str(Path(self._socket_dir) / "kernel.json")

    async def _async_pre_start_kernel(self, **kw):
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        return self.sandbox_command(cmd, kw.get("cwd")), kw

    def sandbox_command(self, cmd, cwd):
        limit = str(int(self.memory_limit_gb * 2**30))
        capped = ["prlimit", f"--as={limit}", "--", *cmd]
        bwrap = bwrap_path()
        if bwrap is None:
            warnings.warn(
                "bubblewrap (bwrap) is not installed: student code can read and write "
                "anything this user can, and reach the network. Install the Debian package "
                "'bubblewrap' to sandbox grading.",
                SandboxUnavailable,
                stacklevel=2,
            )
            return capped
        args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        # No --die-with-parent: with it, the SIGINT that interrupts a cell does not reach
        # the kernel. ipykernel exits by itself when its parent is gone.
        args += ["--tmpfs", "/tmp", "--unshare-net"]
        for hidden in self.hidden_paths:
            args += ["--tmpfs", hidden]
        if cwd:
            args += ["--bind", cwd, cwd]
            # The notebook being graded holds the hidden tests: the kernel must not read it.
            for notebook in Path(cwd).glob("*.ipynb"):
                args += ["--ro-bind", "/dev/null", str(notebook)]
        args += ["--bind", self._socket_dir, self._socket_dir]
        args += ["--setenv", "HOME", "/tmp", "--setenv", "IPYTHONDIR", "/tmp/ipython"]
        args += ["--setenv", "MPLCONFIGDIR", "/tmp/matplotlib"]
        # Interrupting a cell that ran out of time sends SIGINT to the whole process group.
        # bubblewrap would die of it, and ipykernel shuts down once its parent is gone; so
        # bubblewrap ignores SIGINT, and the kernel gets the default handling back.
        ignore_sigint = ["sh", "-c", 'trap "" INT; exec "$@"', "sh"]
        restore_sigint = [
            sys.executable,
            "-c",
            "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
            "os.execvp(sys.argv[1], sys.argv[1:])",
        ]
        return [*ignore_sigint, *args, *restore_sigint, *capped]

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
