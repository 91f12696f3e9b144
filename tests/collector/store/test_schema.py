"""Databases written by earlier versions upgrade in place and keep their rows."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from collector.notify.log import DeliveryLog
from collector.store.schema import MIGRATIONS
from collector.store.sqlite import SqliteStore

pytestmark = pytest.mark.sqlite_file  # SQLite files as earlier versions wrote them

# what the notifier created by itself before the table was a migration
_NOTIFIER_TABLE_BEFORE = (
    "CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY, at REAL NOT NULL, receiver TEXT NOT NULL,"
    " group_key TEXT NOT NULL, status TEXT NOT NULL, alerts INTEGER NOT NULL, attempt INTEGER NOT NULL,"
    " ok INTEGER NOT NULL, error TEXT, fingerprints TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS notifications_at ON notifications (at);"
    """
INSERT INTO notifications (at, receiver, group_key, status, alerts, attempt, ok, error, fingerprints)
VALUES (1764374400.0, 'facility-mail', 'g', 'firing', 1, 2, 0, 'connection refused', '["a1b2", "c3d4"]');
""")


def _database_at(path, version: int, extra: str = "") -> None:
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:version]:
        conn.executescript(script)
    conn.executescript(extra + f"PRAGMA user_version = {version};")
    conn.close()


@pytest.mark.parametrize(("version", "extra", "kept"), [
    pytest.param(3, _NOTIFIER_TABLE_BEFORE, 1, id="v3-notifier-ran"),
    pytest.param(3, "", 0, id="v3-notifier-never-ran"),
    pytest.param(2, "", 0, id="v2"),
    pytest.param(4, _NOTIFIER_TABLE_BEFORE, 1, id="v4-before-access-pushes"),
])
def test_older_database_upgrades_and_keeps_deliveries(tmp_path, version, extra, kept):
    path = tmp_path / "cw.db"
    _database_at(path, version, extra)
    store = SqliteStore(path)
    try:
        assert store.read.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        log = DeliveryLog(store)
        assert len(log.entries()) == kept
        log.record(datetime(2026, 11, 29, tzinfo=UTC), "facility-hook", "g", "resolved", ["c3d4"], 1, None)
        entries = log.entries()
        assert entries[0]["receiver"] == "facility-hook" and entries[0]["ok"] is True
        assert len(entries) == kept + 1
        assert store.read.execute("SELECT count(*) FROM access_pushes").fetchone()[0] == 0
        since = datetime(2025, 1, 1, tzinfo=UTC)
        assert [d["receiver"] for d in log.by_fingerprint(since).get("c3d4", [])] == \
            ["facility-hook", "facility-mail"][:kept + 1]
    finally:
        store.close()


def test_reopening_a_current_database_changes_nothing(tmp_path):
    store = SqliteStore(tmp_path / "cw.db")
    DeliveryLog(store).record(datetime(2026, 11, 29, tzinfo=UTC), "r", "g", "firing", ["x"], 1, "timeout")
    store.close()
    again = SqliteStore(tmp_path / "cw.db")
    try:
        assert [(e["receiver"], e["ok"], e["error"]) for e in DeliveryLog(again).entries()] == [("r", False, "timeout")]
    finally:
        again.close()


def _usb(policy_ok: bool, at: datetime):
    from rules.model import Observation

    return Observation(source="agent:T001", subject_kind="host", subject_id="T001", kind="usb.devices",
                       observed_at=at, payload={"enforcement": "sysfs", "policy_ok": policy_ok, "devices": []})


def test_a_future_date_stored_by_an_earlier_version_masks_nothing_after_the_upgrade(tmp_path):
    from datetime import timedelta

    from collector.engine import Engine
    from rules.catalog import default_catalog

    path, now = tmp_path / "cw.db", datetime.now(UTC)
    store = SqliteStore(path)
    store.ingest([_usb(True, datetime(2099, 1, 1, tzinfo=UTC))], actor="agent:T001",
                 received_at=now - timedelta(hours=1))
    with store.write() as conn:  # what an earlier version kept: the sender's date as the latest's time
        conn.execute("UPDATE latest SET observed_at = ?", (datetime(2099, 1, 1, tzinfo=UTC).timestamp(),))
        conn.execute("UPDATE subjects SET last_seen = ?", (datetime(2099, 1, 1, tzinfo=UTC).timestamp(),))
        conn.execute("DROP TABLE reenroll_codes")  # a version-6 store has none of the later tables
        conn.execute("DROP TABLE observation_repeats")
        for column in ("num", "repeat_id", "meaning", "repeats"):
            conn.execute(f"ALTER TABLE latest DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 6")
    store.close()
    store = SqliteStore(path)
    try:
        store.ingest([_usb(False, now - timedelta(minutes=1))], actor="agent:T001", received_at=now)
        assert store.latest_for("host", "T001")[("usb.devices", "")].payload["policy_ok"] is False
        [(_, last_seen)] = store.read.execute("SELECT id, last_seen FROM subjects WHERE kind = 'host'").fetchall()
        assert last_seen <= now.timestamp()  # the terminal's "last seen" is not 2099 either
        engine = Engine(store, [c for c in default_catalog() if c.id == "USB-BLOCK"])
        engine.evaluate(None, now=now)
        [finding] = engine.current()
        assert finding.status == "fail"
    finally:
        store.close()


def test_version_15_loses_events_ts_and_pages_of_events_read_the_index_of_each_kind(tmp_path):
    """Migration 16: events_ts goes; the recent status changes and acknowledgements of a version-15 store read
    back newest first, each kind from its own index."""
    path = tmp_path / "cw.db"
    _database_at(path, 15, "".join(
        "INSERT INTO events (ts, type, control, subject_kind, subject_id, site, from_status, to_status, detail)"
        f" VALUES ({1764374400 + i}, '{kind}', 'C1', 'host', 'h{i}', 'hq', {prev}, 'fail', 'x');"
        for i, (kind, prev) in enumerate([("finding.changed", "NULL"), ("finding.changed", "'pass'"),
                                          ("alert.acked", "NULL"), ("finding.changed", "'unknown'")])))
    store = SqliteStore(path)
    try:
        indexes = {r[0] for r in store.read.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'events'"
                                                    " AND type = 'index'")}
        recent = store.events(datetime(2025, 1, 1, tzinfo=UTC), types=["finding.changed", "alert.acked"], limit=2)
        every = store.events(datetime(2025, 1, 1, tzinfo=UTC), types=["finding.changed", "alert.acked"])
    finally:
        store.close()
    assert indexes == {"events_type_ts", "events_changes"}
    assert [e.subject_id for e in recent] == ["h3", "h2"]
    assert [e.subject_id for e in every] == ["h3", "h2", "h1"]
