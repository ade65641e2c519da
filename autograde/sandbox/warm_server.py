"""The warm process, inside the sandbox: imports TensorFlow once, then forks a kernel per submission.

Starting a kernel and importing TensorFlow costs about 3.5 s of CPU, most of what grading
one lesson notebook costs. The warm process (a "zygote", Android's name for the idea)
pays it once per grading worker. It runs in the same bubblewrap sandbox a fresh kernel
would (read-only file system, course folder hidden, no network, no capabilities, a PID
namespace of its own), and keeps its parent's pipes as its only way in:

    worker --stdin/stdout (JSON lines)--> warm process --fork--> kernel, one at a time

Nothing passes from one student to the next:
- each kernel is a fork, so it starts from the warm process's clean memory and its
  changes stay its own; the warm process is not dumpable, so a kernel cannot trace it
  or write its memory;
- its reply pipe is closed in each kernel, so a kernel cannot forge replies;
- before each kernel it kills every other process in the sandbox (`kill(-1)` reaches
  only its own PID namespace) and deletes whatever was written to /tmp, /dev/shm, /dev
  and the working folders. The worker has this done as soon as a kernel ends, then has
  the next kernel started at once, with an empty folder ("start" without a cwd): it
  starts up while the grader finishes one submission and begins the next, and gets that
  submission's files when it comes ("fill");
- a kernel that kills or stops it ends its own sandbox; the worker starts a new one
  (warm_client.py).

This module is the program, `python -m autograde.sandbox.warm_server`; the worker's side
is warm_client.py.
"""

import ctypes
import importlib
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback

# What every lesson imports, and ipykernel itself: loaded once, before any fork.
# course_lib comes first: importing it quiets TensorFlow's start-up messages.
WARM_MODULES = (
    "course_lib",
    "numpy",
    "matplotlib",
    "matplotlib.pyplot",
    "tensorflow",
    "keras",
    "ipykernel.kernelapp",
)
# The places in the sandbox a kernel can write, emptied between kernels; /dev keeps
# the device nodes it had when the zygote started.
SCRATCH = ("/tmp", "/dev/shm")
DEVICES = "/dev"
PR_SET_DUMPABLE = 4


def serve(host_pid_namespace):
    """Import the warm modules, then answer the worker's requests; exit when stdin closes."""
    if os.readlink("/proc/self/ns/pid") == host_pid_namespace:
        # kill(-1) would reach every process of this user on the machine.
        raise SystemExit(
            "autograde.sandbox.warm_server must run in a PID namespace of its own "
            "(bwrap --unshare-pid)"
        )
    requests, replies, reply = preload(WARM_MODULES)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")
    devices = set(_listdir(DEVICES))
    kernels, works = set(), {}  # works: each kernel's folder
    reply(op="ready", pid=os.getpid())
    for request in requests_from(requests, kernels, reply):
        if request["op"] == "reset":
            _kill_the_rest()
            kernels.clear()
            works.clear()
            _wipe(devices, request["slot"])
            reply(op="reset")
        elif request["op"] == "start":
            # Its folder in the sandbox's /tmp, whose size is the disk cap; the copy in the
            # slot stays as the grader made it. Empty for a kernel started ahead of its
            # submission, whose files come with a "fill".
            work = tempfile.mkdtemp(prefix="work-", dir="/tmp")
            pid = os.fork()
            if pid == 0:
                replies.close()  # a kernel that could write here could forge replies
                become_kernel(_prepare_kernel, {**request, "work": work})  # never returns
            kernels.add(pid)
            works[pid] = work
            reply(op="started", pid=pid)
        elif request["op"] == "fill":
            _report_exits(kernels, reply)  # a kernel that has ended is not filled
            filled = request["pid"] in kernels
            if filled:
                _copy_folder(request["cwd"], works[request["pid"]])
            reply(op="filled", ok=filled)
        elif request["op"] == "signal" and request["pid"] in kernels:
            try:
                os.kill(request["pid"], request["signum"])
            except ProcessLookupError:
                pass
    # The worker is gone.
    _kill_the_rest()
    replies.close()
    sys.stderr.flush()
    # Without the interpreter's clean-up: with TensorFlow loaded it takes a second and a
    # half, which the worker would wait for at the end of every run.
    os._exit(0)


