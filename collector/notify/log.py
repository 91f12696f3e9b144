"""The delivery log: every attempt to notify, kept in the store (table `notifications`, schema
migration 4) so failures stay visible on the alerts page and to `clausewatch notifications`.

Before an attempt, the sender claims the notification in the store (table `notification_claims`,
migration 12), so that of several collectors sharing one store, each holding the same alerts, one
sends it. Delivery is at least once: a claim whose sender neither reports back nor renews it before
it runs out (the sender died) is taken over by another collector, which then sends it; a sender that
died after sending but before reporting leads to a second message. A lost alert (a UPS on battery)
costs more than a repeated one, and receivers can tell repeats by the alerts' fingerprints.

A one-off notice (an evidence expiry reminder) is claimed on its own, per receiver, under its identity
(Notification.claim_key): once sent, no collector sends it again, however many announce it."""
from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC, datetime
from typing import Any

from collector.notify.alerts import Notification
from collector.store.areas import NotificationClaim
from collector.store.base import Store

_COLUMNS = ("at", "receiver", "group_key", "status", "alerts", "attempt", "ok", "error")


def process_owner() -> str:
    """Who holds a claim, for the one who finds it: this process, unique even across restarts."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"


class DeliveryLog:
    def __init__(self, store: Store, *, owner: str | None = None):
        self.store = store
        self.owner = owner or process_owner()

    def claim(self, n: Notification, now: datetime, expires: datetime,
              repeat_before: datetime | None = None) -> NotificationClaim:
        """Whether this process sends `n` (see the module's docstring); the claim is its own until
        `expires` unless settled or renewed."""
        return self.store.claim_notification(n.receiver, n.claim_key, n.state, self.owner, now.timestamp(),
                                             expires.timestamp(),
                                             repeat_before.timestamp() if repeat_before else None)

    def settle(self, n: Notification, *, done: bool, expires: datetime) -> None:
        """Sent or given up (`done`), or to be retried by this process before `expires`."""
        self.store.settle_notification(n.receiver, n.claim_key, n.state, self.owner, done=done,
                                       expires_s=expires.timestamp())

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
