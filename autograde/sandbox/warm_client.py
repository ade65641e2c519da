"""The worker's side of warm kernels: start a warm process, ask it for kernels, keep a pool of them.

`WarmProcess` talks to one `python -m autograde.sandbox.warm_server` in its sandbox;
`ForkedKernel` is a kernel it forked, seen as jupyter_client sees a Popen; `WarmPool`
hands each kernel manager a warm process of its own.
"""

import atexit
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .. import config
from .bwrap import SandboxError, bwrap_path, outside_env, sandbox_command, socket_home
from .limits import ProcessCap

STARTUP_TIMEOUT = 120  # seconds for the warm process's imports, on a loaded machine
RESET_TIMEOUT = 10  # seconds to kill a kernel's processes (5 at most) and delete its files


class WarmKernelError(SandboxError):
    """A warm process did not start, or stopped answering."""


class WarmProcess:
    """A running warm process, started with `command` (its sandbox, around the server).

    `slot` is a folder bound writable into the sandbox: kernels' sockets and working
    folders live there, and `reset()` empties it.
    """

    # The message when it does not start: where its error went, and what to do.
    not_started = (
        "the warm kernel process did not start (its error is in the grader's log). To start "
        "every kernel afresh instead, set c.SandboxedKernelManager.warm = False in "
        "nbgrader_config.py."
    )

    def __init__(self, command, slot, process_cap=None, wait=True):
        self.slot = slot
        self.process_cap = process_cap  # its sandbox's pids cgroup, closed when it stops
        self.taken = False  # by a kernel manager; see WarmPool.take
        self.standby = None  # a kernel started ahead of its submission; see kernel_manager.py
        self._start(
            [
                *command,
                sys.executable,
                "-m",
                "autograde.sandbox.warm_server",
                os.readlink("/proc/self/ns/pid"),
            ],
            wait=wait,
            cwd="/",
            env=outside_env(),  # the sandbox's init keeps it: nothing of the grader's
        )

    def _start(self, argv, wait=True, **popen_options):
        """Start the server `argv`; wait until it says it is ready, unless not `wait`."""
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **popen_options
        )
        self._replies = queue.Queue()
        self._exits = {}
        self._changed = threading.Condition()
        self._lock = threading.Lock()  # one request and its reply at a time
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._ready = False
        if wait:
            self.wait_ready()

    def wait_ready(self):
        """Wait until the server has said it is ready (once)."""
        if not self._ready:
            self._expect("ready", STARTUP_TIMEOUT)
            self._ready = True

    def _read(self):
        for line in self.process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message["op"] == "exited":
                with self._changed:
                    self._exits[message["pid"]] = message["status"]
                    self._changed.notify_all()
            else:
                self._replies.put(message)
        self._replies.put(None)
        with self._changed:
            self._changed.notify_all()

    def _send(self, **request):
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError) as error:
            raise WarmKernelError("the warm kernel process has exited") from error

    def _expect(self, op, timeout):
        try:
            message = self._replies.get(timeout=timeout)
        except queue.Empty:
            message = None
        if message is None or message["op"] != op:
            self.process.kill()  # it cannot be trusted to end itself; its sandbox ends with it
            self.stop()  # and its pipes are closed
            if op == "ready":
                raise WarmKernelError(self.not_started)
            raise WarmKernelError(f"the warm kernel process stopped answering ({op!r})")
        return message

    @property
    def alive(self):
        return self.process.poll() is None

    @property
    def hidden_paths(self):
        """The folders its sandbox hides (the first of the caps WarmPool gave it)."""
        return self.caps[0]

    def reset(self):
        """Kill whatever the previous kernel left running and delete what it wrote."""
        with self._lock:
            self._send(op="reset", slot=self.slot)
            self._expect("reset", RESET_TIMEOUT)

    def start_kernel(self, connection_file, cwd, env, limits):
        """Fork a kernel that serves `connection_file` from `cwd`; a Popen-like handle."""
        with self._lock:
            self._send(
                op="start",
                connection_file=connection_file,
                cwd=cwd,
                env=env,
                limits=limits,
            )
            return ForkedKernel(self, self._expect("started", 30)["pid"])

    def fill(self, pid, cwd):
        """Copy `cwd` into the folder of kernel `pid`, started without one; False if it has ended."""
        with self._lock:
            self._send(op="fill", pid=pid, cwd=cwd)
            return self._expect("filled", RESET_TIMEOUT)["ok"]

    def exit_status(self, pid):
        with self._changed:
            if pid in self._exits:
                return self._exits[pid]
        # A kernel dies with its warm process: the sandbox's PID namespace ends with it.
        return None if self.alive else -signal.SIGKILL

    def wait_for_exit(self, pid, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while self.exit_status(pid) is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired("kernel", timeout)
                self._changed.wait(0.1 if left is None else min(left, 0.1))
        return self.exit_status(pid)

    def signal(self, pid, signum):
        with self._lock:
            self._send(op="signal", pid=pid, signum=int(signum))

    def stop(self):
        """End the warm process and everything in its sandbox."""
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()  # it kills the rest and exits
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=10)  # it reads to the end of the pipe, then ends
        if not self._reader.is_alive():
            self.process.stdout.close()
        if self.process_cap is not None:
            self.process_cap.close()


