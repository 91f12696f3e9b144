"""Views over data a source attached: a camera's latest image is shown, stored files cannot run as pages."""
from __future__ import annotations

import signal
from datetime import UTC, datetime

import pytest

from tests.integration.conftest import PASSWORD, Collector, free_port
from tests.integration.test_web import web_login

pytestmark = pytest.mark.integration
# the smallest valid PNG: one transparent pixel
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@pytest.fixture
def served(tmp_path):
    """Evidence is written before the service starts: the store has one writer, the running service."""
    from collector import auth
    from collector.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "cw.db")
    for role in ("facility", "admin"):
        auth.add_user(store, role, role, PASSWORD)
    c = Collector(store.path, free_port())
    yield store, c
    c.kill(signal.SIGTERM)


def test_camera_card_shows_the_attached_frame_and_files_are_served_safely(served):
    from rules.model import Observation

    store, collector = served
    frame = store.put_evidence(PNG, "cam-09.png", "image/png")
    script = store.put_evidence(b"<script>alert(1)</script>", "notes.html", "text/html")
    store.ingest([Observation(source="camera-worker", subject_kind="camera", subject_id="cam-09",
                              kind="camera.health", observed_at=datetime.now(UTC),
                              payload={"online": True, "fps": 12.5, "faults": []}, evidence=[frame, script])],
                 actor="test")
    store.close()
    collector.start()
    c = web_login(collector, "facility")
    page = c.get("/cameras").text
    assert f'src="/evidence-files/{frame.sha256}"' in page and "cam-09" in page
    img = c.get(f"/evidence-files/{frame.sha256}")
    assert img.content == PNG and img.headers["content-type"] == "image/png"
    assert img.headers["content-security-policy"] == "sandbox"
    html = c.get(f"/evidence-files/{script.sha256}")
    assert html.headers["content-type"] == "application/octet-stream"
    assert html.headers["content-disposition"].startswith("attachment")
    assert c.get("/evidence-files/" + "0" * 64).status_code == 404


# What a misconfigured or older source might send: strings for numbers, nulls, wrong shapes.
ODD = [
    ("host", "H1", "agent.heartbeat", {"version": None}),
    ("host", "H1", "host.identity", {"hostname": "h1", "addresses": "10.0.0.1"}),
    ("host", "H1", "pii.scan", {"totals": {"id_card": "3", "phone": None}, "batches": ["B1"], "full": True}),
    ("host", "H1", "antivirus.status", {"eicar": "yes"}),
    ("host", "H1", "usb.devices", {"devices": [{"name": "stick", "classes": ["08"], "authorized": True}]}),
    ("camera", "C1", "camera.health", {"online": False, "fps": "n/a", "faults": ["offline"]}),
    ("camera", "C1", "camera.retention", {"days": "92", "forecast_days": "soon"}),
    ("zone", "Z1", "zone.coverage", {"fraction": None}),
    ("ups", "U1", "ups.status", {"status": "OB LB", "battery_runtime_s": "600", "error": None}),
    ("sensor", "S1", "climate.reading", {"temperature_c": "31.5", "humidity_pct": 70}),
    ("door", "D1", "access.audit", {"counts": {"door_held_open": "2"}, "events": "many"}),
    ("batch", "B1", "batch.registered", {"deadline": "2026-01-01", "rows": "12"}),
    ("call_system", "R1", "calls.audit", {"counts": None}),
    ("site", "default", "manual.evidence", {"control": "INTERNAL-AUDIT", "valid_until": "2027-01-01T00:00:00+08:00"}),
]
PAGES = ("/", "/terminals", "/terminals/H1", "/cameras", "/machine-room", "/lifecycle", "/alerts", "/evidence",
         "/admin", "/subjects/camera/C1", "/controls/UPS-RUNTIME")


def test_every_page_renders_odd_payloads_real_sources_send(served):
    from rules.model import Observation

    store, collector = served
    now = datetime.now(UTC)
    store.ingest([Observation(source="field", subject_kind=k, subject_id=i, kind=kind, observed_at=now,
                              key=p.get("control", "") if kind == "manual.evidence" else "", payload=p)
                  for k, i, kind, p in ODD], actor="test")
    store.close()
    collector.start()
    c = web_login(collector, "admin")
    for path in PAGES:
        assert c.get(path).status_code == 200, path
    hosts = c.get("/terminals").text
    assert "10.0.0.1" in hosts and ">3<" in hosts.replace(" ", "")  # string count still counted


