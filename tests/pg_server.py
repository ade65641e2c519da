"""A throw-away PostgreSQL server for tests and benchmarks: its own cluster, folder and port.

PostgreSQL refuses to run as root, so as root the cluster belongs to `nobody` (through
`runuser`); otherwise to the current user. The server listens on 127.0.0.1 on a free
port, with password authentication (scram-sha-256), and is removed with its folder by
`stop()`. Debian's `postgresql` package puts the binaries in /usr/lib/postgresql/N/bin.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER_PASSWORD = "throwaway-superuser"


class Unavailable(Exception):
    """PostgreSQL cannot be started here; the message says why."""


def binaries():
    """The folder holding initdb and pg_ctl: on PATH, else Debian's newest version."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda f: int(Path(f).parent.name))
    if not folders:
        raise Unavailable(
            "PostgreSQL is not installed (Debian package 'postgresql'; .ci/run installs it)"
        )
    return Path(folders[-1])


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`Server().start()`; then `url(user, password, database)`, `create_database(...)`."""

    def __init__(self):
        self.bin = binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="autograde-pg-"))
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.port = None
        self.as_owner = []
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("nobody")
            except KeyError as error:
                raise Unavailable("running as root and there is no user 'nobody'") from error
            if not shutil.which("runuser"):
                raise Unavailable("running as root and runuser (util-linux) is missing")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_owner = ["runuser", "-u", "nobody", "--"]

    def _run(self, *command, timeout=120):
        return subprocess.run(
            [*self.as_owner, *map(str, command)],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self):
        password_file = self.folder / "superuser-password"
        password_file.write_text(SUPERUSER_PASSWORD + "\n")
        if self.as_owner:
            shutil.chown(password_file, "nobody")
        init = self._run(
            self.bin / "initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={password_file}",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if init.returncode:
            self.stop()
            raise Unavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        for _ in range(3):  # the free port may be taken before the server binds it
            self.port = free_port()
            options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            options += " -c fsync=off -c max_connections=200"
            started = self._run(
                self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start"
            )
            if started.returncode == 0:
                return self
            time.sleep(0.5)
        log = self.log.read_text() if self.log.exists() else started.stderr
        self.stop()
        raise Unavailable(f"the PostgreSQL server did not start: {log.strip()[-500:]}")

    def url(self, user="postgres", password=SUPERUSER_PASSWORD, database="postgres"):
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def execute(self, *statements, database="postgres"):
        """Run statements as the superuser, each in its own transaction; the last one's rows."""
        import psycopg

        connection = psycopg.connect(self.url(database=database), autocommit=True)
        try:
            with connection.cursor() as cursor:
                rows = None
                for statement in statements:
                    cursor.execute(statement)
                    rows = cursor.fetchall() if cursor.description else None
                return rows
        finally:
            connection.close()

    def create_user(self, user, password):
        self.execute(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'")

    def create_database(self, name, owner):
        self.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')

    def stop(self):
        if self.port is not None and (self.data / "postmaster.pid").exists():
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "stop", timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)
