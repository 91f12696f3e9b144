"""A real collector process (`clausewatch serve`) on a loopback port, owned by the fixture."""
from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

PASSWORD = "correct horse battery"
BIN = Path(sys.executable).parent / "clausewatch"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], input=stdin, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@dataclass
class Collector:
    db: Path
    port: int
    proc: subprocess.Popen | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    log: Path | None = None
    workdir: Path | None = None  # for the log: the store's folder unless the store is a database URL
    env: dict[str, str] = field(default_factory=dict)  # settings of the next start
    tls: tuple[Path, Path, Path] | None = None  # (CA, certificate, key): serve HTTPS with this certificate
    # Large batches (64 KiB and more) prepared in the service's preparation processes, as in production. Off,
    # the service starts none (each costs about half a second of CPU at every start) and prepares every batch
    # in its own process: for tests that never send a batch that large (mark those that do `ingest_pool`).
    ingest_pool: bool = False

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log = (self.workdir or self.db.parent) / "serve.log"
        with open(self.log, "ab") as log:
            tls = ["--tls-cert", str(self.tls[1]), "--tls-key", str(self.tls[2])] if self.tls else []
            self.proc = subprocess.Popen([str(BIN), "serve", "--db", str(self.db), "--port", str(self.port), *tls],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "CLAUSEWATCH_SWEEP_S": "2",
                                              "CLAUSEWATCH_CHECKPOINT_S": "1", **self._pool_env(), **self.env})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1, verify=self.verify).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited: {self.log.read_text()}")
            time.sleep(0.1)
        raise RuntimeError(f"collector did not answer /healthz within 30 s: {self.log.read_text()[-2000:]}")

    def _pool_env(self) -> dict[str, str]:
        return {} if self.ingest_pool else {"CLAUSEWATCH_INGEST_PROCESSES": "0"}

    @property
    def verify(self) -> ssl.SSLContext | bool:
        return ssl.create_default_context(cafile=str(self.tls[0])) if self.tls else True

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)

    def client(self, who: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def login(self, user: str) -> str:
        r = httpx.post(self.url + "/api/v1/auth/token", json={"username": user, "password": PASSWORD})
        r.raise_for_status()
        self.tokens[user] = r.json()["token"]
        return self.tokens[user]

    def enroll(self, host: str) -> str:
        r = httpx.post(self.url + "/api/v1/enroll", json={"secret": self.secret, "host_id": host})
        r.raise_for_status()
        self.tokens[host] = r.json()["token"]
        return self.tokens[host]


def wants_ingest_pool(request: pytest.FixtureRequest) -> bool:
    """Whether the test is marked `ingest_pool`: it sends batches large enough for the preparation processes."""
    return request.node.get_closest_marker("ingest_pool") is not None


@pytest.fixture
def collector(tmp_path: Path, request: pytest.FixtureRequest):
    from collector import auth
    from collector.store.sqlite import SqliteStore

    db = tmp_path / "cw.db"
    store = SqliteStore(db)
    for user in auth.ROLES:
        auth.add_user(store, user, user, PASSWORD)
    _, secret = auth.create_enroll_secret(store)
    store.close()
    c = Collector(db, free_port(), ingest_pool=wants_ingest_pool(request))
    c.secret = secret  # type: ignore[attr-defined]
    c.start()
    yield c
    c.kill(signal.SIGTERM)
