"""A real PostgreSQL 15 for tests, from Debian's binaries (deploy/apt/postgres.txt).

initdb and postgres refuse to run as root: as root they run as the unprivileged `postgres` user,
in a data folder that user owns. The server listens on 127.0.0.1 only, on a free port, with
durability off (a test database is thrown away). Each test gets a database of its own.
"""
from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BINDIR = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "clausewatch"


def available() -> bool:
    return (BINDIR / "initdb").exists() and (BINDIR / "postgres").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, parent: Path | None = None):
        # below the system's temporary folder: pytest's is private to root, and postgres must enter it
        self.root = Path(tempfile.mkdtemp(prefix="clausewatch-pg-", dir=parent))
        self.data = self.root / "data"
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._names = itertools.count(1)
        # the server stops (fast shutdown) when the test run dies, even by kill -9: no server is left behind
        self._as_user = ["setpriv", "--pdeathsig=SIGINT", "--"]
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self._as_user[1:1] = ["--reuid=postgres", "--regid=postgres", "--init-groups"]

    def start(self) -> None:
        subprocess.run([*self._as_user, str(BINDIR / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                        "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
                       check=True, capture_output=True)
        for _ in range(5):  # a port found free may be taken before the server binds it
            self.port = _free_port()
            if self._run():
                return
        raise RuntimeError(f"PostgreSQL did not start; see {self.root / 'server.log'}")

    def start_again(self) -> None:
        """After `stop`: the server again on the same data folder and port, as after an operator's restart."""
        if not self._run():
            raise RuntimeError(f"PostgreSQL did not start again; see {self.root / 'server.log'}")

    def _run(self) -> bool:
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 (the server writes it until stopped)
        self.proc = subprocess.Popen(
            [*self._as_user, str(BINDIR / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if self._ready(30):
            return True
        self.stop()
        return False

    def _ready(self, timeout_s: float) -> bool:
        import psycopg

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        return False

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        name = f"t{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running() -> Iterator[PostgresServer]:
    """A PostgreSQL started for the block, stopped and its folder removed after it."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()
