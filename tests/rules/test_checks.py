"""Checks are pure: a dict of observations in, a verdict out."""
from datetime import UTC, datetime, timedelta

import pytest

from rules.catalog import default_catalog
from rules.evaluate import evaluate, evaluate_one
from rules.model import Observation
from rules.registry import load_checks

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def obs(kind: str, payload: dict, *, age: timedelta = timedelta(minutes=1), subject=("host", "T001"), key=""):
    return Observation(source="test", subject_kind=subject[0], subject_id=subject[1], kind=kind, key=key,
                       observed_at=NOW - age, payload=payload)


def run(control_id: str, *observations: Observation, subject=("host", "T001")):
    control = next(c for c in default_catalog() if c.id == control_id)
    spec = load_checks()[control.check or "manual_evidence"]
    latest = {(o.kind, o.key): o for o in observations}
    return evaluate_one(control, spec, subject, latest, NOW)


STICK = {"vendor_id": "0781", "product_id": "5567", "serial": "X", "classes": ["08"]}
KBD = {"vendor_id": "046d", "product_id": "c31c", "classes": ["03"], "authorized": True}


@pytest.mark.parametrize(("payload", "status"), [
    pytest.param({"enforcement": "sysfs", "devices": [KBD, {**STICK, "authorized": False}]}, "pass", id="blocked"),
    pytest.param({"enforcement": "sysfs", "devices": [KBD, {**STICK, "authorized": True}]}, "fail", id="usable"),
    pytest.param({"enforcement": "sysfs", "devices": [{**STICK, "authorized": True, "allowed": True}]}, "pass",
                 id="allow-listed"),
    pytest.param({"enforcement": "none", "devices": [KBD]}, "fail", id="no-enforcement"),
    pytest.param({"enforcement": "sysfs", "new_devices_held": False, "devices": [KBD]}, "fail",
                 id="new devices authorised on arrival"),
    pytest.param({"enforcement": "sysfs", "new_devices_held": True, "devices": [KBD]}, "pass", id="blocked first"),
    pytest.param({"enforcement": "sysfs", "new_devices_held": None, "devices": []}, "pass", id="no USB bus"),
])
def test_usb_block(payload, status):
    assert run("USB-BLOCK", obs("usb.devices", payload)).status == status


def test_missing_data_is_unknown_not_pass():
    r = run("USB-BLOCK")
    assert r.status == "unknown" and "USB device list" in r.reason_en and r.value["missing"] == "usb.devices"


def test_stale_data_is_unknown_and_says_how_old():
    r = run("USB-BLOCK", obs("usb.devices", {"enforcement": "sysfs", "devices": []}, age=timedelta(hours=5)))
    assert r.status == "unknown"
    assert "stale" in r.reason_en and "5.0 hours" in r.reason_en


@pytest.mark.parametrize(("age_days", "status"), [(0.5, "pass"), (5.2, "fail")])
def test_signature_age(age_days, status):
    p = {"product": "ClamAV", "installed": True, "running": True, "scheduled_scan": True,
         "signature_time": (NOW - timedelta(days=age_days)).isoformat()}
    r = run("AV-FRESH", obs("antivirus.status", p))
    assert r.status == status
    assert r.value["signature_age_days"] == pytest.approx(age_days, abs=0.01)
    if status == "fail":
        assert "5.2 days" in r.reason_en


def test_no_antivirus_is_fail_not_unknown():
    assert run("AV-RUNNING", obs("antivirus.status", {"installed": False})).status == "fail"


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


def test_manual_evidence_expires_the_day_after():
    def at(days_left):
        return obs("manual.evidence", {"control": "EXTINGUISHER-OFFICE",
                                       "valid_until": (NOW + timedelta(days=days_left)).isoformat()},
                   subject=("site", "default"), key="EXTINGUISHER-OFFICE", age=timedelta(days=20))
    assert run("EXTINGUISHER-OFFICE", at(3), subject=("site", "default")).status == "pass"
    assert run("EXTINGUISHER-OFFICE", at(-1), subject=("site", "default")).status == "fail"
    assert run("EXTINGUISHER-OFFICE", subject=("site", "default")).status == "unknown"


def test_batch_purge_needs_every_host_scanned_clean_after_the_deadline():
    deadline = NOW - timedelta(days=2)
    batch = obs("batch.registered", {"deadline": deadline.isoformat()}, subject=("batch", "B1"), age=timedelta(days=30))
    control = next(c for c in default_catalog() if c.id == "BATCH-PURGED")
    spec = load_checks()["batch_purged"]

    def scan(host, finished, hits):
        return obs("pii.scan", {"full": True, "finished_at": finished.isoformat(), "batches": {"B1": hits}},
                   subject=("host", host))

    hb = [obs("agent.heartbeat", {}, subject=("host", h)) for h in ("h1", "h2")]

    def judge(scans):
        return evaluate_one(control, spec, ("batch", "B1"), {("batch.registered", ""): batch}, NOW,
                            {"pii.scan": scans, "agent.heartbeat": hb}).status

    assert judge([scan("h1", NOW, 0), scan("h2", NOW, 0)]) == "pass"
    assert judge([scan("h1", NOW, 0), scan("h2", NOW, 3)]) == "fail"
    assert judge([scan("h1", NOW, 0), scan("h2", deadline - timedelta(days=1), 0)]) == "unknown"
    assert judge([scan("h1", NOW, 0)]) == "unknown"


def test_evaluate_flat_list_for_agent_once():
    results = evaluate(list(default_catalog()), [
        obs("usb.devices", {"enforcement": "sysfs", "devices": [KBD]}),
        obs("antivirus.status", {"installed": False}),
    ], NOW)
    by = {r.control: r.status for r in results}
    assert by["USB-BLOCK"] == "pass" and by["AV-RUNNING"] == "fail"
