from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.engine import Engine
from collector.notify.config import NotifyConfig
from collector.notify.notifier import Notifier
from collector.rooms import engine_rooms, subject_rooms
from rules.catalog import default_catalog
from rules.model import Observation

T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def obs(subject_kind: str, subject: str, kind: str, payload: dict, minutes: int = 0) -> Observation:
    return Observation(source="t", subject_kind=subject_kind, subject_id=subject, kind=kind,
                       observed_at=T0 + timedelta(minutes=minutes), payload=payload)


def latest(*observations: Observation) -> dict:
    out: dict = {}
    for o in observations:
        out.setdefault(o.subject, {})[(o.kind, o.key)] = o
    return out


@pytest.mark.parametrize(("observations", "want"), [
    pytest.param([obs("ups", "u1", "ups.status", {"room": "A", "hosts": ["T1", "T2"]})],
                 {("ups", "u1"): "A", ("host", "T1"): "A", ("host", "T2"): "A"}, id="ups-and-its-hosts"),
    pytest.param([obs("sensor", "s1", "climate.reading", {"room": "B"}),
                  obs("door", "d1", "access.audit", {"door": "d1", "room": "B"})],
                 {("sensor", "s1"): "B", ("door", "d1"): "B"}, id="sensor-and-door"),
    pytest.param([obs("ups", "u1", "ups.event", {"room": "A"}), obs("ups", "u1", "ups.status", {}, minutes=1)],
                 {}, id="room-taken-out-of-the-configuration"),
    pytest.param([obs("host", "T1", "agent.heartbeat", {"room": "X"})], {}, id="hosts-only-through-their-ups"),
])
def test_subject_rooms(observations, want):
    assert subject_rooms(latest(*observations)) == want


class Hook:
    name = "facility"

    def __init__(self) -> None:
        self.got: list[dict] = []

    def deliver(self, n) -> None:
        self.got.append(n.webhook_payload())


def test_notifier_fed_by_the_engine_mutes_within_the_polled_room(store):
    """The collector's wiring: findings from the engine, rooms from the pollers' observations."""
    engine = Engine(store, list(default_catalog()))
    hook = Hook()
    config = NotifyConfig.model_validate({"routes": [{"receivers": ["facility"]}],
                                          "receivers": [{"name": "facility", "webhook": {"url": "http://x/"}}]})
    notifier = Notifier(config, [hook], clock=lambda: T0, rooms=lambda: engine_rooms(engine))
    engine.listeners.append(notifier.on_changes)
    batch = [obs("ups", "ups-a", "ups.status", {"flags": ["OB"], "battery_runtime_s": 2400, "room": "room-a",
                                                "test_date": T0.isoformat(), "test_result": "Done and passed"}),
             obs("sensor", "s-a", "climate.reading", {"temperature_c": 31.0, "humidity_pct": 40.0, "room": "room-a"}),
             obs("sensor", "s-b", "climate.reading", {"temperature_c": 31.0, "humidity_pct": 40.0, "room": "room-b"})]
    store.ingest(batch, actor="t")
    engine.evaluate(engine.note(batch), now=T0)
    notifier.tick(T0 + timedelta(seconds=30))
    told = {(a["labels"]["alertname"], a["labels"]["subject"], a["labels"].get("room")) for body in hook.got
            for a in body["alerts"]}
    assert told == {("UpsOnBattery", "ups-a", "room-a"), ("CLIMATE-RANGE", "s-b", "room-b")}
