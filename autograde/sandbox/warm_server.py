"""Warm kernels: one sandboxed process imports TensorFlow once and forks a kernel per submission.

Starting a kernel and importing TensorFlow costs about 3.5 s of CPU, most of what grading
one lesson notebook costs. The zygote (Android's name for the idea) pays it once per
grading worker. It runs in the same bubblewrap sandbox a fresh kernel would (read-only
file system, course folder hidden, no network, no capabilities, a PID namespace of its
own), and keeps its parent's pipes as its only way in:

    worker --stdin/stdout (JSON lines)--> zygote --fork--> kernel, one at a time

Nothing passes from one student to the next:
- each kernel is a fork, so it starts from the zygote's clean memory and its changes stay
  its own; the zygote is not dumpable, so a kernel cannot trace it or write its memory;
- the zygote's reply pipe is closed in each kernel, so a kernel cannot forge replies;
- before each kernel the zygote kills every other process in the sandbox (`kill(-1)`
  reaches only its own PID namespace) and deletes whatever was written to /tmp,
  /dev/shm, /dev and the working folders;
- a kernel that kills or stops the zygote ends its own sandbox; the worker starts a new
  zygote (sandbox.py).

`python -m autograde.zygote` is the zygote; `Zygote` and `ForkedKernel` are the worker's side.
"""

import ctypes
import importlib
import json
import os
import queue
import resource
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

# What every lesson imports, and ipykernel itself: loaded once, before any fork.
WARM_MODULES = (
    "numpy",
    "matplotlib",
    "matplotlib.pyplot",
    "tensorflow",
    "keras",
    "course_lib",
    "ipykernel.kernelapp",
)
# The places in the sandbox a kernel can write, emptied between kernels; /dev keeps
# the device nodes it had when the zygote started.
SCRATCH = ("/tmp", "/dev/shm")
DEVICES = "/dev"
PR_SET_DUMPABLE = 4
STARTUP_TIMEOUT = 120  # seconds for the zygote's imports, on a loaded machine
RESET_TIMEOUT = 10  # seconds to kill a kernel's processes (5 at most) and delete its files


# -- the zygote, inside the sandbox ----------------------------------------------------


def serve(host_pid_namespace):
    """Import the warm modules, then answer the worker's requests until stdin closes."""
    if os.readlink("/proc/self/ns/pid") == host_pid_namespace:
        # kill(-1) would reach every process of this user on the machine.
        raise SystemExit(
            "autograde.zygote must run in a PID namespace of its own (bwrap --unshare-pid)"
        )
    # ipykernel sets this before matplotlib loads; matplotlib reads it once, at import.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for kernels, not for us
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what imported modules print must not corrupt the replies
    for name in WARM_MODULES:
        importlib.import_module(name)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")
    devices = set(_listdir(DEVICES))
    kernels = set()
    requests = os.fdopen(0, "rb", buffering=0)

    def reply(**message):
        replies.write(json.dumps(message) + "\n")

    reply(op="ready", pid=os.getpid())
    pending = b""
    while True:
        for pid, status in _reap():
            if pid in kernels:
                kernels.discard(pid)
                reply(op="exited", pid=pid, status=_returncode(status))
        readable, _, _ = select.select([requests], [], [], 0.1)
        if not readable:
            continue
        chunk = requests.read(65536)
        if not chunk:  # the worker is gone
            _kill_the_rest()
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            if request["op"] == "reset":
                _kill_the_rest()
                kernels.clear()
                _wipe(devices, request["slot"])
                reply(op="reset")
            elif request["op"] == "start":
                pid = os.fork()
                if pid == 0:
                    replies.close()  # a kernel that could write here could forge replies
                    _become_kernel(request)  # never returns
                kernels.add(pid)
                reply(op="started", pid=pid)
            elif request["op"] == "signal" and request["pid"] in kernels:
                try:
                    os.kill(request["pid"], request["signum"])
                except ProcessLookupError:
                    pass


