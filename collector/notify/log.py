"""The delivery log: every attempt to notify, kept in the store (table `notifications`, schema
migration 4) so failures stay visible on the alerts page and to `clausewatch notifications`."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from collector.store.sqlite import SqliteStore, where_clause

_COLUMNS = ("at", "receiver", "group_key", "status", "alerts", "attempt", "ok", "error")


class DeliveryLog:
    def __init__(self, store: SqliteStore):
        self.store = store

    def record(self, at: datetime, receiver: str, group_key: str, status: str, fingerprints: list[str],
               attempt: int, error: str | None) -> None:
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO notifications (at, receiver, group_key, status, alerts, attempt, ok, error, fingerprints)"
                " VALUES (?,?,?,?,?,?,?,?,?)", (at.timestamp(), receiver, group_key, status, len(fingerprints),
                                                attempt, error is None, error, orjson.dumps(fingerprints).decode()))

    def entries(self, limit: int = 100, *, receiver: str | None = None) -> list[dict[str, Any]]:
        """The newest attempts first; `at` in epoch seconds."""
        where, args = where_clause([("receiver = ?", receiver)])
        rows = self.store.read.execute(f"SELECT {', '.join(_COLUMNS)} FROM notifications {where}"
                                       " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
        return [dict(zip(_COLUMNS, r, strict=True)) | {"ok": bool(r[6])} for r in rows]

    def by_fingerprint(self, since: datetime, limit: int = 5000) -> dict[str, list[dict[str, Any]]]:
        """Attempts since `since`, by alert fingerprint (newest first), for the alerts page."""
        rows = self.store.read.execute("SELECT at, receiver, ok, error, fingerprints FROM notifications"
                                       " WHERE at >= ? ORDER BY at DESC LIMIT ?", (since.timestamp(), limit))
        out: dict[str, list[dict[str, Any]]] = {}
        for at, receiver, ok, error, fps in rows:
            for fp in orjson.loads(fps):
                out.setdefault(fp, []).append({"at": datetime.fromtimestamp(at, UTC), "receiver": receiver,
                                               "ok": bool(ok), "error": error})
        return out
