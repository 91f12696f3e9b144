"""Working state of sources and outputs: door-access pushes, the notifications' delivery log, agents'
sequence numbers.

SQLite: collector/store/working_state.py; contract: tests/collector/store/test_working_state.py."""
from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol


class AccessPush(NamedTuple):
    body: bytes
    last_ts: float
    badges_sha256: str


class WorkingStateStore(Protocol):
    def access_pushes(self, site: str, since_ts: float) -> tuple[list[AccessPush], dict[str, bytes]]:
        """A site's stored door-access pushes with events at or after `since_ts` (oldest first), and the
        badge lists they name by SHA-256."""
        ...

    def remember_access_push(self, site: str, received_at: float, first_ts: float, last_ts: float,
                             badges_sha256: str, badges: bytes, body: bytes, window_s: float) -> None:
        """Keep a push; forget the site's pushes whose events all ended `window_s` before its newest."""
        ...

    def record_notification(self, at: datetime, receiver: str, group_key: str, status: str,
                            fingerprints: list[str], attempt: int, error: str | None) -> None: ...

    def notifications(self, limit: int, receiver: str | None = None) -> list[tuple[Any, ...]]:
        """(at, receiver, group_key, status, alerts, attempt, ok, error), newest first."""
        ...

    def notifications_since(self, since: datetime, limit: int) -> list[tuple[float, str, bool, str | None, list[str]]]:
        """(at, receiver, ok, error, fingerprints), newest first."""
        ...

    def agent_sequences(self, host: str | None = None) -> list[tuple[str, str]]:
        """(host, stored state) of every agent's received sequence numbers, by host."""
        ...
