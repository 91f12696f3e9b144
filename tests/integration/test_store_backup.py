"""`store backup` while the real service ingests: the copy restores elsewhere and verifies, with the
ledger head it had when it was taken."""
from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

from collector.store.backup import DATABASE
from tests.integration.conftest import cli
from tests.integration.test_collector_api import ob

pytestmark = pytest.mark.integration


def _head(db) -> tuple[int, str]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        conn.close()


def _batches(db) -> int:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM batches").fetchone()[0]
    finally:
        conn.close()


def _feed(collector, stop: threading.Event, batches: list[int], errors: list[str]) -> None:
    with collector.client("h1") as c:
        while not stop.is_set():
            r = c.post("/api/v1/observations", json={"observations": [
                ob("h1", payload={"enforcement": "sysfs", "devices": [], "n": len(batches)}) for _ in range(25)]})
            if r.status_code != 200:
                errors.append(r.text)
                return
            batches.append(len(batches))


def _wait_for(batches: list[int], n: int) -> None:
    deadline = time.monotonic() + 60
    while len(batches) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(batches) >= n


def test_backup_during_ingest_restores_and_verifies(collector, tmp_path):
    collector.enroll("h1")
    stop, batches, errors = threading.Event(), [], []
    feeder = threading.Thread(target=_feed, args=(collector, stop, batches, errors), daemon=True)
    feeder.start()
    try:
        _wait_for(batches, 3)
        out = tmp_path / "backup"
        r = cli("store", "backup", str(out), "--db", str(collector.db), "--json")
        assert r.returncode == 0, r.stderr
        taken_after = len(batches)
        _wait_for(batches, taken_after + 3)  # the service went on ingesting after the copy
    finally:
        stop.set()
        feeder.join(30)
    assert not errors
    manifest = json.loads(r.stdout)
    live_seq, _ = _head(collector.db)
    # the backup sealed the batches it copied: on the live store, and in the copy a batch that slipped in
    # between (so the copy's head is the live one's, or one seal past it)
    assert 0 < manifest["ledger_head_seq"] <= live_seq + 1
    copied = sqlite3.connect(out / DATABASE)
    try:
        assert copied.execute("SELECT count(*) FROM batches WHERE seal IS NULL").fetchone()[0] == 0
    finally:
        copied.close()

    restored = tmp_path / "restored" / "cw.db"
    r = cli("store", "restore", str(out), "--db", str(restored))
    assert r.returncode == 0, r.stderr
    assert _head(restored) == (manifest["ledger_head_seq"], manifest["ledger_head_hash"])
    assert 0 < _batches(restored) < _batches(collector.db)  # the service went on ingesting after the copy
    r = cli("ledger", "verify", "--db", str(restored), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["ok"] is True
    r = cli("store", "restore", str(out), "--db", str(restored))
    assert r.returncode == 2 and "already exists" in r.stderr

