from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.catalog import default_catalog
from rules.evaluate import evaluate_one
from rules.model import Observation
from rules.registry import load_checks
from tests.rules.checks.judging import obs, run

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def judge(control_id: str, kind: str, payload: dict):
    control = next(c for c in default_catalog() if c.id == control_id)
    obs = Observation(source="t", subject_kind=control.subject, subject_id="x", kind=kind, observed_at=NOW,
                      payload=payload)
    return evaluate_one(control, load_checks()[control.check or ""], (control.subject, "x"), {(kind, ""): obs}, NOW)


@pytest.mark.parametrize(("payload", "status"), [
    pytest.param({"temperature_c": 22.0, "humidity_pct": 45.0, "rate_c_per_h": 0.5}, "pass", id="in-range"),
    pytest.param({"temperature_c": 28.5, "humidity_pct": 40.0}, "fail", id="too-hot"),
    pytest.param({"temperature_c": 22.0, "humidity_pct": 45.0, "rate_c_per_h": -6.0}, "fail", id="falling-fast"),
    pytest.param({"error": "NO-ANSWER: timeout", "probe": "cold-aisle"}, "unknown", id="probe-silent"),
    pytest.param({"temperature_c": None, "humidity_pct": 45.0}, "unknown", id="no-temperature"),
])
def test_climate_range(payload, status):
    assert judge("CLIMATE-RANGE", "climate.reading", payload).status == status


@pytest.mark.parametrize(("runtime", "status"), [(2400, "pass"), (1260, "fail"), (None, "unknown")])
def test_ups_runtime(runtime, status):
    r = run("UPS-RUNTIME", obs("ups.status", {"flags": ["OL"], "battery_runtime_s": runtime}, subject=("ups", "u1")),
            subject=("ups", "u1"))
    assert r.status == status
    if status == "fail":  # in minutes, as the machine-room page shows the runtime
        assert "21 分钟" in r.reason_zh and "要求 30 分钟" in r.reason_zh and "21 min (need 30 min)" in r.reason_en


def test_ups_stale_data_error_is_unknown():
    r = run("UPS-RUNTIME", obs("ups.status", {"error": "DATA-STALE"}, subject=("ups", "u1")), subject=("ups", "u1"))
    assert r.status == "unknown" and "DATA-STALE" in r.reason_en


@pytest.mark.parametrize(("t", "rh", "status"), [
    (22, 45, "pass"), (29, 45, "fail"), (22, 65, "fail"), (22, 20, "fail")])
def test_climate(t, rh, status):
    r = run("CLIMATE-RANGE", obs("climate.reading", {"temperature_c": t, "humidity_pct": rh}, subject=("sensor", "s")),
            subject=("sensor", "s"))
    assert r.status == status


def test_an_audits_chinese_reason_counts_the_violations_without_the_logs_identifiers():
    payload = {"door": "main-door", "events": 183, "counts": {"door_held_open": 2, "forced_entry": 1}}
    r = judge("DOOR-CLOSED", "access.audit", payload)
    assert r.status == "fail"
    assert "3 次" in r.reason_zh and "2 类" in r.reason_zh
    assert not any(c.isascii() and c.isalpha() for c in r.reason_zh)  # no door_held_open on a Chinese page
    assert "door_held_open×2" in r.reason_en and "forced_entry×1" in r.reason_en
