"""Expiry reminders for manual evidence: recorded once per evidence item and reminder threshold
(14, 7, 1 days before, and on expiry) as `evidence.expiring` events in the ledger and the
dashboard, and sent through the built-in notifier to the receivers of the control's owner role.

The `manual_evidence` check says which threshold a finding reached (`remind_threshold_days`);
this module turns the first finding change that reaches a new threshold into one reminder."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from collector.notify.alerts import Alert
from collector.store.base import FindingChange, Store

EVENT = "evidence.expiring"
ALERTNAME = "EvidenceExpiring"


@dataclass(frozen=True)
class Reminder:
    control: str
    site: str
    sha256: str | None
    valid_until: str | None
    threshold_days: float  # 0: expired
    owner_role: str
    at: datetime
    severity: str = "medium"

    @property
    def threshold(self) -> str:
        return "expired" if self.threshold_days <= 0 else f"{self.threshold_days:g}d"

    def detail(self) -> str:
        return (f"evidence {self.sha256 or 'none'} for {self.control} expires {self.valid_until}; "
                f"reminder {self.threshold}; owner: {self.owner_role}")


def _recorded(store: Store, r: Reminder) -> bool:
    return store.has_event(EVENT, r.control, r.site, f"evidence {r.sha256 or 'none'} for %; reminder {r.threshold}; %")


def _record(store: Store, r: Reminder, subject: tuple[str, str], status: str) -> None:
    store.record_event(EVENT, "engine", {
        "control": r.control, "sha256": r.sha256, "valid_until": r.valid_until, "owner_role": r.owner_role,
        "site": r.site, "reminder": r.threshold}, ts=r.at, subject=subject, site=r.site, detail=r.detail(),
        control=r.control, status=status)


def remind_on_changes(store: Store, changes: Sequence[FindingChange], now: datetime | None = None,
                      owners: dict[str, str | None] | None = None) -> list[Reminder]:
    """Record one reminder per evidence item and threshold the first time a finding reaches it,
    addressed to the control's owner role (`manager` when the control names none). Returns the
    new ones."""
    now = now or datetime.now(UTC)
    owners = owners or {}
    out = []
    for ch in changes:
        f = ch.finding
        threshold = f.value.get("remind_threshold_days")
        if threshold is None:
            continue
        r = Reminder(f.control, f.site, f.value.get("sha256"), f.value.get("valid_until"), float(threshold),
                     owners.get(f.control) or "manager", now, f.severity)
        if _recorded(store, r):
            continue
        _record(store, r, (f.subject_kind, f.subject_id), f.status)
        out.append(r)
    return out


def reminders(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    rows = store.recent_events(EVENT, limit)
    return [{"at": datetime.fromtimestamp(r[0], UTC).isoformat(), "control": r[1], "site": r[2], "detail": r[3]}
            for r in rows]


def reminder_alert(r: Reminder, runbooks_url: str = "docs/evidence.md") -> Alert:
    """The notice a reminder sends: labelled with the owner role as `team`, so the notifier's routes
    (`match: {team: facility}`) reach the owner's receivers."""
    labels = {"alertname": ALERTNAME, "control": r.control, "subject_kind": "site", "subject": r.site,
              "site": r.site, "severity": r.severity, "team": r.owner_role, "owner_role": r.owner_role,
              "reminder": r.threshold}
    until = (r.valid_until or "")[:10]
    if r.threshold_days <= 0:
        summary = f"{r.control}: evidence expired on {until} / 证据已于 {until} 过期"
    else:
        summary = (f"{r.control}: evidence expires on {until}, within {r.threshold_days:g} days / "
                   f"证据将于 {until} 过期（{r.threshold_days:g} 天内）")
    description = (f"Upload new evidence for {r.control} (file {(r.sha256 or '')[:12]}). / "
                   f"请为 {r.control} 上传新的证据（当前文件 {(r.sha256 or '')[:12]}）。")
    return Alert(labels, {"summary": summary, "description": description,
                          "runbook_url": f"{runbooks_url}#expiry-reminders"}, r.at)


class ReminderListener:
    """Engine listener: records reminders and hands new ones to the notifier once it runs.
    Reminders recorded before the notifier started wait for it; without a notifier configured
    they stay on the dashboard."""

    def __init__(self, store: Store, owners: dict[str, str | None],
                 notifier: Callable[[], Any | None] | None = None):
        self.store, self.owners, self.notifier = store, owners, notifier
        self.pending: list[Reminder] = []
        self._lock = threading.Lock()

    def __call__(self, changes: Sequence[FindingChange]) -> None:
        new = remind_on_changes(self.store, changes, owners=self.owners)
        if self.notifier is None:  # no notifier configured: the dashboard shows them
            return
        notifier = self.notifier()
        with self._lock:
            self.pending.extend(new)
            if notifier is None or not self.pending:
                return
            due, self.pending = self.pending, []
        notifier.announce([reminder_alert(r) for r in due])
