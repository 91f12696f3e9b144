"""Expiry reminders: once per evidence item and threshold, sent through the notifier to the owner role."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collector.engine import Engine
from collector.notify.config import NotifyConfig
from collector.notify.log import DeliveryLog
from collector.notify.notifier import Notifier
from collector.people import evidence as ev
from collector.people import reminders as rm
from rules.catalog import default_catalog

SHANGHAI = ZoneInfo("Asia/Shanghai")
UPLOADED = datetime(2026, 12, 1, tzinfo=UTC)
CONFIG = {"group_wait_s": 0, "group_interval_s": 60, "repeat_interval_s": 60, "retry_delays_s": [10],
          "routes": [{"match": {"team": "facility"}, "receivers": ["facility"]},
                     {"match": {"team": "manager"}, "receivers": ["managers"]}, {"receivers": ["security"]}],
          "receivers": [{"name": n, "webhook": {"url": f"http://127.0.0.1:1/{n}"}}
                        for n in ("facility", "managers", "security")]}


class Recorder:
    """Stands in for the network (webhook and mail are tested against real servers in tests/integration)."""

    def __init__(self, name: str):
        self.name = name
        self.got: list[dict] = []

    def deliver(self, n) -> None:
        self.got.append(n.webhook_payload())


@pytest.fixture
def controls():
    return list(default_catalog())


@pytest.fixture
def world(store, controls):
    clock = [UPLOADED]
    rx = {n: Recorder(n) for n in ("facility", "managers", "security")}
    notifier = Notifier(NotifyConfig.model_validate(CONFIG), rx.values(), DeliveryLog(store),
                        clock=lambda: clock[0])
    engine = Engine(store, controls)
    listener = rm.ReminderListener(store, {c.id: c.owner_role for c in controls}, lambda: notifier)
    engine.listeners.append(listener)

    def upload(control: str, until: str) -> None:
        obs = ev.add_evidence(store, controls, ev.Upload(control, f"{control} record".encode(), "r.pdf",
                                                         ev.parse_valid_until(until, SHANGHAI)),
                              actor="user:facility", now=UPLOADED)
        engine.note([obs])

    def at(days: float) -> None:
        clock[0] = UPLOADED + timedelta(days=days)
        engine.evaluate(None, now=clock[0])
        notifier.tick(clock[0])

    return upload, at, rx, notifier


def _reminders(rx: Recorder) -> list[tuple[str, str]]:
    return [(a["labels"]["control"], a["labels"]["reminder"]) for body in rx.got for a in body["alerts"]
            if a["labels"]["alertname"] == rm.ALERTNAME]


def test_each_threshold_is_sent_once_to_the_owner_roles_receivers(store, world):
    upload, at, rx, _ = world
    upload("EXTINGUISHER-OFFICE", "2026-12-20")  # owner: facility; valid through 12-20 (site time)
    for day in (0, 1, 8, 8.5, 9, 10, 13, 13.2, 14, 17, 19.2, 19.5, 20, 21, 25, 30):
        at(day)
    assert _reminders(rx["facility"]) == [("EXTINGUISHER-OFFICE", "14d"), ("EXTINGUISHER-OFFICE", "7d"),
                                          ("EXTINGUISHER-OFFICE", "1d"), ("EXTINGUISHER-OFFICE", "expired")]
    assert _reminders(rx["managers"]) == [] and _reminders(rx["security"]) == []
    first = next(b for b in rx["facility"].got if any(a["labels"]["alertname"] == rm.ALERTNAME for a in b["alerts"]))
    alert = first["alerts"][0]
    assert alert["labels"]["team"] == "facility" and "2026-12-20" in alert["annotations"]["summary"]
    assert "证据将于 2026-12-20 过期" in alert["annotations"]["summary"]
    assert len(rm.reminders(store)) == 4  # the same four on the dashboard and in the ledger
    bodies = [r[0] for r in store.read.execute("SELECT body FROM ledger WHERE CAST(body AS TEXT) LIKE ?",
                                               (f"%{rm.EVENT}%",))]
    assert len(bodies) == 4


def test_reminders_follow_the_owner_role_and_are_grouped_per_control(store, world):
    upload, at, rx, notifier = world
    upload("BADGE-POLICY", "2026-12-05")  # owner: manager
    upload("EXTINGUISHER-OFFICE", "2026-12-05")
    at(0.5)
    assert _reminders(rx["managers"]) == [("BADGE-POLICY", "7d")]
    assert _reminders(rx["facility"]) == [("EXTINGUISHER-OFFICE", "7d")]
    for hours in (1, 2, 3, 6, 12):  # beyond repeat_interval_s: a reminder is not repeated
        notifier.tick(UPLOADED + timedelta(days=0.5, hours=hours))
    assert len(_reminders(rx["managers"])) == 1 and len(_reminders(rx["facility"])) == 1
    assert {e["receiver"] for e in notifier.log.entries() if e["ok"]} >= {"managers", "facility"}


def test_reminders_recorded_before_the_notifier_runs_wait_for_it(store, controls):
    engine = Engine(store, controls)
    running: list[Notifier] = []
    engine.listeners.append(rm.ReminderListener(store, {"EXTINGUISHER-OFFICE": "facility"},
                                                lambda: running[0] if running else None))
    obs = ev.add_evidence(store, controls, ev.Upload("EXTINGUISHER-OFFICE", b"x", "r.pdf",
                                                     ev.parse_valid_until("2026-12-05", SHANGHAI)),
                          actor="user:facility", now=UPLOADED)
    engine.note([obs])
    engine.evaluate(None, now=UPLOADED)
    assert len(rm.reminders(store)) == 1
    rx = Recorder("facility")
    running.append(Notifier(NotifyConfig.model_validate({**CONFIG, "receivers": CONFIG["receivers"][:1],
                                                         "routes": [{"receivers": ["facility"]}]}), [rx],
                            clock=lambda: UPLOADED))
    engine.evaluate(None, now=UPLOADED + timedelta(hours=6))  # the next change hands them over
    running[0].tick(UPLOADED + timedelta(hours=6))
    assert _reminders(rx) == [("EXTINGUISHER-OFFICE", "7d")]
