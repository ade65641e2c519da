"""Caps bubblewrap cannot set by itself: how many processes a student's kernel may run.

Two mechanisms, because neither works everywhere:
- `RLIMIT_NPROC`, set inside the sandbox: in the sandbox's own user namespace it counts
  only that sandbox's processes, so it binds any grader but root (the kernel exempts
  root's processes from it);
- a pids cgroup of its own (`pids.max`), where the grader may create one: as root on
  most machines (cgroup v1's pids hierarchy, or a cgroup v2 that delegates `pids`).
The bubblewrap process joins its cgroup before it starts, so every process of the
sandbox is counted from the first.
"""

import os
import signal
import tempfile
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_pids_cgroup():
    """The folder of this process's pids cgroup, or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        number, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):  # cgroup v1
            return CGROUP_ROOT / "pids" / path.lstrip("/")
        if number == "0" and "pids" in _read(CGROUP_ROOT / "cgroup.controllers").split():
            return CGROUP_ROOT / path.lstrip("/")  # cgroup v2
    return None


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


class ProcessCap:
    """A pids cgroup for one sandbox, with at most `max_processes` processes (where one can be
    made; `enforced` says whether it was)."""

    def __init__(self, max_processes):
        self.folder = None
        base = _own_pids_cgroup()
        if base is None or not os.access(base, os.W_OK):
            return
        try:
            folder = Path(tempfile.mkdtemp(prefix="autograde-", dir=base))
        except OSError:
            return
        try:
            (folder / "pids.max").write_text(f"{int(max_processes)}\n")
        except OSError:
            folder.rmdir()
            return
        self.folder = folder

    @property
    def enforced(self):
        return self.folder is not None

    def command(self, command):
        """`command`, made to join the cgroup before it runs (unchanged without one)."""
        if self.folder is None:
            return list(command)
        join = 'echo $$ > "$0" && exec "$@"'
        return ["sh", "-c", join, str(self.folder / "cgroup.procs"), *command]

    def close(self):
        """Kill whatever is still in the cgroup and remove it; idempotent."""
        if self.folder is None:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pids = [int(p) for p in _read(self.folder / "cgroup.procs").split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        try:
            self.folder.rmdir()
        except OSError:
            pass  # a process the kernel has not yet reaped; the folder is empty of work
        self.folder = None
