"""The collector over HTTP, as agents, pollers and users reach it."""
import signal
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

pytestmark = pytest.mark.integration


def ob(host: str, kind: str = "usb.devices", payload: dict | None = None, oid: str | None = None) -> dict:
    return {"id": oid or str(uuid.uuid4()), "source": "agent", "subject_kind": "host", "subject_id": host,
            "kind": kind, "observed_at": datetime.now(UTC).isoformat(),
            "payload": payload if payload is not None else {"enforcement": "sysfs", "devices": []}}


def test_unauthenticated_calls_get_401(collector):
    c = collector.client()
    for method, path in (("GET", "/api/v1/findings"), ("GET", "/api/v1/controls"), ("GET", "/metrics"),
                         ("POST", "/api/v1/observations"), ("GET", "/api/v1/posture"), ("GET", "/api/v1/users")):
        r = c.request(method, path, json={"observations": [ob("h1")]} if method == "POST" else None)
        assert r.status_code == 401, (path, r.text)
    assert c.get("/api/v1/findings", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_enrollment_needs_the_site_secret(collector):
    r = httpx.post(collector.url + "/api/v1/enroll", json={"secret": "cwe_wrong-secret", "host_id": "h1"})
    assert r.status_code == 401
    assert collector.enroll("h1").startswith("cwa_")


def test_agent_writes_only_its_own_host(collector):
    collector.enroll("h1")
    c = collector.client("h1")
    assert c.post("/api/v1/observations", json={"observations": [ob("h1")]}).status_code == 200
    r = c.post("/api/v1/observations", json={"observations": [ob("h1"), ob("h2")]})
    assert r.status_code == 403 and "host/h2" in r.json()["detail"]
    r = c.post("/api/v1/observations", json={"observations": [{**ob("x"), "subject_kind": "ups", "subject_id": "u1"}]})
    assert r.status_code == 403
    collector.login("admin")
    rows = collector.client("admin").get("/api/v1/observations", params={"limit": 100, "subject_kind": "host"}).json()
    assert [o["subject_id"] for o in rows] == ["h1"]  # the refused batch left nothing
    assert rows[0]["source"] == "agent:h1"  # the collector, not the sender, names the source


def test_auditor_reads_but_changes_nothing(collector):
    collector.login("auditor")
    c = collector.client("auditor")
    assert c.get("/api/v1/findings").status_code == 200
    assert c.get("/api/v1/controls").status_code == 200
    assert c.post("/api/v1/observations", json={"observations": [ob("h1")]}).status_code == 403
    assert c.post("/api/v1/users", json={"name": "x", "role": "admin", "password": "0123456789ab"}).status_code == 403
    assert c.post("/api/v1/enroll-secrets").status_code == 403
    assert c.post("/api/v1/source-tokens", json={"name": "nut", "subject_kinds": ["ups"]}).status_code == 403


def test_malformed_batch_is_rejected_whole_with_the_reason(collector):
    collector.enroll("h1")
    c = collector.client("h1")
    bad = ob("h1")
    bad["observed_at"] = "2026-11-29T10:00:00"  # no offset
    r = c.post("/api/v1/observations", json={"observations": [ob("h1"), bad, ob("h1")]})
    assert r.status_code == 422
    [d] = r.json()["detail"]
    assert d["index"] == 1 and d["field"] == "observed_at" and "offset" in d["message"]
    assert c.post("/api/v1/observations", content=b"{not json").status_code == 422
    assert c.post("/api/v1/observations", json=[ob("h1")]).status_code == 422
    collector.login("admin")
    assert collector.client("admin").get("/api/v1/observations", params={"subject_kind": "host"}).json() == []


@pytest.mark.ingest_pool  # 5,001 observations, refused where large batches are prepared
def test_oversized_batch_gets_413(collector):
    collector.enroll("h1")
    r = collector.client("h1").post("/api/v1/observations", json={"observations": [ob("h1")] * 5001})
    assert r.status_code == 413 and "5000" in r.json()["detail"]


def test_duplicate_batch_changes_nothing(collector):
    collector.enroll("h1")
    c = collector.client("h1")
    batch = {"observations": [ob("h1"), ob("h1", "antivirus.status", {"installed": False})]}
    first = c.post("/api/v1/observations", json=batch).json()
    head = httpx.get(collector.url + "/healthz").json()["ledger_seq"]
    again = c.post("/api/v1/observations", json=batch).json()
    assert first["accepted"] == 2 and again == {"accepted": 0, "duplicates": 2, "ledger_seq": None,
                                                "merkle_root": None}
    time.sleep(1.5)  # let the engine and checkpointer run; a duplicate must not have added entries
    assert httpx.get(collector.url + "/healthz").json()["ledger_seq"] >= head


def test_findings_follow_observations(collector):
    collector.enroll("h1")
    collector.client("h1").post("/api/v1/observations", json={"observations": [
        ob("h1", "antivirus.status", {"installed": False})]})
    collector.login("security")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = collector.client("security").get("/api/v1/findings", params={"control": "AV-RUNNING"}).json()
        if rows:
            break
        time.sleep(0.2)
    assert rows[0]["status"] == "fail" and rows[0]["subject"] == "h1"
    assert "no antivirus" in rows[0]["reason"]["en"]
    metrics = collector.client("security").get("/metrics").text
    assert 'clausewatch_findings{control="AV-RUNNING",status="fail"} 1.0' in metrics
    assert "clausewatch_observations_ingested_total" in metrics
    assert "clausewatch_ingest_duration_seconds_bucket" in metrics


def test_kill_9_right_after_an_acknowledged_batch_loses_nothing(collector):
    collector.enroll("h1")
    batch = [ob("h1") for _ in range(200)]
    r = collector.client("h1").post("/api/v1/observations", json={"observations": batch})
    assert r.status_code == 200 and r.json()["accepted"] == 200
    collector.kill(signal.SIGKILL)
    collector.start()
    collector.login("admin")
    got = collector.client("admin").get("/api/v1/observations", params={
        "limit": 1000, "subject_kind": "host", "repeats": "true"}).json()  # repeats kept compactly count too
    assert {o["id"] for o in got} == {o["id"] for o in batch}


def _descendants(pid: int) -> set[int]:
    from pathlib import Path

    try:
        kids = {int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()}
    except FileNotFoundError:
        return set()
    return kids.union(*(_descendants(k) for k in kids))


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.ingest_pool
def test_large_batches_are_prepared_in_worker_processes_that_leave_with_a_killed_server(collector):
    collector.enroll("h1")
    batch = [ob("h1", payload={"devices": [], "note": "x" * 300}) for _ in range(800)]  # > 64 KiB
    r = collector.client("h1").post("/api/v1/observations", json={"observations": batch})
    assert r.status_code == 200 and r.json()["accepted"] == 800
    workers = _descendants(collector.proc.pid)
    assert workers, "a batch this large is prepared outside the server's process"
    collector.kill(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in workers)
    collector.start()
    collector.login("admin")
    got = collector.client("admin").get("/api/v1/observations", params={
        "limit": 1000, "subject_kind": "host", "repeats": "true"}).json()  # repeats kept compactly count too
    assert len(got) == 800


def test_failed_logins_are_rate_limited(collector):
    for _ in range(5):
        r = httpx.post(collector.url + "/api/v1/auth/token", json={"username": "admin", "password": "wrong password"})
        assert r.status_code == 401
    r = httpx.post(collector.url + "/api/v1/auth/token", json={"username": "admin", "password": "wrong password"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_openapi_documents_the_api(collector):
    spec = httpx.get(collector.url + "/openapi.json").json()
    for path in ("/api/v1/observations", "/api/v1/findings", "/api/v1/enroll", "/api/v1/posture", "/api/v1/controls"):
        assert path in spec["paths"]


def test_attachments_are_stored_by_their_hash_and_referenced_by_observations(collector):
    import hashlib

    collector.enroll("h1")
    c = collector.client("h1")
    data = b"\x89PNG thumbnail bytes"
    digest = hashlib.sha256(data).hexdigest()
    assert c.put(f"/api/v1/blobs/{'0' * 64}", content=data).status_code == 409  # body and name disagree
    r = c.put(f"/api/v1/blobs/{digest}", content=data, params={"name": "t.png"}, headers={"Content-Type": "image/png"})
    assert r.status_code == 201 and r.json()["size"] == len(data)
    o = {**ob("h1"), "evidence": [r.json()]}
    assert c.post("/api/v1/observations", json={"observations": [o]}).status_code == 200
    assert httpx.put(f"{collector.url}/api/v1/blobs/{digest}", content=data).status_code == 401
    collector.login("auditor")
    assert collector.client("auditor").put(f"/api/v1/blobs/{digest}", content=data).status_code == 403
