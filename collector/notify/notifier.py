"""Grouping and timing, as Alertmanager does it: group_wait, group_interval, repeat_interval,
resolved notices; failed deliveries retried with backoff and logged.

Fed by the engine's finding changes (Engine.listeners); `tick(now)` decides what to send.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from collector.notify.alerts import ALERTING_STATUSES, Alert, Notification, finding_alert
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

    def state(self) -> frozenset[tuple[str, bool]]:
        return frozenset((fp, a.firing) for fp, a in self.alerts.items())


@dataclass
class _Retry:
    notification: Notification
    due: datetime


class Notifier:
    def __init__(self, config: NotifyConfig, receivers: Iterable[Receiver], delivery_log: DeliveryLog | None = None,
                 *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.config = config
        self.receivers = {r.name: r for r in receivers}
        self.log, self.clock = delivery_log, clock
        self.groups: dict[str, _Group] = {}
        self.retries: list[_Retry] = []
        self.sent = 0
        self.attempts: dict[tuple[str, str], int] = {}  # (receiver, ok|failed) -> count, for /metrics
        self._lock = threading.RLock()

    # -- input -------------------------------------------------------------------------------------
    def seed(self, findings: Iterable[Any]) -> None:
        """Findings already failing or unknown when the notifier starts."""
        for f in findings:
            if f.status in ALERTING_STATUSES:
                self._fire(finding_alert(f))

    def on_changes(self, changes: Sequence[Any]) -> None:
        """Engine listener: a finding that turns fail/unknown fires; one that turns pass resolves."""
        now = self.clock()
        with self._lock:
            for ch in changes:
                if not ch.status_changed:
                    continue
                f = ch.finding
                alert = finding_alert(f)
                if f.status in ALERTING_STATUSES:
                    self._resolve(alert, now, quiet=True)  # fail -> unknown replaces the alert
                    self._fire(alert)
                else:
                    self._resolve(alert, now)

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
            if current is None or not current.firing or current.labels != alert.labels:
                g.alerts[alert.fingerprint] = alert

    def _resolve(self, alert: Alert, now: datetime, quiet: bool = False) -> None:
        for g in self.groups.values():
            for fp, a in list(g.alerts.items()):
                same = {k: v for k, v in a.labels.items() if k != "status"} == \
                       {k: v for k, v in alert.labels.items() if k != "status"}
                if same and a.firing:
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
                    n = Notification(receiver, key, labels, items, self.config.external_url, created=now)
                    self.retries.append(_Retry(n, now))  # the retry queue doubles as the outbox

    # -- output ------------------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> int:
        """Send what is due; return how many notifications were attempted."""
        now = now or self.clock()
        with self._lock:
            due = [n for g in list(self.groups.values()) for n in self._due(g, now)]
            retries = [r for r in self.retries if r.due <= now]
            self.retries = [r for r in self.retries if r.due > now]
        for n in due + [r.notification for r in retries]:
            self._deliver(n, now)
        return len(due) + len(retries)

    def _due(self, g: _Group, now: datetime) -> list[Notification]:
        c = self.config
        state = g.state()
        if not g.alerts:
            del self.groups[g.key]
            return []
        if g.notified_at is None:
            ready = now - g.created >= timedelta(seconds=c.group_wait_s)
        elif state != g.notified_state:
            ready = now - g.notified_at >= timedelta(seconds=c.group_interval_s)
        else:
            ready = any(a.firing for a in g.alerts.values()) and \
                now - g.notified_at >= timedelta(seconds=c.repeat_interval_s)
        if not ready:
            return []
        alerts = sorted(g.alerts.values(), key=lambda a: (not a.firing, a.starts_at))
        g.notified_at, g.notified_state = now, frozenset((fp, a.firing) for fp, a in g.alerts.items() if a.firing)
        for fp in [fp for fp, a in g.alerts.items() if not a.firing]:
            del g.alerts[fp]  # a resolved notice is sent once
        if not g.alerts:
            del self.groups[g.key]
        return [Notification(r, g.key, dict(g.labels), alerts, c.external_url, created=now) for r in g.receivers]

    def _deliver(self, n: Notification, now: datetime) -> None:
        receiver = self.receivers.get(n.receiver)
        error = None
        try:
            if receiver is None:
                raise DeliveryError(f"no receiver named {n.receiver}")
            receiver.deliver(n)
            self.sent += 1
        except DeliveryError as e:
            error = str(e)
            delays = self.config.retry_delays_s
            if n.attempt <= len(delays):
                retry = Notification(n.receiver, n.group_key, n.group_labels, n.alerts, n.external_url,
                                     n.attempt + 1, n.created)
                with self._lock:
                    self.retries.append(_Retry(retry, now + timedelta(seconds=delays[n.attempt - 1])))
            log.warning("notification to %s failed (attempt %d): %s", n.receiver, n.attempt, error)
        key = (n.receiver, "ok" if error is None else "failed")
        self.attempts[key] = self.attempts.get(key, 0) + 1
        if self.log is not None:
            self.log.record(now, n.receiver, n.group_key, n.status, [a.fingerprint for a in n.alerts], n.attempt,
                            error)


class NotifierThread(threading.Thread):
    def __init__(self, notifier: Notifier, every_s: float = 1.0):
        super().__init__(name="clausewatch-notifier", daemon=True)
        self.notifier, self.every_s = notifier, every_s
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.every_s):
            try:
                self.notifier.tick()
            except Exception:  # the loop must survive a bad receiver
                log.exception("notifier tick failed")
