from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.catalog import default_catalog
from rules.evaluate import evaluate_one
from rules.model import Observation
from rules.registry import load_checks

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
