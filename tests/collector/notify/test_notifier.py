from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.notify.config import NotifyConfig
from collector.notify.log import DeliveryLog
from collector.notify.notifier import Notifier
from collector.notify.receivers import DeliveryError, mail_text
from collector.store.base import FindingChange, StoredFinding
from collector.store.sqlite import SqliteStore

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
CONFIG = {"group_wait_s": 30, "group_interval_s": 300, "repeat_interval_s": 3600, "retry_delays_s": [10, 60],
          "routes": [{"match": {"team": "facility"}, "receivers": ["facility"]}, {"receivers": ["security"]}],
          "receivers": [{"name": "facility", "webhook": {"url": "http://127.0.0.1:1/x"}},
                        {"name": "security", "webhook": {"url": "http://127.0.0.1:1/y"}}]}


class Recorder:
    """Stands in for the network: what would have been delivered (transports are tested against real servers)."""

    def __init__(self, name: str, fail: int = 0):
        self.name, self.fail, self.got = name, fail, []

    def deliver(self, n) -> None:
        if self.fail:
            self.fail -= 1
            raise DeliveryError("connection refused")
        self.got.append(n.webhook_payload())


def change(control: str, kind: str, subject: str, status: str, prev: str | None, at: datetime) -> FindingChange:
    f = StoredFinding(control, kind, subject, "pudong", status, at, at, {}, "原因", "reason", [], "critical")
    return FindingChange(f, prev, True)


@pytest.fixture
def setup(tmp_path):
    clock = [T0]
    receivers = [Recorder("facility"), Recorder("security")]
    log = DeliveryLog(SqliteStore(tmp_path / "cw.db"))
    n = Notifier(NotifyConfig.model_validate(CONFIG), receivers, log, clock=lambda: clock[0])
    return n, clock, {r.name: r for r in receivers}, log


def test_group_wait_then_resolved_notice(setup):
    n, clock, rx, log = setup
    n.on_changes([change("UPS-RUNTIME", "ups", "ups-1", "fail", "pass", T0)])
    assert n.tick(T0 + timedelta(seconds=29)) == 0  # group_wait
    assert n.tick(T0 + timedelta(seconds=30)) == 1
    (first,) = rx["facility"].got
    assert first["status"] == "firing" and first["version"] == "4" and first["receiver"] == "facility"
    assert first["groupLabels"] == {"team": "facility", "site": "pudong", "control": "UPS-RUNTIME"}
    assert first["alerts"][0]["labels"]["subject"] == "ups-1" and first["alerts"][0]["endsAt"].startswith("0001")
    clock[0] = T0 + timedelta(minutes=2)
    n.on_changes([change("UPS-RUNTIME", "ups", "ups-1", "pass", "fail", clock[0])])
    assert n.tick(T0 + timedelta(minutes=3)) == 0  # group_interval since the last notice
    assert n.tick(T0 + timedelta(seconds=330)) == 1
    resolved = rx["facility"].got[-1]
    assert resolved["status"] == "resolved" and resolved["alerts"][0]["endsAt"].startswith("2026-11-29T02:02")
    assert n.tick(T0 + timedelta(hours=5)) == 0 and not n.groups  # resolved is said once
    assert [e["status"] for e in log.entries()] == ["resolved", "firing"]
    assert rx["security"].got == []


def test_grouping_and_repeat_interval(setup):
    n, _, rx, _ = setup
    n.on_changes([change("USB-BLOCK", "host", "T001", "fail", "pass", T0),
                  change("USB-BLOCK", "host", "T002", "fail", "pass", T0),
                  change("CAMERA-HEALTHY", "camera", "cam-1", "unknown", None, T0)])
    n.tick(T0 + timedelta(seconds=30))
    (usb,) = rx["security"].got
    assert sorted(a["labels"]["subject"] for a in usb["alerts"]) == ["T001", "T002"]
    assert usb["commonLabels"]["control"] == "USB-BLOCK" and "subject" not in usb["commonLabels"]
    assert rx["facility"].got[0]["alerts"][0]["labels"]["status"] == "unknown"
    assert n.tick(T0 + timedelta(minutes=30)) == 0  # nothing new: wait for the repeat interval
    assert n.tick(T0 + timedelta(seconds=30 + 3600)) == 2
    assert len(rx["security"].got) == 2


def test_new_alert_in_a_notified_group_waits_for_group_interval(setup):
    n, clock, rx, _ = setup
    n.on_changes([change("USB-BLOCK", "host", "T001", "fail", "pass", T0)])
    n.tick(T0 + timedelta(seconds=30))
    clock[0] = T0 + timedelta(minutes=1)
    n.on_changes([change("USB-BLOCK", "host", "T003", "fail", "pass", clock[0])])
    assert n.tick(T0 + timedelta(minutes=2)) == 0
    assert n.tick(T0 + timedelta(seconds=330)) == 1
    assert len(rx["security"].got[-1]["alerts"]) == 2


def test_failed_delivery_is_retried_and_logged(setup):
    n, _, rx, log = setup
    rx["facility"].fail = 2
    n.on_changes([change("CLIMATE-RANGE", "sensor", "s-1", "fail", "pass", T0)])
    n.tick(T0 + timedelta(seconds=30))
    n.tick(T0 + timedelta(seconds=39))
    assert rx["facility"].got == []
    n.tick(T0 + timedelta(seconds=40))  # first retry after 10 s fails again
    n.tick(T0 + timedelta(seconds=100))  # second after 60 s more succeeds
    assert len(rx["facility"].got) == 1
    assert [(e["attempt"], e["ok"]) for e in reversed(log.entries())] == [(1, False), (2, False), (3, True)]
    assert log.entries()[-1]["error"] == "connection refused"


def test_unchanged_status_is_no_event(setup):
    n, _, rx, _ = setup
    ch = change("USB-BLOCK", "host", "T001", "fail", "fail", T0)
    ch.status_changed = False
    n.on_changes([ch])
    assert n.tick(T0 + timedelta(hours=1)) == 0


def test_mail_text_is_bilingual(setup):
    n, _, _, _ = setup
    n.on_changes([change("UPS-RUNTIME", "ups", "ups-1", "fail", "pass", T0)])
    from collector.notify.alerts import Notification

    g = next(iter(n.groups.values()))
    subject, body = mail_text(Notification("facility", g.key, g.labels, list(g.alerts.values())))
    assert subject.startswith("[告警 FIRING:1]") and "reason / 原因" in body and "#controlfailing" in body


def test_routes_must_name_known_receivers():
    bad = {**CONFIG, "routes": [{"receivers": ["nobody"]}]}
    with pytest.raises(ValueError, match="unknown receivers: nobody"):
        NotifyConfig.model_validate(bad)
