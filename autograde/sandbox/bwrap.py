"""The bubblewrap sandbox every student kernel runs in: what it hides, binds and drops."""

import shutil
import sys
from pathlib import Path

# Every kernel's home and caches are in its sandbox's private /tmp.
KERNEL_ENV = {"HOME": "/tmp", "IPYTHONDIR": "/tmp/ipython", "MPLCONFIGDIR": "/tmp/matplotlib"}
PROJECT = Path(__file__).resolve().parents[2]


class SandboxError(RuntimeError):
    """No sandbox could be started for a kernel."""


def bwrap_path():
    return shutil.which("bwrap")


def sandbox_command(bwrap, hidden_paths, mounts):
    """The sandbox every kernel gets: read-only system, private /tmp, no network, course
    folder hidden behind an empty read-only one; `mounts` are bwrap's binds to add."""
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    args += ["--tmpfs", "/tmp", "--unshare-net", "--unshare-ipc"]
    # Python, its packages and this project stay visible if they live under /tmp.
    code = {sys.prefix, sys.base_prefix, str(PROJECT)}
    for path in sorted(code):
        if Path(path).is_relative_to("/tmp"):
            args += ["--ro-bind", path, path]
    # Run as root, bubblewrap would leave the kernel root's capabilities, among them
    # remounting the file system read-write and reading any process's memory.
    args += ["--cap-drop", "ALL"]
    for hidden in hidden_paths:
        args += ["--tmpfs", hidden]
    args += mounts
    for hidden in hidden_paths:
        args += ["--remount-ro", hidden]
    for name, value in KERNEL_ENV.items():
        args += ["--setenv", name, value]
    return args
