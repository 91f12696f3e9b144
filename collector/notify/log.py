"""The delivery log: every attempt to notify, kept in the store's database so failures stay visible."""
from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL, receiver TEXT NOT NULL, group_key TEXT NOT NULL, status TEXT NOT NULL,
    alerts INTEGER NOT NULL, attempt INTEGER NOT NULL, ok INTEGER NOT NULL, error TEXT,
    fingerprints TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_at ON notifications (at);
"""


class DeliveryLog:
    def __init__(self, db: Path | str):
        self.conn = sqlite3.connect(str(db), check_same_thread=False, timeout=30)
        self.conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    def record(self, at: datetime, receiver: str, group_key: str, status: str, fingerprints: list[str],
               attempt: int, error: str | None) -> None:
        with self._lock, self.conn:
            self.conn.execute(
                "INSERT INTO notifications (at, receiver, group_key, status, alerts, attempt, ok, error, fingerprints)"
                " VALUES (?,?,?,?,?,?,?,?,?)", (at.timestamp(), receiver, group_key, status, len(fingerprints),
                                                attempt, error is None, error, json.dumps(fingerprints)))

    def entries(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.conn.execute("SELECT at, receiver, group_key, status, alerts, attempt, ok, error FROM"
                                     " notifications ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        keys = ("at", "receiver", "group_key", "status", "alerts", "attempt", "ok", "error")
        return [dict(zip(keys, r, strict=True)) | {"ok": bool(r[6])} for r in rows]

    def close(self) -> None:
        self.conn.close()
