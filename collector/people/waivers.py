"""Waivers: a manager accepts a failing finding for one subject, with a reason and an end date.
While it runs, the finding shows `excepted` (never `pass`); it ends by itself. Every waiver is in
the ledger (entry `exception.approved`, the stored name) and its table refuses edits."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from collector.store.areas import WaiverRow
from collector.store.base import Store
from rules.model import Control

# statuses a waiver may turn into `excepted`; a pass stays a pass
EXCEPTABLE = ("fail", "unknown")



class WaiverError(ValueError):
    """Bad request: the message names the field."""


@dataclass(frozen=True)
class Waiver:
    id: int
    control: str
    subject_kind: str
    subject_id: str  # "*": every subject of the control
    site: str
    reason: str
    owner: str
    approver: str
    created_at: datetime
    starts_at: datetime
    ends_at: datetime
    ledger_seq: int

    def covers(self, control: str, subject_kind: str, subject_id: str, at: datetime) -> bool:
        return (self.control == control and self.subject_kind == subject_kind
                and self.subject_id in ("*", subject_id) and self.starts_at <= at < self.ends_at)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("created_at", "starts_at", "ends_at"):
            d[k] = d[k].isoformat()
        return d


def approve(store: Store, controls: Sequence[Control], *, control: str, subject_kind: str, subject_id: str,
            reason: str, ends_at: datetime, approver: str, owner: str | None = None, site: str = "default",
            now: datetime | None = None) -> Waiver:
    """Record a waiver approved by `approver` (a manager) until `ends_at`."""
    now = now or datetime.now(UTC)
    spec = next((c for c in controls if c.id == control), None)
    if spec is None:
        raise WaiverError(f"control: no control named {control!r}")
    if subject_kind != spec.subject:
        raise WaiverError(f"subject_kind: {control} judges {spec.subject}, not {subject_kind}")
    if not subject_id:
        raise WaiverError("subject: give a subject id, or '*' for all")
    if len(reason.strip()) < 5:
        raise WaiverError("reason: say why the finding is accepted (at least 5 characters)")
    if ends_at.tzinfo is None or ends_at <= now:
        raise WaiverError("end: must be a future time with a UTC offset")
    owner = owner or approver
    wid, seq = store.add_waiver(control, subject_kind, subject_id, site, reason, owner, approver, now, ends_at, {
        "control": control, "subject_kind": subject_kind, "subject_id": subject_id, "site": site,
        "reason": reason, "owner": owner, "starts_at": now.isoformat(), "ends_at": ends_at.isoformat()})
    return Waiver(wid, control, subject_kind, subject_id, site, reason, owner, approver, now, now, ends_at, seq)


def _row(r: WaiverRow) -> Waiver:
    ts = [datetime.fromtimestamp(x, UTC) for x in (r[8], r[9], r[10])]
    return Waiver(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], ts[0], ts[1], ts[2], r[11])


def waivers(store: Store, *, start: datetime | None = None, end: datetime | None = None,
            site: str | None = None) -> list[Waiver]:
    """Waivers (of one site when given) that were in force at some moment of [start, end) (all when no bounds)."""
    return [_row(r) for r in store.waiver_rows(start=start, end=end, site=site)]


def active_at(store: Store, at: datetime) -> list[Waiver]:
    """Waivers in force at `at`."""
    return [_row(r) for r in store.waivers_at(at)]


def overlay(status: str, control: str, subject_kind: str, subject_id: str, at: datetime,
            active: Sequence[Waiver]) -> str:
    """The status to show: `excepted` for a failing or unknown finding under a running waiver."""
    if status in EXCEPTABLE and any(w.covers(control, subject_kind, subject_id, at) for w in active):
        return "excepted"
    return status
