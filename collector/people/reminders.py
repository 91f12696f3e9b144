"""Expiry reminders for manual evidence: recorded once per evidence item and reminder threshold
(14, 7, 1 days before, and on expiry) as `evidence.expiring` events in the ledger and the
dashboard, and sent through the built-in notifier to the receivers of the control's owner role.

The `manual_evidence` check says which threshold a finding reached (`remind_threshold_days`);
this module turns the first finding change that reaches a new threshold into one reminder.

Once only across collectors sharing a store: a reminder is claimed in the store (the notifier's
delivery claims) before it is recorded, so that of two collectors judging the same change (a
leadership handover, two processes on one store) one records it; a claim whose holder died is
taken over after `RECORD_CLAIM_S`. Each receiver's notice is claimed on its own as well
(collector/notify/log.py), and a collector whose notifier comes to run announces the reminders
recorded over the last `CATCH_UP` (by it before its notifier ran, or by a collector that died before
sending): those sent already are not sent again."""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from collector.notify.alerts import Alert
from collector.notify.log import process_owner
from collector.store.base import FindingChange, Store

EVENT = "evidence.expiring"
ALERTNAME = "EvidenceExpiring"
RECORD_CLAIM_S = 60.0  # how long a collector that claimed a reminder has to record it before another may
CATCH_UP = timedelta(days=1)
_RECORDING = "evidence.expiring"  # the claims' receiver for recording (configured receivers are named otherwise)
_DETAIL = re.compile(r"evidence (\S+) for (\S+) expires (.*); reminder (\S+); owner: (\S+)")


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

    @property
    def key(self) -> str:
        """What makes it one reminder: its evidence item (control, site, file) and threshold."""
        return f"{self.control}|{self.site}|{self.sha256 or 'none'}|{self.threshold}"

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


def claim_recording(store: Store, r: Reminder, owner: str, now: datetime) -> bool:
    """Whether this process records `r`: no other holds it unexpired, and none recorded it already."""
    if _recorded(store, r):
        return False
    won = store.claim_notification(_RECORDING, r.key, "recorded", owner, now.timestamp(),
                                   now.timestamp() + RECORD_CLAIM_S).won
    if won and _recorded(store, r):  # recorded by a holder that died before settling its claim
        _settle_recording(store, r, owner, now)
        return False
    return won


def _settle_recording(store: Store, r: Reminder, owner: str, now: datetime) -> None:
    store.settle_notification(_RECORDING, r.key, "recorded", owner, done=True, expires_s=now.timestamp())


def remind_on_changes(store: Store, changes: Sequence[FindingChange], now: datetime | None = None,
                      owners: dict[str, str | None] | None = None, *, owner: str | None = None) -> list[Reminder]:
    """Record one reminder per evidence item and threshold the first time a finding reaches it,
    addressed to the control's owner role (`manager` when the control names none). Returns the
    new ones. `owner`: who claims them (see the module's docstring)."""
    now = now or datetime.now(UTC)
    owners = owners or {}
    owner = owner or process_owner()
    out = []
    for ch in changes:
        f = ch.finding
        threshold = f.value.get("remind_threshold_days")
        if threshold is None:
            continue
        r = Reminder(f.control, f.site, f.value.get("sha256"), f.value.get("valid_until"), float(threshold),
                     owners.get(f.control) or "manager", now, f.severity)
        if not claim_recording(store, r, owner, now):
            continue
        _record(store, r, (f.subject_kind, f.subject_id), f.status)
        _settle_recording(store, r, owner, now)
        out.append(r)
    return out


def recorded_reminders(store: Store, since: datetime, limit: int = 200) -> list[Reminder]:
    """The reminders recorded since `since`, as their recording collector built them (but for the
    severity, which is the control's, read from its findings)."""
    out = []
    severities: dict[str, str] = {}
    for ts, control, site, detail in store.recent_events(EVENT, limit):
        at = datetime.fromtimestamp(ts, UTC)
        parsed = _DETAIL.fullmatch(detail)
        if at < since or control is None or site is None or parsed is None:
            continue
        sha, _, until, threshold, owner_role = parsed.groups()
        if control not in severities:
            severities[control] = next((f.severity for f in store.findings_in(controls=[control])), "medium")
        out.append(Reminder(control, site, None if sha == "none" else sha, None if until == "None" else until,
                            0.0 if threshold == "expired" else float(threshold.rstrip("d")), owner_role, at,
                            severities[control]))
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
                          "runbook_url": f"{runbooks_url}#expiry-reminders"}, r.at, notice_id=f"{EVENT}:{r.key}")


class ReminderListener:
    """Engine listener: records reminders and hands new ones to the notifier once it runs. When it
    first finds the notifier running it announces those recorded over the last `CATCH_UP` too
    (before it ran, or by a collector that died before sending); without a notifier configured
    they stay on the dashboard."""

    def __init__(self, store: Store, owners: dict[str, str | None],
                 notifier: Callable[[], Any | None] | None = None, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.store, self.owners, self.notifier, self.clock = store, owners, notifier, clock
        self.owner = process_owner()
        self.caught_up = False
        self._lock = threading.Lock()

    def __call__(self, changes: Sequence[FindingChange]) -> None:
        now = self.clock()
        new = remind_on_changes(self.store, changes, now, owners=self.owners, owner=self.owner)
        notifier = self.notifier() if self.notifier is not None else None
        if notifier is None:  # none configured (the dashboard shows them), or not running yet
            return
        with self._lock:
            due, self.caught_up = (new if self.caught_up else recorded_reminders(self.store, now - CATCH_UP)), True
        if due:
            notifier.announce([reminder_alert(r) for r in due])
