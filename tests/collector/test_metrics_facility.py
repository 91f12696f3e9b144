from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collector.engine import Engine
from collector.metrics import Metrics
from rules.catalog import default_catalog
from rules.model import Observation

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def obs(kind: str, subject_kind: str, subject: str, payload: dict) -> Observation:
    return Observation(source="t", subject_kind=subject_kind, subject_id=subject, kind=kind, observed_at=NOW,
                       payload=payload)


def samples(store, observations) -> dict[tuple[str, tuple], float]:
    engine = Engine(store, list(default_catalog()))
    store.ingest(observations, actor="test")
    engine.evaluate(engine.note(observations), now=NOW)
    text = generate_latest(Metrics(engine).registry).decode()
    # an empty label is no label once Prometheus stores it
    return {(s.name, tuple(sorted((k, v) for k, v in s.labels.items() if v))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_ups_climate_and_door_values(store):
    got = samples(store, [
        obs("ups.status", "ups", "ups-1", {"flags": ["OB", "DISCHRG"], "battery_runtime_s": 900.0,
                                           "battery_charge_pct": 71, "ups_load_pct": 40, "error": None}),
        obs("ups.status", "ups", "ups-2", {"flags": [], "error": "DATA-STALE"}),
        obs("climate.reading", "sensor", "s-1", {"temperature_c": 23.5, "humidity_pct": 44.0, "dew_point_c": 10.6,
                                                 "rate_c_per_h": None, "error": None}),
        obs("climate.reading", "sensor", "s-2", {"error": "NO-ANSWER: timeout"}),
        obs("access.audit", "door", "mr", {"door": "mr", "events": 12, "counts": {"forced_entry": 1}}),
    ])
    site = ("site", "default")
    assert got[("clausewatch_ups_battery_runtime_seconds", (site, ("ups", "ups-1")))] == 900
    assert got[("clausewatch_ups_on_battery", (site, ("ups", "ups-1")))] == 1
    assert got[("clausewatch_ups_data_error", (("error", "DATA-STALE"), site, ("ups", "ups-2")))] == 1
    assert ("clausewatch_ups_on_battery", (site, ("ups", "ups-2"))) not in got  # unknown is not "on mains"
    assert got[("clausewatch_climate_temperature_celsius", (("sensor", "s-1"), site))] == 23.5
    assert got[("clausewatch_climate_sensor_error", (("sensor", "s-2"), site))] == 1
    assert got[("clausewatch_access_violations", (("door", "mr"), site, ("type", "forced_entry")))] == 1



def test_room_label_from_the_configured_room_and_powered_hosts(store):
    got = samples(store, [
        obs("ups.status", "ups", "ups-a", {"flags": ["OB"], "battery_runtime_s": 2000.0, "error": None,
                                           "room": "room-a", "hosts": ["T001"]}),
        obs("climate.reading", "sensor", "s-b", {"temperature_c": 29.0, "humidity_pct": 44.0, "room": "room-b"}),
        obs("access.audit", "door", "mr-b", {"door": "mr-b", "events": 3, "counts": {}, "room": "room-b"}),
        obs("agent.heartbeat", "host", "T001", {"interval_s": 60, "tamper": []}),
        obs("agent.heartbeat", "host", "T002", {"interval_s": 60, "tamper": []}),
    ])
    site = ("site", "default")
    assert got[("clausewatch_ups_on_battery", (("room", "room-a"), site, ("ups", "ups-a")))] == 1
    assert got[("clausewatch_climate_temperature_celsius", (("room", "room-b"), ("sensor", "s-b"), site))] == 29
    assert got[("clausewatch_access_events", (("door", "mr-b"), ("room", "room-b"), site))] == 3
    status = {dict(labels)["subject"]: dict(labels).get("room") for (name, labels), v in got.items()
              if name == "clausewatch_finding_status" and v == 1}
    assert status["ups-a"] == "room-a" and status["s-b"] == "room-b" and status["mr-b"] == "room-b"
    assert status["T001"] == "room-a"  # powered by ups-a
    assert status["T002"] is None  # no room said: the label is absent, as for sites with one room