def _become_kernel(request):
    """In the forked child: take the kernel's limits, folder and environment, run ipykernel."""
    code = 1
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # the zygote's pipes stay with the zygote
            os.dup2(null, fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        limit = request["memory_limit"]
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
        sys.modules["ipykernel.kernelapp"].launch_new_instance()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status


def _returncode(status):
    """As subprocess.Popen reports it: the exit code, or minus the signal that killed it."""
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _others():
    """Processes in this PID namespace other than its init (1) and the zygote."""
    return [int(p) for p in _listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]


def _kill_the_rest():
    """Kill every process left in the sandbox: kernels and anything they started."""
    deadline = time.monotonic() + 5
    while _others() and time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)  # all we may signal in our namespace, but us and init
        except ProcessLookupError:
            pass
        for _ in _reap():
            pass
        time.sleep(0.01)


def _wipe(devices, slot):
    """Delete everything kernels wrote: /tmp and /dev/shm, new entries in /dev, the slot."""
    for folder in SCRATCH:
        for name in _listdir(folder):
            path = os.path.join(folder, name)
            if not (slot + os.sep).startswith(path + os.sep):  # not on the way to the slot
                _remove(path)
    for name in set(_listdir(DEVICES)) - devices:
        _remove(os.path.join(DEVICES, name))
    for name in _listdir(slot):
        _remove(os.path.join(slot, name))


def _listdir(folder):
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


# -- the worker's side -----------------------------------------------------------------


class WarmKernelError(RuntimeError):
    pass


class Zygote:
    """A running zygote, started with `command` (the sandbox around `python -m autograde.zygote`).

    `slot` is a folder bound writable into the sandbox: kernels' sockets and working
    folders live there, and `reset()` empties it.
    """

    def __init__(self, command, slot):
        self.slot = slot
        self.taken = False  # by a kernel manager; see sandbox.take_zygote
        self.process = subprocess.Popen(
            [*command, sys.executable, "-m", "autograde.zygote", os.readlink("/proc/self/ns/pid")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd="/",
        )
        self._replies = queue.Queue()
        self._exits = {}
        self._changed = threading.Condition()
        self._lock = threading.Lock()  # one request and its reply at a time
        threading.Thread(target=self._read, daemon=True).start()
        self._expect("ready", STARTUP_TIMEOUT)

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
            self.process.wait()
            if op == "ready":
                raise WarmKernelError(
                    "the warm kernel process did not start (its error is in the grader's "
                    "log). To start every kernel afresh instead, set "
                    "c.SandboxedKernelManager.warm = False in nbgrader_config.py."
                )
            raise WarmKernelError(f"the warm kernel process stopped answering ({op!r})")
        return message

    @property
    def alive(self):
        return self.process.poll() is None

    def reset(self):
        """Kill whatever the previous kernel left running and delete what it wrote."""
        with self._lock:
            self._send(op="reset", slot=self.slot)
            self._expect("reset", RESET_TIMEOUT)

    def start_kernel(self, connection_file, cwd, env, memory_limit):
        """Fork a kernel that serves `connection_file` from `cwd`; a Popen-like handle."""
        with self._lock:
            self._send(
                op="start",
                connection_file=connection_file,
                cwd=cwd,
                env=env,
                memory_limit=memory_limit,
            )
            return ForkedKernel(self, self._expect("started", 30)["pid"])

    def exit_status(self, pid):
        with self._changed:
            if pid in self._exits:
                return self._exits[pid]
        # A kernel dies with its zygote: the sandbox's PID namespace ends with it.
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
        """End the zygote and everything in its sandbox."""
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()  # the zygote kills the rest and exits
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ForkedKernel:
    """What jupyter_client's LocalProvisioner needs of a kernel process (a Popen's methods)."""

    stdin = stdout = stderr = None

    def __init__(self, zygote, pid):
        self.zygote, self.pid = zygote, pid

    @property
    def returncode(self):
        return self.zygote.exit_status(self.pid)

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        return self.zygote.wait_for_exit(self.pid, timeout)

    def send_signal(self, signum):
        if self.poll() is None:
            try:
                self.zygote.signal(self.pid, signum)
            except WarmKernelError:
                pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


if __name__ == "__main__":
    serve(sys.argv[1])
