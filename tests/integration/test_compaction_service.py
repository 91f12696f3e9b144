"""The running collector compacts its store on its own schedule, and the ledger still verifies."""
from __future__ import annotations

import json
import signal
import sqlite3
import time
from datetime import UTC, datetime

from collector.cli.demo import build_history
from tests.integration.conftest import Collector, cli, free_port


def _compactions(db) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [b for (b,) in conn.execute("SELECT CAST(body AS TEXT) FROM ledger WHERE CAST(body AS TEXT)"
                                           " LIKE '%\"type\":\"store.compacted\"%'")]
    finally:
        conn.close()


def _observations(db) -> int:
    """Every observation kept: full rows and repeats."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT (SELECT count(*) FROM observations)"
                            " + (SELECT count(*) FROM observation_repeats)").fetchone()[0]
    finally:
        conn.close()


def test_scheduled_compaction_runs_and_the_ledger_verifies(tmp_path, monkeypatch):
    db = tmp_path / "cw.db"
    build_history(db, days=2, terminals=2, cameras=3, step_minutes=60, end=datetime.now(UTC))
    before = _observations(db)
    monkeypatch.setenv("CLAUSEWATCH_COMPACT_EVERY_H", "0.0005")  # every 1.8 s
    monkeypatch.setenv("CLAUSEWATCH_KEEP_RAW_DAYS", "0")
    c = Collector(db, free_port())
    c.start()
    try:
        deadline = time.monotonic() + 60
        while not _compactions(db) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        c.kill(signal.SIGTERM)
    entries = _compactions(db)
    assert entries, (c.log.read_text()[-2000:] if c.log else "")
    assert '"actor":"collector"' in entries[0]
    dropped = sum(json.loads(body)["data"]["dropped"] for body in entries)
    assert dropped > before / 3  # two days of hourly data kept raw for none of them: most of it goes
    # what the ledger entries say went, give or take the few the service records itself meanwhile
    assert _observations(db) <= before - dropped + 5
    r = cli("ledger", "verify", "--db", str(db))
    assert r.returncode == 0, r.stdout + r.stderr


def test_compaction_can_be_switched_off(tmp_path, monkeypatch):
    db = tmp_path / "cw.db"
    build_history(db, days=2, terminals=1, cameras=3, step_minutes=120, end=datetime.now(UTC))
    monkeypatch.setenv("CLAUSEWATCH_COMPACT_EVERY_H", "0")
    monkeypatch.setenv("CLAUSEWATCH_KEEP_RAW_DAYS", "0")
    c = Collector(db, free_port())
    c.start()
    try:
        time.sleep(4)
    finally:
        c.kill(signal.SIGTERM)
    assert _compactions(db) == []
