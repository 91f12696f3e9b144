"""Evidence, attestations, exceptions and reports through a real collector and the CLI."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import cli

pytestmark = pytest.mark.integration


def _upload(c, who: str, **form):
    data = {"control": "EXTINGUISHER-OFFICE", "valid_until": "2099-12-31", "note": "monthly", **form}
    return c.client(who).post("/api/v1/evidence", data=data,
                              files={"file": ("巡检.pdf", b"%PDF-1.4 inspection", "application/pdf")})


def test_evidence_upload_list_download_and_judgement(collector):
    for u in ("facility", "auditor"):
        collector.login(u)
    assert _upload(collector, "auditor").status_code == 403
    bad = _upload(collector, "facility", control="UPS-RUNTIME")
    assert bad.status_code == 422 and "control" in bad.json()["detail"]
    r = _upload(collector, "facility")
    assert r.status_code == 201, r.text
    sha = r.json()["sha256"]
    got = collector.client("auditor").get(f"/api/v1/evidence/{sha}")
    assert got.status_code == 200 and got.content == b"%PDF-1.4 inspection"
    listed = collector.client("auditor").get("/api/v1/evidence").json()
    assert listed[0]["uploaded_by"] == "facility" and listed[0]["sha256"] == sha
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        f = collector.client("auditor").get("/api/v1/findings", params={"control": "EXTINGUISHER-OFFICE"}).json()
        if f and f[0]["status"] == "pass":
            break
        time.sleep(0.2)
    assert f[0]["status"] == "pass" and f[0]["value"]["sha256"] == sha


def test_validity_beyond_the_cadence_is_capped_and_said(collector):
    collector.login("facility")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    r = _upload(collector, "facility", valid_until="2099-12-31")  # EXTINGUISHER-OFFICE: monthly (31d)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["capped"] and body["valid_until"] == f"{today + timedelta(days=31)}T23:59:59+08:00"
    assert body["valid_until_requested"].startswith("2099-12-31") and body["cadence"] == "31d"
    assert "31d" in body["notice"]["zh"] and "2099-12-31" in body["notice"]["en"]
    dated = _upload(collector, "facility", valid_until="2099-12-31", dated=str(today - timedelta(days=3)))
    assert dated.json()["valid_until"].startswith(str(today + timedelta(days=28)))
    short = _upload(collector, "facility", valid_until=str(today + timedelta(days=5))).json()
    assert not short["capped"] and short["notice"] is None
    stale = _upload(collector, "facility", valid_until="2099-12-31", dated=str(today - timedelta(days=40)))
    assert stale.status_code == 422 and stale.json()["detail"].startswith("dated:")


def test_attestations_and_exceptions_are_for_managers(collector):
    for u in ("manager", "security"):
        collector.login(u)
    now = datetime.now(UTC)
    body = {"period_start": (now - timedelta(days=1)).isoformat(), "period_end": (now - timedelta(minutes=1))
            .isoformat(), "statement": "本期人工控制项已全部检查"}
    assert collector.client("security").post("/api/v1/attestations", json=body).status_code == 403
    first = collector.client("manager").post("/api/v1/attestations", json=body)
    assert first.status_code == 201, first.text
    fix = collector.client("manager").post("/api/v1/attestations", json={**body, "corrects": first.json()["id"],
                                                                          "statement": "更正：补充说明录音系统停顿"})
    assert fix.status_code == 201
    q = {"from": body["period_start"], "to": body["period_end"]}
    assert collector.client("security").get("/api/v1/attestations/contradictions", params=q).json() == []
    naive = {"from": "2026-11-01T00:00:00", "to": "2026-11-02T00:00:00"}
    assert collector.client("security").get("/api/v1/attestations/contradictions", params=naive).status_code == 422
    hist = collector.client("security").get("/api/v1/attestations").json()
    assert [h["corrected_by"] for h in hist] == [fix.json()["id"], None]
    w = {"control": "DOOR-CLOSED", "subject_kind": "door", "subject": "main-door", "reason": "closer on order",
         "end": (now + timedelta(days=7)).isoformat()}
    assert collector.client("security").post("/api/v1/exceptions", json=w).status_code == 403
    made = collector.client("manager").post("/api/v1/exceptions", json=w)
    assert made.status_code == 201 and made.json()["approver"] == "manager"
    assert collector.client("security").get("/api/v1/exceptions", params={"active": True}).json()[0]["id"] == \
        made.json()["id"]


def test_report_download_needs_the_reports_role(collector):
    for u in ("auditor", "facility"):
        collector.login(u)
    now = datetime.now(UTC)
    q = {"from": (now - timedelta(days=1)).isoformat(), "to": now.isoformat(), "format": "oscal"}
    assert collector.client("facility").get("/api/v1/reports", params=q).status_code == 403
    r = collector.client("auditor").get("/api/v1/reports", params=q)
    assert r.status_code == 200 and "assessment-results" in r.json()
    assert collector.client("auditor").get("/api/v1/reports", params={**q, "format": "doc"}).status_code == 422


def test_cli_evidence_report_and_verify(tmp_path):
    from collector.store.sqlite import SqliteStore

    db = str(tmp_path / "cw.db")
    SqliteStore(db).close()  # evidence is added to the site's store; it does not start one
    f = tmp_path / "photo.jpg"
    f.write_bytes(b"\xff\xd8\xff photo")
    r = cli("evidence", "add", "EXTINGUISHER-OFFICE", str(f), "--valid-until", "2026-12-31", "--db", db,
            "--now", "2026-12-01T10:00:00+08:00", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "pass"
    assert cli("evidence", "add", "NOPE", str(f), "--valid-until", "2026-12-31", "--db", db).returncode == 2
    capped = cli("evidence", "add", "EXTINGUISHER-OFFICE", str(f), "--valid-until", "2027-06-30", "--db", db,
                 "--now", "2026-12-01T10:00:00+08:00", "--dated", "2026-11-28")
    assert capped.returncode == 0, capped.stderr
    assert "2026-12-29T23:59:59+08:00" in capped.stdout  # 11-28 + 31 days
    assert "缩短至 2026-12-29" in capped.stdout and "capped to 2026-12-29" in capped.stdout
    stale = cli("evidence", "add", "EXTINGUISHER-OFFICE", str(f), "--valid-until", "2027-06-30", "--db", db,
                "--now", "2026-12-01T10:00:00+08:00", "--dated", "2026-10-01")
    assert stale.returncode == 2 and stale.stderr.strip().count("\n") == 0 and "dated" in stale.stderr
    out = tmp_path / "b.zip"
    r = cli("report", "--from", "2026-11-30", "--to", "2026-12-02", "--db", db, "--format", "bundle", "-o", str(out))
    assert r.returncode in (0, 1), r.stderr
    key = tmp_path / "site.pem"
    key.write_text(cli("ledger", "pubkey", "--db", db).stdout)
    ok = cli("verify", str(out), "--pubkey", str(key))
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr
    raw = bytearray(out.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # inside some member's compressed bytes
    out.write_bytes(bytes(raw))
    bad = cli("verify", str(out), "--pubkey", str(key))
    assert bad.returncode == 1 and bad.stdout.strip() != "OK"
    assert cli("report", "--from", "2026-12-02", "--to", "2026-11-30", "--db", db, "--format", "pdf", "-o",
               str(tmp_path / "x.pdf")).returncode == 2
