"""Findings as alerts, and alert groups as Alertmanager webhook payloads."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

FACILITY_KINDS = frozenset({"ups", "sensor", "door", "camera", "zone"})
ALERTING_STATUSES = frozenset({"fail", "unknown"})
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "not ended"
# labels that may change while an alert stays the same one (the room is configuration, not identity)
_NOT_IDENTITY = frozenset({"status", "room"})


@dataclass
class Alert:
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None = None
    # a one-off notice's identity, the same whichever collector builds it (an expiry reminder: its
    # evidence item and threshold): each receiver gets it once, ever (Notification.claim_key)
    notice_id: str | None = None

    @property
    def identity(self) -> dict[str, str]:
        return {k: v for k, v in self.labels.items() if k not in _NOT_IDENTITY}

    @property
    def fingerprint(self) -> str:
        text = "\x00".join(f"{k}={v}" for k, v in sorted(self.identity.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def firing(self) -> bool:
        return self.ends_at is None

    def as_webhook(self, external_url: str) -> dict[str, Any]:
        return {"status": "firing" if self.firing else "resolved", "labels": self.labels,
                "annotations": self.annotations, "startsAt": self.starts_at.isoformat(),
                "endsAt": self.ends_at.isoformat() if self.ends_at else _ZERO_TIME,
                "generatorURL": f"{external_url}/controls/{self.labels.get('control', '')}",
                "fingerprint": self.fingerprint}


def finding_alert(finding: Any, runbooks_url: str = "docs/runbooks.md", room: str = "") -> Alert:
    """The alert a failing or unknown finding raises (labels as the Prometheus rules use them; `room`
    only when the subject's room is known, as Prometheus drops empty labels)."""
    team = "facility" if finding.subject_kind in FACILITY_KINDS else "security"
    labels = {"alertname": finding.control, "control": finding.control, "subject_kind": finding.subject_kind,
              "subject": finding.subject_id, "site": finding.site, "severity": finding.severity,
              "status": finding.status, "team": team} | ({"room": room} if room else {})
    verb = ("违规", "fails") if finding.status == "fail" else ("状态未知", "is unknown")
    anchor = "controlfailing" if finding.status == "fail" else "controlevidencemissing"
    annotations = {"summary": f"{finding.control} {verb[1]} on {finding.subject_kind} {finding.subject_id} / "
                              f"{finding.subject_id} {verb[0]}",
                   "description": f"{finding.reason_en} / {finding.reason_zh}",
                   "runbook_url": f"{runbooks_url}#{anchor}"}
    return Alert(labels, annotations, finding.since)


def on_battery_alert(finding: Any, runbooks_url: str = "docs/runbooks.md", room: str = "") -> Alert:
    """`UpsOnBattery` for a UPS-RUNTIME finding, as the Prometheus rule of that name: firing while the
    finding's value says the UPS runs on battery (whatever its runtime), resolved otherwise."""
    ups = finding.subject_id
    labels = {"alertname": "UpsOnBattery", "control": finding.control, "subject_kind": "ups", "subject": ups,
              "ups": ups, "site": finding.site, "severity": "critical", "team": "facility"} | (
        {"room": room} if room else {})
    annotations = {"summary": f"UPS {ups} is on battery / UPS 正在使用电池供电",
                   "description": f"Mains power to UPS {ups} at site {finding.site} has failed; the UPS is carrying"
                                  f" the load. 市电中断，UPS {ups} 正在用电池带载。",
                   "runbook_url": f"{runbooks_url}#upsonbattery"}
    return Alert(labels, annotations, finding.evaluated_at)


def on_battery(finding: Any) -> bool | None:
    """Whether a UPS-RUNTIME finding says its UPS runs on battery (None: not such a finding)."""
    if finding.control != "UPS-RUNTIME":
        return None
    return bool((finding.value or {}).get("on_battery"))


@dataclass
class Notification:
    """One message to one receiver about one group."""

    receiver: str
    group_key: str
    group_labels: dict[str, str]
    alerts: list[Alert]
    external_url: str = ""
    attempt: int = 1
    created: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    repeat: bool = False  # the group's state as last sent, again after the repeat interval
    notice: bool = False  # a one-off notice (Notifier.announce), never repeated

    @property
    def state(self) -> str:
        """What this notification says, the same whichever collector builds it: its alerts and whether
        each fires (a finding's `since` may differ by a round between collectors, so it is left out,
        except for one-off notices, which are told apart by their identity or, lacking one, by it)."""
        items = sorted(f"{a.fingerprint}:{'firing' if a.firing else 'resolved'}"
                       + (f":{a.notice_id or a.starts_at.isoformat()}" if self.notice else "") for a in self.alerts)
        return hashlib.sha256("\n".join(items).encode()).hexdigest()

    @property
    def claim_key(self) -> str:
        """Under which key the store keeps who sends this (collector/notify/log.py). An alert group's
        claim follows the group: a new state replaces the last. A one-off notice has its own, so that
        no later notice of its group lets another collector send it again."""
        if self.notice and len(self.alerts) == 1 and self.alerts[0].notice_id:
            return f"notice:{self.alerts[0].notice_id}"
        return self.group_key

    def one_by_one(self) -> list[Notification]:
        """This notification split per alert, each claimed on its own (one-off notices)."""
        return [replace(self, alerts=[a]) for a in self.alerts]

    @property
    def status(self) -> str:
        return "firing" if any(a.firing for a in self.alerts) else "resolved"

    def webhook_payload(self) -> dict[str, Any]:
        """Alertmanager's webhook payload (version 4), so receivers work with either."""
        labels = [a.labels for a in self.alerts]
        annotations = [a.annotations for a in self.alerts]
        return {"version": "4", "groupKey": self.group_key, "truncatedAlerts": 0, "status": self.status,
                "receiver": self.receiver, "groupLabels": self.group_labels,
                "commonLabels": _common(labels), "commonAnnotations": _common(annotations),
                "externalURL": self.external_url, "alerts": [a.as_webhook(self.external_url) for a in self.alerts]}


def _common(dicts: list[dict[str, str]]) -> dict[str, str]:
    if not dicts:
        return {}
    first = dicts[0]
    return {k: v for k, v in first.items() if all(d.get(k) == v for d in dicts[1:])}
