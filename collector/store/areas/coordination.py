"""What collectors sharing one store agree on: sign-in failures, and which one sends a notification.

SQLite: collector/store/coordination.py; contract: tests/collector/store/test_coordination.py."""
from __future__ import annotations

from typing import NamedTuple, Protocol


class NotificationClaim(NamedTuple):
    won: bool  # this sender sends it
    pending_until: float | None = None  # lost to a sender that may still send it: look again after this time


class CoordinationStore(Protocol):
    def login_failures(self, key: str) -> tuple[int, float] | None:
        """(consecutive failures, time of the last) of one sign-in key."""
        ...

    def add_login_failure(self, key: str, now_s: float) -> tuple[int, float]:
        """Count one more failure of `key` and one in the record over all keys, in one statement each
        (collectors counting at once lose none); the key's counts after it."""
        ...

    def clear_login_failures(self, key: str) -> None: ...

    def recent_login_failures(self, since_s: float, limit: int) -> list[float]:
        """Times of the latest `limit` failures over all keys since `since_s`, oldest first."""
        ...

    def forget_login_failures(self, before_s: float) -> None:
        """Forget keys whose last failure, and failure times, older than `before_s`."""
        ...

    def claim_notification(self, receiver: str, group_key: str, state: str, owner: str, now_s: float,
                           expires_s: float, repeat_before_s: float | None = None) -> NotificationClaim:
        """Claim sending `state` of a group to a receiver, atomically. Won when the group's last claimed
        state differs; when the same state was claimed by a sender that neither settled it nor renewed
        it by its `expires_s` (it died), or by `owner` itself and not settled (a retry); or, for a repeat,
        when the last claim was made at or before `repeat_before_s`."""
        ...

    def settle_notification(self, receiver: str, group_key: str, state: str, owner: str, *, done: bool,
                            expires_s: float) -> bool:
        """`done`: sent (or given up); else still `owner`'s to retry until `expires_s`. False when the
        claim is no longer `owner`'s."""
        ...
