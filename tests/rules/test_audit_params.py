"""The log audits' thresholds come from the catalog, and a finding names an audit run with others."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.audit_params import audit_thresholds
from rules.catalog import default_catalog, load_catalog
from rules.evaluate import evaluate_one
from rules.model import Observation
from rules.registry import load_checks
from tests.rules.catalog_copy import catalog_with

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("kind", "want"), [
    pytest.param("access.audit", {"max_held_open_s": 60, "escort_window_s": 120}, id="access"),
    pytest.param("calls.audit", {"min_recorded_ratio": 0.8, "retention_years": 3, "max_silence_h": 2}, id="calls"),
    pytest.param("accounts.audit", {"export_limit": 1000, "export_window_min": 60, "max_gap_h": 2,
                                    "session_idle_min": 30}, id="accounts"),
])
def test_every_audit_threshold_is_a_control_parameter(kind, want):
    assert audit_thresholds(default_catalog(), kind) == want


def test_a_site_catalog_sets_the_thresholds(tmp_path):
    controls = load_catalog(catalog_with(tmp_path, {"AUDIT-LOG-COMPLETE": {"max_gap_h": 4}}))
    assert audit_thresholds(controls, "accounts.audit")["max_gap_h"] == 4


def _judge(control_id: str, payload: dict):
    control = next(c for c in default_catalog() if c.id == control_id)
    kind = str(control.params.get("audit_kind", "calls.audit"))
    obs = Observation(source="t", subject_kind=control.subject, subject_id="x", kind=kind, observed_at=NOW,
                      payload=payload)
    return evaluate_one(control, load_checks()[control.check or ""], (control.subject, "x"), {(kind, ""): obs}, NOW)


CALLS = {"counts": {"no_recording": 0}, "retention": {"ok": True}, "recorder": {"stalled_periods": []}}


@pytest.mark.parametrize(("control_id", "payload", "named"), [
    pytest.param("BULK-EXPORT-WATCH", {"counts": {"bulk_export": 0}, "thresholds": {"export_limit": 5000}},
                 "export_limit=5000 (control: 1000)", id="looser-export-limit"),
    pytest.param("DOOR-CLOSED", {"counts": {"door_held_open": 1}, "thresholds": {"max_held_open_s": 30,
                                                                                 "escort_window_s": 120}},
                 "max_held_open_s=30 (control: 60)", id="stricter-held-open"),
    pytest.param("RECORDING-RETENTION", {**CALLS, "thresholds": {"retention_years": 1}},
                 "retention_years=1 (control: 3)", id="retention"),
    pytest.param("RECORDER-ALIVE", {**CALLS, "thresholds": {"max_silence_h": 8}},
                 "max_silence_h=8 (control: 2)", id="recorder"),
    pytest.param("CALLS-RECORDED", {**CALLS, "thresholds": {"min_recorded_ratio": 0.8}}, "", id="same-as-control"),
    pytest.param("NO-SHARED-ACCOUNTS", {"counts": {}}, "", id="audit-before-thresholds-were-recorded"),
])
def test_a_finding_names_thresholds_that_differ_from_its_controls(control_id, payload, named):
    result = _judge(control_id, payload)
    if named:
        assert named in result.reason_en and "临时阈值" in result.reason_zh
        assert "threshold_overrides" in result.value
    else:
        assert "ad hoc" not in result.reason_en and "threshold_overrides" not in result.value