def test_purge_certificate_page_lists_every_host(served):
    from datetime import timedelta

    from rules.model import Observation

    store, collector = served
    now = datetime.now(UTC)
    deadline = now - timedelta(days=2)
    store.ingest([
        Observation(source="import", subject_kind="batch", subject_id="B2026-09", kind="batch.registered",
                    observed_at=now - timedelta(days=60),
                    payload={"bank": "广州银行", "deadline": deadline.isoformat(), "rows": 1200,
                             "dispatch_date": "2026-09-01", "end_date": "2026-11-26"}),
        *[Observation(source=f"agent:{h}", subject_kind="host", subject_id=h, kind="pii.scan", observed_at=now,
                      payload={"full": True, "finished_at": now.isoformat(), "files_scanned": 5100,
                               "batches": {"B2026-09": n}}) for h, n in (("T001", 0), ("T002", 7))]],
        actor="test")
    store.close()
    collector.start()
    c = web_login(collector, "admin")
    page = c.get("/lifecycle/certificates/B2026-09?lang=en").text
    assert "not purged" in page and "T001" in page and "still holds data" in page
    cert = c.get("/lifecycle/certificates/B2026-09", params={"format": "json"}).json()
    assert cert["status"] == "not_purged"
    assert cert["counts"] == {"clean": 1, "dirty": 1, "unscanned": 0, "not_proven": 0}
    assert c.get("/lifecycle/certificates/NOPE").status_code == 404


def test_purge_certificate_page_names_the_files_not_proven(served):
    from datetime import timedelta

    from rules.model import Observation

    store, collector = served
    now = datetime.now(UTC)
    unread = [{"path": "D:/导出/外发.zip!客户清单.xlsx", "reason": "encrypted: password-protected archive member"}]
    store.ingest([
        Observation(source="import", subject_kind="batch", subject_id="B2026-10", kind="batch.registered",
                    observed_at=now - timedelta(days=60), payload={"bank": "广州银行",
                                                                   "deadline": (now - timedelta(days=2)).isoformat()}),
        Observation(source="agent:T003", subject_kind="host", subject_id="T003", kind="pii.scan", observed_at=now,
                    payload={"full": True, "finished_at": now.isoformat(), "files_scanned": 5100, "batches": {},
                             "unreadable": 1, "errors": unread})], actor="test")
    store.close()
    collector.start()
    c = web_login(collector, "admin")
    for lang, words in (("en", ["unproven", "not proven (files could not be read)", "Files not proven"]),
                        ("zh", ["未能证明（有文件无法读取）", "未能证明的文件"])):
        page = c.get(f"/lifecycle/certificates/B2026-10?lang={lang}").text
        assert all(w in page for w in words), lang
        assert "D:/导出/外发.zip!客户清单.xlsx" in page and "encrypted: password-protected archive member" in page
    cert = c.get("/lifecycle/certificates/B2026-10", params={"format": "json"}).json()
    assert cert["status"] == "unproven" and cert["hosts"][0]["not_proven"] == unread


def test_cameras_page_shows_the_workers_floor_plan(served):
    from rules.model import Observation

    store, collector = served
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect data-zone="machine-room"/></svg>'
    plan = store.put_evidence(svg, "floorplan.svg", "image/svg+xml")
    store.ingest([Observation(source="camera-worker", subject_kind="site", subject_id="default",
                              kind="camera.floorplan", observed_at=datetime.now(UTC),
                              payload={"coverage_pct": 66.7, "ok": False, "blind_spots": ["machine-room"]},
                              evidence=[plan])], actor="test")
    store.close()
    collector.start()
    page = web_login(collector, "facility").get("/cameras?lang=en").text
    assert f'src="/evidence-files/{plan.sha256}"' in page
    assert "Floor-plan coverage" in page and "machine-room" in page and "67%" in page
