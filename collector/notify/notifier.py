"""Grouping and timing, as Alertmanager does it: group_wait, group_interval, repeat_interval,
resolved notices; failed deliveries retried with backoff and logged.

Fed by the engine's finding changes (Engine.listeners); `tick(now)` decides what to send.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from collector.notify.alerts import (
    ALERTING_STATUSES,
    Alert,
    Notification,
    finding_alert,
    on_battery,
    on_battery_alert,
)
from collector.notify.config import NotifyConfig
from collector.notify.log import DeliveryLog
from collector.notify.receivers import DeliveryError, Receiver

log = logging.getLogger(__name__)


@dataclass
class _Group:
    key: str
    labels: dict[str, str]
    receivers: list[str]
    created: datetime
    alerts: dict[str, Alert] = field(default_factory=dict)  # fingerprint -> alert (firing or just resolved)
    notified_at: datetime | None = None
    notified_state: frozenset[tuple[str, bool]] = frozenset()  # (fingerprint, firing) last sent
    announced: set[str] = field(default_factory=set)  # fingerprints sent as firing, not yet as resolved
    muted: set[str] = field(default_factory=set)  # fingerprints an inhibition held back at some point


@dataclass
class _Retry:
    notification: Notification
    due: datetime


Rooms = Callable[[], Mapping[tuple[str, str], str]]  # (subject kind, id) -> room, see collector.rooms


class Notifier:
    def __init__(self, config: NotifyConfig, receivers: Iterable[Receiver], delivery_log: DeliveryLog | None = None,
                 *, clock: Callable[[], datetime] = lambda: datetime.now(UTC), rooms: Rooms = dict):
        self.config = config
        self.receivers = {r.name: r for r in receivers}
        self.log, self.clock, self.rooms = delivery_log, clock, rooms
        self.groups: dict[str, _Group] = {}
        self.retries: list[_Retry] = []
        self.sent = 0
        self.attempts: dict[tuple[str, str], int] = {}  # (receiver, ok|failed) -> count, for /metrics
        self._lock = threading.RLock()

    # -- input -------------------------------------------------------------------------------------
    def seed(self, findings: Iterable[Any]) -> None:
        """Findings already failing or unknown (and UPSes on battery) when the notifier starts."""
        rooms = self.rooms()
        for f in findings:
            room = rooms.get((f.subject_kind, f.subject_id), "")
            if on_battery(f):
                self._fire(on_battery_alert(f, room=room))
            if f.status in ALERTING_STATUSES:
                self._fire(finding_alert(f, room=room))

    def on_changes(self, changes: Sequence[Any]) -> None:
        """Engine listener: a finding that turns fail/unknown fires; one that turns pass resolves.
        A UPS-RUNTIME finding whose UPS is on battery fires UpsOnBattery, whatever its status."""
        now = self.clock()
        rooms = self.rooms()
        with self._lock:
            for ch in changes:
                f = ch.finding
                room = rooms.get((f.subject_kind, f.subject_id), "")
                if (battery := on_battery(f)) is not None:
                    power = on_battery_alert(f, room=room)
                    self._fire(power) if battery else self._resolve(power, now)
                if not ch.status_changed:
                    continue
                alert = finding_alert(f, room=room)
                if f.status in ALERTING_STATUSES:
                    self._resolve(alert, now, quiet=True)  # fail -> unknown replaces the alert
                    self._fire(alert)
                else:
                    self._resolve(alert, now)

    def reconcile(self, findings: Iterable[Any]) -> None:
        """Hold exactly the alerts that `findings` (every failing or unknown finding as stored, and
        every UPS-RUNTIME one) raise. Another collector sharing the store records changes this one's
        engine never makes, and `on_changes` hears only this one's."""
        now = self.clock()
        rooms = self.rooms()
        wanted: dict[str, Alert] = {}
        for f in findings:
            room = rooms.get((f.subject_kind, f.subject_id), "")
            if on_battery(f):
                power = on_battery_alert(f, room=room)
                wanted[power.fingerprint] = power
            if f.status in ALERTING_STATUSES:
                alert = finding_alert(f, room=room)
                wanted[alert.fingerprint] = alert
        with self._lock:
            held = {fp: a for g in self.groups.values() for fp, a in g.alerts.items() if a.firing}
            for fp, alert in held.items():
                if fp not in wanted:
                    self._resolve(alert, now)
                elif alert.labels.get("status") != wanted[fp].labels.get("status"):
                    self._resolve(alert, now, quiet=True)  # fail -> unknown replaces the alert, as on_changes
            for alert in wanted.values():
                self._fire(alert)

    def _group_key(self, alert: Alert) -> tuple[str, dict[str, str]]:
        labels = {k: alert.labels.get(k, "") for k in self.config.group_by}
        return "{}:" + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}", labels

    def _group_for(self, alert: Alert) -> _Group:
        key, labels = self._group_key(alert)
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = _Group(key, labels, self.config.receivers_for(alert.labels), self.clock())
        return g

    def _fire(self, alert: Alert) -> None:
        with self._lock:
            g = self._group_for(alert)
            current = g.alerts.get(alert.fingerprint)
            if current is None or not current.firing:
                g.alerts[alert.fingerprint] = alert
            elif current.labels != alert.labels:  # e.g. its room became known: same alert, same start
                g.alerts[alert.fingerprint] = Alert(alert.labels, alert.annotations, current.starts_at)

    def _resolve(self, alert: Alert, now: datetime, quiet: bool = False) -> None:
        for g in self.groups.values():
            for fp, a in list(g.alerts.items()):
                if a.identity == alert.identity and a.firing:
                    if quiet:
                        del g.alerts[fp]
                    else:
                        a.ends_at = now

    def announce(self, alerts: Sequence[Alert]) -> None:
        """One-off notices (e.g. evidence expiry reminders): routed and grouped like alerts and
        delivered at the next tick with the same retries and delivery log, never repeated or resolved."""
        now = self.clock()
        grouped: dict[str, tuple[dict[str, str], list[Alert]]] = {}
        for alert in alerts:
            key, labels = self._group_key(alert)
            grouped.setdefault(key, (labels, []))[1].append(alert)
        with self._lock:
            for key, (labels, items) in grouped.items():
                for receiver in self.config.receivers_for(items[0].labels):
                    n = Notification(receiver, key, labels, items, self.config.external_url, created=now,
                                     notice=True)
                    self.retries.append(_Retry(n, now))  # the retry queue doubles as the outbox

    # -- output ------------------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> int:
        """Send what is due; return how many notifications were attempted."""
        now = now or self.clock()
        with self._lock:
            muted = self.muted()
            due = [n for g in list(self.groups.values()) for n in self._due(g, now, muted)]
            retries = [r for r in self.retries if r.due <= now]
            self.retries = [r for r in self.retries if r.due > now]
        for n in due + [r.notification for r in retries]:
            self._deliver(n, now)
        return len(due) + len(retries)

    def muted(self) -> set[str]:
        """Fingerprints of firing alerts an inhibit rule holds back now (a UPS on battery in their room)."""
        rules = self.config.inhibit_rules
        firing = [a for g in self.groups.values() for a in g.alerts.values() if a.firing]
        sources = [(a, [r for r in rules if r.is_source(a.labels)]) for a in firing]
        sources = [(a, matched) for a, matched in sources if matched]
        return {t.fingerprint for t in firing for s, matched in sources
                if s is not t and any(r.mutes(s.labels, t.labels) for r in matched)}

    def _due(self, g: _Group, now: datetime, muted: AbstractSet[str] = frozenset()) -> list[Notification]:
        c = self.config
        g.muted |= muted & g.alerts.keys()
        for fp in [fp for fp, a in g.alerts.items() if not a.firing and fp in g.muted and fp not in g.announced]:
            del g.alerts[fp]  # held back while it fired: its end is no news either
            g.muted.discard(fp)
        if not g.alerts:
            del self.groups[g.key]
            return []
        visible = {fp: a for fp, a in g.alerts.items() if fp not in muted}
        state = frozenset((fp, a.firing) for fp, a in visible.items())
        if not visible:
            return []
        repeat = False
        if g.notified_at is None:
            ready = now - g.created >= timedelta(seconds=c.group_wait_s)
        elif state != g.notified_state:
            ready = now - g.notified_at >= timedelta(seconds=c.group_interval_s)
        else:
            ready = repeat = any(a.firing for a in g.alerts.values()) and \
                now - g.notified_at >= timedelta(seconds=c.repeat_interval_s)
        if not ready:
            return []
        alerts = sorted(visible.values(), key=lambda a: (not a.firing, a.starts_at))
        g.notified_at, g.notified_state = now, frozenset((fp, True) for fp, a in visible.items() if a.firing)
        g.announced |= {fp for fp, a in visible.items() if a.firing}
        for fp in [fp for fp, a in visible.items() if not a.firing]:
            del g.alerts[fp]  # a resolved notice is sent once
            g.announced.discard(fp)
            g.muted.discard(fp)
        if not g.alerts:
            del self.groups[g.key]
        return [Notification(r, g.key, dict(g.labels), alerts, c.external_url, created=now, repeat=repeat)
                for r in g.receivers]

    def _claim(self, n: Notification, now: datetime) -> bool:
        """Whether this collector sends `n`, rather than another sharing the store that holds the same
        alerts (collector/notify/log.py). Lost to one that may still be sending: look again when its
        claim runs out."""
        if self.log is None:
            return True
        c = self.config
        try:
            claim = self.log.claim(n, now, now + timedelta(seconds=c.claim_timeout_s),
                                   now - timedelta(seconds=c.repeat_interval_s) if n.repeat else None)
        except Exception:  # noqa: BLE001 - a store that cannot answer must not silence an alert
            log.warning("notification to %s sent unclaimed: the store did not answer", n.receiver, exc_info=True)
            return True
        if not claim.won and claim.pending_until is not None:
            with self._lock:
                self.retries.append(_Retry(n, max(now, datetime.fromtimestamp(claim.pending_until, UTC))))
        return claim.won

    def _deliver(self, n: Notification, now: datetime) -> None:
        # one-off notices are claimed one by one: each is sent once, whoever else announced it too
        parts = [p for p in (n.one_by_one() if n.notice and len(n.alerts) > 1 else [n]) if self._claim(p, now)]
        if not parts:
            return
        if parts != [n]:
            n = replace(n, alerts=[a for p in parts for a in p.alerts])
        receiver = self.receivers.get(n.receiver)
        error, retry_at = None, None
        try:
            if receiver is None:
                raise DeliveryError(f"no receiver named {n.receiver}")
            receiver.deliver(n)
            self.sent += 1
        except DeliveryError as e:
            error = str(e)
            delays = self.config.retry_delays_s
            if n.attempt <= len(delays):
                retry_at = now + timedelta(seconds=delays[n.attempt - 1])
                with self._lock:
                    self.retries.append(_Retry(replace(n, attempt=n.attempt + 1), retry_at))
            log.warning("notification to %s failed (attempt %d): %s", n.receiver, n.attempt, error)
        key = (n.receiver, "ok" if error is None else "failed")
        self.attempts[key] = self.attempts.get(key, 0) + 1
        if self.log is not None:
            self.log.record(now, n.receiver, n.group_key, n.status, [a.fingerprint for a in n.alerts], n.attempt,
                            error)
            for p in parts:
                self.log.settle(p, done=retry_at is None,
                                expires=(retry_at or now) + timedelta(seconds=self.config.claim_timeout_s))


class NotifierThread(threading.Thread):
    """Ticks the notifier; every `reconcile_s`, brings its alerts in line with `findings()` (the stored
    findings Notifier.reconcile takes)."""

    def __init__(self, notifier: Notifier, every_s: float = 1.0, *,
                 findings: Callable[[], Iterable[Any]] | None = None, reconcile_s: float = 15.0):
        super().__init__(name="clausewatch-notifier", daemon=True)
        self.notifier, self.every_s = notifier, every_s
        self.findings, self.reconcile_s = findings, reconcile_s
        self.stopping = threading.Event()

    def run(self) -> None:
        reconciled = time.monotonic()
        while not self.stopping.wait(self.every_s):
            try:
                if self.findings is not None and time.monotonic() - reconciled >= self.reconcile_s:
                    reconciled = time.monotonic()
                    self.notifier.reconcile(self.findings())
                self.notifier.tick()
            except Exception:  # the loop must survive a bad receiver
                log.exception("notifier tick failed")
