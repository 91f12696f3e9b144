"""What an agent on a watched terminal (or a stolen source token) may send, against the real service:
a poisoned observation, a date in 2099, kinds that belong to someone else."""
from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from collector.store.sqlite import SqliteStore
from rules.model import Observation

pytestmark = pytest.mark.integration

STICK = {"vendor_id": "0781", "product_id": "5567", "classes": ["08"], "authorized": True}


def ob(host: str, kind: str, payload: dict, *, at: datetime | None = None, **fields: object) -> dict:
    return {"id": str(uuid.uuid4()), "source": "agent", "subject_kind": "host", "subject_id": host, "kind": kind,
            "observed_at": (at or datetime.now(UTC)).isoformat(), "payload": payload, **fields}


def stored_behind_the_api(collector, *observations: dict) -> None:
    """Write straight into the store file, as an earlier collector version (which took these) left them."""
    store = SqliteStore(collector.db)
    try:
        store.ingest([Observation.model_validate(o) for o in observations], actor="agent:old-version")
    finally:
        store.close()


def finding(collector, control: str, subject: str, until=lambda f: True, timeout: float = 20.0) -> dict | None:
    """The current finding of `control` on `subject` once `until` holds for it (None if it never appears)."""
    client = collector.client("security")
    deadline, row = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        rows = client.get("/api/v1/findings", params={"control": control, "subject": subject}).json()
        row = rows[0] if rows else None
        if row is not None and until(row):
            return row
        time.sleep(0.2)
    return row


def test_a_poisoned_observation_costs_only_its_own_finding_across_a_restart(collector):
    for host in ("T001", "T002"):
        collector.enroll(host)
    collector.login("security")
    poison = ob("T001", "antivirus.status", {"installed": True, "running": True, "scheduled_scan": True,
                                             "signature_time": "garbage"})
    r = collector.client("T001").post("/api/v1/observations", json={"observations": [poison]})
    assert r.status_code == 422
    [d] = r.json()["detail"]
    assert d["index"] == 0 and d["field"] == "payload.signature_time"

    stored_behind_the_api(collector, poison)
    r = collector.client("T002").post("/api/v1/observations", json={"observations": [
        ob("T002", "usb.devices", {"enforcement": "sysfs", "devices": [STICK]})]})
    assert r.status_code == 200, r.text
    assert finding(collector, "USB-BLOCK", "T002", lambda f: f["status"] == "fail")["status"] == "fail"
    fresh = finding(collector, "AV-FRESH", "T001", lambda f: "unreadable" in f["reason"]["en"])
    assert fresh["status"] == "unknown" and poison["id"] in fresh["reason"]["en"]

    collector.kill()
    collector.start()
    collector.enroll("T003")
    collector.login("security")
    r = collector.client("T003").post("/api/v1/observations", json={"observations": [
        ob("T003", "usb.devices", {"enforcement": "sysfs", "devices": [STICK]})]})
    assert r.status_code == 200, r.text
    assert finding(collector, "USB-BLOCK", "T003", lambda f: f["status"] == "fail")["status"] == "fail"
    assert finding(collector, "AV-FRESH", "T001")["status"] == "unknown"


def test_a_date_in_2099_is_refused_and_never_masks_the_present(collector):
    collector.enroll("T001")
    collector.login("security")
    agent = collector.client("T001")
    future = ob("T001", "usb.devices", {"enforcement": "sysfs", "policy_ok": True, "devices": []},
                at=datetime(2099, 1, 1, tzinfo=UTC))
    r = agent.post("/api/v1/observations", json={"observations": [future]})
    assert r.status_code == 422
    [d] = r.json()["detail"]
    assert d["field"] == "observed_at" and "ahead of the collector's clock" in d["message"]

    stored_behind_the_api(collector, future)
    now_false = ob("T001", "usb.devices", {"enforcement": "sysfs", "policy_ok": False, "reason": "not root",
                                           "devices": []})
    assert agent.post("/api/v1/observations", json={"observations": [now_false]}).status_code == 200
    usb = finding(collector, "USB-BLOCK", "T001", lambda f: f["status"] == "fail")
    assert usb["status"] == "fail" and "not root" in usb["reason"]["en"]
    nearly_now = ob("T001", "agent.heartbeat", {"interval_s": 60}, at=datetime.now(UTC) + timedelta(minutes=2))
    assert agent.post("/api/v1/observations", json={"observations": [nearly_now]}).status_code == 200


def test_kinds_that_belong_to_others_are_refused_naming_the_kind(collector):
    collector.enroll("T001")
    collector.login("admin")
    r = collector.client("admin").post("/api/v1/source-tokens", json={"name": "camera-worker",
                                                                     "subject_kinds": ["camera", "zone", "site"]})
    collector.tokens["camera-worker"] = r.json()["token"]
    sequence = ob("T001", "agent.sequence", {"epochs": 1, "gaps": [], "gaps_total": 0, "missing_total": 0})
    r = collector.client("T001").post("/api/v1/observations", json={"observations": [sequence]})
    assert r.status_code == 403 and "agent.sequence" in r.json()["detail"]

    site = {"subject_kind": "site", "subject_id": "default"}
    evidence = {**ob("x", "manual.evidence", {"control": "EXTINGUISHER-OFFICE", "filename": "none.pdf",
                                              "valid_until": "2099-12-31T00:00:00+08:00"}),
                **site, "key": "EXTINGUISHER-OFFICE"}
    verify = {**ob("x", "ledger.verify", {"ok": True, "entries": 1, "checkpoints": 1, "error": None}), **site}
    worker = collector.client("camera-worker")
    for forged, kind in ((evidence, "manual.evidence"), (verify, "ledger.verify")):
        r = worker.post("/api/v1/observations", json={"observations": [forged]})
        assert r.status_code == 403 and kind in r.json()["detail"], r.text
    floorplan = {**ob("x", "camera.floorplan", {"coverage_pct": 100, "ok": True, "blind_spots": []}), **site}
    assert worker.post("/api/v1/observations", json={"observations": [floorplan]}).status_code == 200

    collector.login("security")
    assert finding(collector, "EXTINGUISHER-OFFICE", "default", timeout=3)["status"] != "pass"
    sequence_finding = finding(collector, "AGENT-SEQUENCE", "T001", timeout=3)
    assert sequence_finding is None or sequence_finding["status"] != "pass"