def preload(modules):
    """Import `modules` as a kernel would have them; return the requests' stream, the
    replies' stream, and reply(**message), which writes one reply.

    Replies go to what was stdout; stdout is then stderr, so that nothing imported modules
    (or kernels) print can pass for a reply.
    """
    # ipykernel sets this before matplotlib loads; matplotlib reads it once, at import.
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for kernels, not for us
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    for name in modules:
        importlib.import_module(name)

    def reply(**message):
        replies.write(json.dumps(message) + "\n")

    return os.fdopen(0, "rb", buffering=0), replies, reply


# A pidfd per kernel (pid: fd), readable once the kernel has ended: select() then wakes at
# once, where looking every 0.1 s kept the grader waiting for the next tenth of a second at
# every kernel's shutdown. The look stays, for a kernel without a pidfd (Linux before 5.3).
_EXIT_WATCH = {}
POLL_SECONDS = 0.1


def requests_from(stream, kernels, reply):
    """Each request read from `stream` (JSON lines), until it closes; between reads, the
    exit of each of `kernels` (pids) that has ended is reported with `reply`."""
    pending = b""
    while True:
        _report_exits(kernels, reply)
        _watch_exits(kernels)
        readable, _, _ = select.select([stream, *_EXIT_WATCH.values()], [], [], POLL_SECONDS)
        if stream not in readable:
            continue
        chunk = stream.read(65536)
        if not chunk:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            _watch_exits(kernels)
            yield json.loads(line)


def _report_exits(kernels, reply):
    """Reap what has ended; report each of `kernels` among it (and forget it)."""
    for pid, status in _reap():
        if pid in kernels:
            kernels.discard(pid)
            reply(op="exited", pid=pid, status=_returncode(status))


def _watch_exits(kernels):
    """A pidfd for each of `kernels`, and none for a pid that is no longer one."""
    for pid in set(_EXIT_WATCH) - kernels:
        os.close(_EXIT_WATCH.pop(pid))
    for pid in kernels - set(_EXIT_WATCH):
        try:
            _EXIT_WATCH[pid] = os.pidfd_open(pid)
        except OSError:  # Linux before 5.3
            pass


def become_kernel(prepare, request):
    """In a forked child: prepare(request) the process, then run ipykernel with the
    arguments it returns; exit with ipykernel's code, never return (nor raise into the
    server's loop)."""
    code = 1
    try:
        for fd in _EXIT_WATCH.values():  # the other kernels' are not this one's business
            os.close(fd)
        _EXIT_WATCH.clear()
        sys.argv = ["ipykernel_launcher", *prepare(request)]
        sys.modules["ipykernel.kernelapp"].launch_new_instance()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _prepare_kernel(request):
    """Take the kernel's limits, folder and environment; return ipykernel's arguments."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the zygote's pipes stay with the zygote
        os.dup2(null, fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for name, value in request["limits"].items():  # as, nproc, fsize
        limit = getattr(resource, f"RLIMIT_{name.upper()}")
        resource.setrlimit(limit, (value, value))
    if request["cwd"] is not None:
        _copy_folder(request["cwd"], request["work"])
    os.chdir(request["work"])
    os.environ.clear()
    os.environ.update(request["env"])
    return ["-f", request["connection_file"]]


def _copy_folder(source, work):
    # symlinks=True: a link is copied as a link, never as what it points to.
    shutil.copytree(source, work, symlinks=True, dirs_exist_ok=True)


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


if __name__ == "__main__":
    serve(sys.argv[1])
