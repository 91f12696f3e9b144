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


ROOMS = {("ups", "ups-a"): "room-a", ("sensor", "s-a"): "room-a", ("host", "T001"): "room-a",
         ("sensor", "s-b"): "room-b", ("host", "T002"): "room-b"}


def power(ups: str, on_battery: bool, at: datetime, status: str = "pass", prev: str | None = "pass") -> FindingChange:
    f = StoredFinding("UPS-RUNTIME", "ups", ups, "pudong", status, at, at, {"on_battery": on_battery}, "原因",
                      "reason", [], "critical")
    return FindingChange(f, prev, status != prev)


@pytest.fixture
def rooms_setup(tmp_path):
    receivers = [Recorder("facility"), Recorder("security")]
    rooms = dict(ROOMS)
    n = Notifier(NotifyConfig.model_validate(CONFIG), receivers, clock=lambda: T0, rooms=lambda: rooms)
    return n, {r.name: r for r in receivers}, rooms


def sent(rx) -> dict[str, str]:
    """subject or ups -> the status of its alert in the latest notice that names it."""
    out: dict[str, str] = {}
    for body in rx["facility"].got + rx["security"].got:
        for a in body["alerts"]:
            out[f'{a["labels"]["alertname"]}/{a["labels"]["subject"]}'] = a["status"]
    return out


def test_ups_on_battery_mutes_only_its_own_room(rooms_setup):
    n, rx, _ = rooms_setup
    n.on_changes([power("ups-a", True, T0),
                  change("CLIMATE-RANGE", "sensor", "s-a", "fail", "pass", T0),
                  change("CLIMATE-RANGE", "sensor", "s-b", "fail", "pass", T0),
                  change("AGENT-REPORTING", "host", "T001", "unknown", "pass", T0),
                  change("AGENT-REPORTING", "host", "T002", "unknown", "pass", T0)])
    n.tick(T0 + timedelta(seconds=30))
    assert sent(rx) == {"UpsOnBattery/ups-a": "firing", "CLIMATE-RANGE/s-b": "firing",
                        "AGENT-REPORTING/T002": "firing"}
    battery = next(a for a in rx["facility"].got[0]["alerts"] if a["labels"]["alertname"] == "UpsOnBattery")
    assert battery["labels"]["room"] == "room-a" and battery["annotations"]["runbook_url"].endswith("#upsonbattery")

    # mains returns; the room-a host is still silent: now it is news
    n.on_changes([power("ups-a", False, T0 + timedelta(minutes=3))])
    n.tick(T0 + timedelta(minutes=6))
    assert sent(rx) == {"UpsOnBattery/ups-a": "resolved", "CLIMATE-RANGE/s-b": "firing",
                        "AGENT-REPORTING/T002": "firing", "AGENT-REPORTING/T001": "firing",
                        "CLIMATE-RANGE/s-a": "firing"}


def test_alert_that_ends_while_muted_is_never_told(rooms_setup):
    n, rx, _ = rooms_setup
    n.on_changes([power("ups-a", True, T0), change("AGENT-REPORTING", "host", "T001", "unknown", "pass", T0)])
    n.tick(T0 + timedelta(seconds=30))
    n.on_changes([change("AGENT-REPORTING", "host", "T001", "pass", "unknown", T0 + timedelta(minutes=1))])
    n.tick(T0 + timedelta(minutes=10))
    assert rx["security"].got == [] and not [g for g in n.groups.values() if g.labels["team"] == "security"]


@pytest.mark.parametrize(("ups_room", "sensor_room", "muted"), [
    pytest.param("room-a", "room-a", True, id="same-room"),
    pytest.param("room-a", "room-b", False, id="other-room"),
    pytest.param(None, None, True, id="no-rooms-one-per-site"),
    pytest.param("room-a", None, False, id="sensor-without-room"),
])
def test_inhibition_compares_site_and_room(rooms_setup, ups_room, sensor_room, muted):
    n, rx, rooms = rooms_setup
    rooms.clear()
    rooms.update({k: v for k, v in ((("ups", "ups-a"), ups_room), (("sensor", "s-x"), sensor_room)) if v})
    n.on_changes([power("ups-a", True, T0), change("CLIMATE-RANGE", "sensor", "s-x", "fail", "pass", T0)])
    n.tick(T0 + timedelta(seconds=30))
    assert ("CLIMATE-RANGE/s-x" not in sent(rx)) == muted


def test_runtime_short_on_battery_is_one_alert_not_two(rooms_setup):
    n, rx, _ = rooms_setup
    n.on_changes([power("ups-a", True, T0, status="fail")])
    n.tick(T0 + timedelta(seconds=30))
    assert sent(rx) == {"UpsOnBattery/ups-a": "firing"}
    n.on_changes([power("ups-a", False, T0 + timedelta(minutes=1), status="fail", prev="fail")])
    n.tick(T0 + timedelta(minutes=6))
    assert sent(rx) == {"UpsOnBattery/ups-a": "resolved", "UPS-RUNTIME/ups-a": "firing"}
