"""Leases: one process at a time does a job (the engine's rounds), another takes over when it stops renewing.

SQLite: collector/store/leases.py; contract: tests/collector/store/test_leases.py."""
from __future__ import annotations

from typing import NamedTuple, Protocol


class Fence(NamedTuple):
    """A lease as one holder took it: a write made under it is refused once anyone else has taken the
    lease since (a new term), however late the write arrives."""

    name: str
    holder: str
    term: int


class LeaseLost(Exception):
    """The write's fence no longer holds: another holder took the lease. Nothing was written."""


class LeaseStore(Protocol):
    def take_lease(self, name: str, holder: str, ttl_s: float) -> int | None:
        """Take or renew the lease `name` for `ttl_s` seconds of the store's clock; the term it is held
        in, or None (nothing changed) while another holder's term runs. A term counts up each time
        the lease is taken anew (free, expired, or from another holder); a renewal keeps it."""
        ...

    def release_lease(self, name: str, holder: str) -> None:
        """End `holder`'s term now, so that another takes the lease without waiting for it to expire."""
        ...

    def lease_of(self, name: str) -> tuple[str, int, float] | None:
        """(holder, term, seconds left; 0 or less once expired) of the lease, None when never taken."""
        ...