class ForkedKernel:
    """What jupyter_client's LocalProvisioner needs of a kernel process (a Popen's methods)."""

    stdin = stdout = stderr = None

    def __init__(self, warm, pid):
        self.warm, self.pid = warm, pid

    @property
    def returncode(self):
        return self.warm.exit_status(self.pid)

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        return self.warm.wait_for_exit(self.pid, timeout)

    def send_signal(self, signum):
        if self.poll() is None:
            try:
                self.warm.signal(self.pid, signum)
            except WarmKernelError:
                pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


def slot_prefix(pid):
    """The start of the name of each warm slot grading process `pid` makes.

    A process killed outright (past its hard limit, say) cannot delete its slots; named
    after it, they can be found and deleted by the process that killed it.
    """
    return f"autograde-warm-{pid}-"


def socket_folder_prefix(pid):
    """The same for the socket folder of each kernel process `pid` starts afresh
    (kernel_manager.py; a warm kernel's sockets are in its slot)."""
    return f"autograde-kernel-{pid}-"


def remove_leftovers_of(pid):
    """Delete what is left of the warm slots and kernel socket folders of grading process
    `pid`, which has ended."""
    for prefix in (slot_prefix(pid), socket_folder_prefix(pid)):
        for folder in Path(socket_home()).glob(prefix + "*"):
            shutil.rmtree(folder, ignore_errors=True)


class WarmPool:
    """The warm processes of one grading process; each serves one kernel manager at a time.

    A grading worker uses one; several kernels at once (formgrader, say) each get their
    own, since a warm process kills what its previous kernel left behind before it starts
    the next.
    """

    def __init__(self):
        self._warm = []
        self._lock = threading.Lock()

    def start(self, hidden_paths, max_processes=config.MAX_PROCESSES, tmp_bytes=2**30):
        """Start a warm process for kernels that hide `hidden_paths`, not waiting for it to be
        ready: a grading worker's, as it starts (worker_process.py). `take` waits."""
        with self._lock:
            self._warm.append(self._new(hidden_paths, max_processes, tmp_bytes, wait=False))

    def take(self, hidden_paths, max_processes=config.MAX_PROCESSES, tmp_bytes=2**30):
        """An idle warm process for kernels that hide `hidden_paths`, started if need be."""
        caps = (list(hidden_paths), max_processes, tmp_bytes)
        with self._lock:
            for warm in list(self._warm):
                if not warm.alive:
                    self._warm.remove(warm)
                    self._discard(warm)
                elif not warm.taken and warm.caps == caps:
                    try:
                        warm.wait_ready()
                    except WarmKernelError:  # it has been stopped
                        self._warm.remove(warm)
                        self._discard(warm)
                        raise
                    warm.taken = True
                    return warm
            warm = self._new(hidden_paths, max_processes, tmp_bytes, wait=True)
            warm.taken = True
            self._warm.append(warm)
            return warm

    @staticmethod
    def _new(hidden_paths, max_processes, tmp_bytes, wait):
        slot = tempfile.mkdtemp(prefix=slot_prefix(os.getpid()), dir=socket_home())
        command = sandbox_command(bwrap_path(), hidden_paths, ["--bind", slot, slot], tmp_bytes)
        # Its own PID namespace: the warm process can then kill all a kernel left behind.
        command += ["--unshare-pid", "--die-with-parent"]
        cap = ProcessCap(max_processes)
        try:
            warm = WarmProcess(cap.command(command), slot, cap, wait=wait)
        except (WarmKernelError, OSError):
            cap.close()
            shutil.rmtree(slot, ignore_errors=True)
            raise
        warm.caps = (list(hidden_paths), max_processes, tmp_bytes)
        return warm

    @staticmethod
    def release(warm):
        warm.taken = False

    @staticmethod
    def _discard(warm):
        warm.stop()
        shutil.rmtree(warm.slot, ignore_errors=True)

    def stop_all(self):
        """Stop every warm process and delete its slot (at exit)."""
        with self._lock:
            for warm in self._warm:
                self._discard(warm)
            self._warm.clear()


# This process's warm processes, shared by its kernel managers (kernel_manager.py).
WARM_POOL = WarmPool()
atexit.register(WARM_POOL.stop_all)


def start_warm_process_early(root):
    """Start the warm process the course's first kernel will take, if its kernels are warm.

    A grading worker calls this before it imports nbgrader, so that the warm process's
    imports (TensorFlow: 3.6 s) run beside its own (1 s) and its first submission's
    preparation, rather than after them. The caps are those SandboxedKernelManager reads
    from the same config; where they would differ, the kernel manager starts its own.
    """
    settings = config.load_config(root).SandboxedKernelManager
    if not settings.get("warm", True) or bwrap_path() is None:  # kernels start afresh
        return
    WARM_POOL.start(
        [str(Path(root).resolve())],
        settings.get("max_processes", config.MAX_PROCESSES),
        int(settings.get("disk_limit_gb", config.DISK_GB) * 2**30),
    )
