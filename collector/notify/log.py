"""The delivery log: every attempt to notify, kept in the store (table `notifications`, schema
migration 4) so failures stay visible on the alerts page and to `clausewatch notifications`."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from collector.store.base import Store

_COLUMNS = ("at", "receiver", "group_key", "status", "alerts", "attempt", "ok", "error")


class DeliveryLog:
    def __init__(self, store: Store):
        self.store = store

    def record(self, at: datetime, receiver: str, group_key: str, status: str, fingerprints: list[str],
               attempt: int, error: str | None) -> None:
        self.store.record_notification(at, receiver, group_key, status, fingerprints, attempt, error)

    def entries(self, limit: int = 100, *, receiver: str | None = None) -> list[dict[str, Any]]:
        """The newest attempts first; `at` in epoch seconds."""
        rows = self.store.notifications(limit, receiver)
        return [dict(zip(_COLUMNS, r, strict=True)) | {"ok": bool(r[6])} for r in rows]

    def by_fingerprint(self, since: datetime, limit: int = 5000) -> dict[str, list[dict[str, Any]]]:
        """Attempts since `since`, by alert fingerprint (newest first), for the alerts page."""
        out: dict[str, list[dict[str, Any]]] = {}
        for at, receiver, ok, error, fps in self.store.notifications_since(since, limit):
            for fp in fps:
                out.setdefault(fp, []).append({"at": datetime.fromtimestamp(at, UTC), "receiver": receiver,
                                               "ok": ok, "error": error})
        return out
