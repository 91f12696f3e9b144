"""`clausewatch canary` reporting its hits to a real collector with a source token."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.agents.canary_process import start_canary
from tests.integration.conftest import cli

pytestmark = pytest.mark.integration


def test_hits_reach_the_collector_with_source_address(collector, tmp_path: Path) -> None:
    admin = collector.login("admin")
    r = collector.client("admin").post("/api/v1/source-tokens",
                                       json={"name": "dmz-canary", "subject_kinds": ["canary"]})
    assert r.status_code == 201, r.text
    token_file = tmp_path / "canary.token"
    token_file.write_text(r.json()["token"])
    canary = start_canary("--collector", collector.url, "--token-file", str(token_file), "--name", "dmz-canary",
                          "--state-dir", str(tmp_path / "spool"), "--interval-s", "1")
    try:
        with socket.create_connection(("127.0.0.1", canary.port), timeout=2) as s:
            s.recv(10)
        seen: list = []
        deadline = time.monotonic() + 20
        while not seen and time.monotonic() < deadline:
            seen = collector.client("admin").get("/api/v1/observations", params={"kind": "canary.hit"}).json()
            time.sleep(0.2)
    finally:
        canary.stop()
    assert admin and len(seen) == 1
    hit = seen[0]
    assert hit["subject_kind"] == "canary" and hit["subject_id"] == "dmz-canary"
    assert hit["payload"]["source_address"] == "127.0.0.1" and hit["payload"]["port"] == canary.port
    assert hit["source"] == "source:dmz-canary"
    finding = wait_finding(collector, "EGRESS-CANARY-QUIET", "dmz-canary", "fail")
    assert finding["status"] == "fail" and "127.0.0.1" in finding["reason"]["en"]


def wait_finding(collector, control: str, subject: str, status: str, timeout_s: float = 30) -> dict:
    """The finding once it has `status` (the canary's first status, before any hit, is a pass)."""
    deadline, rows = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        rows = collector.client("admin").get("/api/v1/findings", params={"control": control,
                                                                         "subject": subject}).json()
        if rows and rows[0]["status"] == status:
            return rows[0]
        time.sleep(0.3)
    statuses = collector.client("admin").get("/api/v1/observations", params={"kind": "canary.status"}).json()
    raise AssertionError(f"{control} on {subject} never became {status}: {rows}; "
                         f"{[(o['observed_at'], o['payload']['hit_count']) for o in statuses]}")


@pytest.mark.parametrize("args, message", [
    pytest.param(["--listen", "nowhere"], "--listen", id="no port"),
    pytest.param(["--listen", "127.0.0.1:99999"], "--listen", id="port out of range"),
    pytest.param(["--listen", "127.0.0.1:0", "--collector", "http://127.0.0.1:1"], "--token-file", id="no token"),
])
def test_bad_canary_options_exit_2(args: list[str], message: str) -> None:
    r = cli("canary", *args)
    assert r.returncode == 2 and message in r.stderr
