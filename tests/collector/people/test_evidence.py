"""Evidence for manual controls: upload, expiry, reminders."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from collector.engine import Engine
from collector.people import evidence as ev
from rules.catalog import default_catalog

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTROL = "EXTINGUISHER-OFFICE"


@pytest.fixture
def controls():
    return list(default_catalog())


def _upload(store, controls, valid_until: str, now: datetime, data: bytes = b"inspection 2026-11 ok"):
    until = ev.parse_valid_until(valid_until, SHANGHAI)
    return ev.add_evidence(store, controls, ev.Upload(CONTROL, data, "巡检记录.pdf", until, "monthly"),
                           actor="user:facility", now=now)


def _status(engine: Engine, store, at: datetime) -> tuple[str, dict]:
    engine.evaluate([("site", "default")], now=at)
    f = store.current_findings(control=CONTROL)[0]
    return f.status, f.value


@pytest.mark.parametrize(("at", "status"), [
    pytest.param(datetime(2026, 12, 31, 23, 0, tzinfo=SHANGHAI), "pass", id="last-valid-day"),
    pytest.param(datetime(2027, 1, 1, 0, 1, tzinfo=SHANGHAI), "fail", id="day-after-expiry"),
    pytest.param(datetime(2027, 1, 2, 12, 0, tzinfo=SHANGHAI), "fail", id="later"),
])
def test_expired_evidence_turns_its_control_to_fail_the_day_after_expiry(store, controls, at, status):
    uploaded = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    obs = _upload(store, controls, "2026-12-31", uploaded)
    engine = Engine(store, controls)
    engine.note([obs])
    assert _status(engine, store, uploaded)[0] == "pass"
    got, value = _status(engine, store, at)
    assert got == status
    assert value["sha256"] == obs.payload["sha256"]


def test_upload_is_content_addressed_and_in_the_ledger(store, controls, now):
    data = b"%PDF-1.4 signed register"
    obs = _upload(store, controls, "2027-03-31", now, data)
    sha = obs.payload["sha256"]
    assert store.get_evidence(sha) == data
    assert obs.evidence[0].sha256 == sha
    bodies = [r[0] for r in store.read.execute("SELECT body FROM ledger")]
    assert any(b'"evidence.uploaded"' in b and sha.encode() in b for b in bodies)
    listed = ev.list_evidence(store, control=CONTROL)
    assert listed[0]["uploaded_by"] == "facility" and listed[0]["filename"] == "巡检记录.pdf"
    assert listed[0]["uploaded_at"] == now.isoformat()


@pytest.mark.parametrize(("control", "data", "until", "field"), [
    pytest.param("NO-SUCH", b"x", "2027-01-01", "control", id="unknown-control"),
    pytest.param("UPS-RUNTIME", b"x", "2027-01-01", "control", id="automatic-control"),
    pytest.param(CONTROL, b"", "2027-01-01", "file", id="empty-file"),
    pytest.param(CONTROL, b"x", "2020-01-01", "valid_until", id="already-expired"),
])
def test_bad_uploads_are_refused_naming_the_field(store, controls, now, control, data, until, field):
    with pytest.raises(ev.EvidenceError, match=f"^{field}"):
        ev.add_evidence(store, controls, ev.Upload(control, data, "f.pdf", ev.parse_valid_until(until, SHANGHAI)),
                        actor="user:x", now=now)
    assert store.count_observations() == 0


def test_valid_until_rejects_garbage():
    with pytest.raises(ev.EvidenceError, match="valid_until"):
        ev.parse_valid_until("next tuesday", SHANGHAI)


UPLOADED = datetime(2026, 11, 10, 14, 0, tzinfo=SHANGHAI)  # EXTINGUISHER-OFFICE: cadence 31d


@pytest.mark.parametrize(("asked", "dated", "kept", "capped"), [
    pytest.param("2026-11-30", None, "2026-11-30T23:59:59+08:00", False, id="within-cadence"),
    pytest.param("2026-12-11", None, "2026-12-11T23:59:59+08:00", False, id="exactly-the-cadence"),
    pytest.param("2027-11-10", None, "2026-12-11T23:59:59+08:00", True, id="a-year-capped-from-upload-day"),
    pytest.param("2027-11-10", "2026-11-03", "2026-12-04T23:59:59+08:00", True, id="capped-from-evidence-date"),
    pytest.param("2026-12-01", "2026-11-03", "2026-12-01T23:59:59+08:00", False, id="dated-within-cadence"),
])
def test_validity_is_capped_by_the_controls_cadence(store, controls, asked, dated, kept, capped):
    until = ev.parse_valid_until(asked, SHANGHAI)
    obs = ev.add_evidence(store, controls, ev.Upload(CONTROL, b"inspection", "i.pdf", until,
                                                     dated=ev.parse_dated(dated)),
                          actor="user:facility", now=UPLOADED, tz=SHANGHAI)
    p = obs.payload
    assert p["valid_until"] == kept
    assert ("valid_until_requested" in p) == capped
    notice = ev.cap_notice({**p, "uploaded_at": UPLOADED.isoformat()})
    assert (notice is not None) == capped
    if capped:
        assert p["valid_until_requested"].startswith(asked)
        assert kept[:10] in notice["zh"] and "31d" in notice["zh"] and "周期" in notice["zh"]
        assert kept[:10] in notice["en"] and asked in notice["en"] and "capped" in notice["en"]
        (ledger,) = store.read.execute(
            "SELECT body FROM ledger WHERE CAST(body AS TEXT) LIKE '%evidence.uploaded%'").fetchone()
        assert kept.encode() in ledger and b"valid_until_requested" in ledger


@pytest.mark.parametrize(("dated", "message"), [
    pytest.param("2026-11-11", "after the upload day", id="dated-in-the-future"),
    pytest.param("2026-10-01", "expired on 2026-11-01", id="older-than-its-cadence"),
    pytest.param("11/03/2026", "not a date", id="garbage"),
])
def test_evidence_dated_wrongly_is_refused(store, controls, dated, message):
    with pytest.raises(ev.EvidenceError, match=f"^dated: .*{message}"):
        ev.add_evidence(store, controls, ev.Upload(CONTROL, b"x", "i.pdf", ev.parse_valid_until("2026-12-01", SHANGHAI),
                                                   dated=ev.parse_dated(dated)),
                        actor="user:facility", now=UPLOADED, tz=SHANGHAI)
    assert store.count_observations() == 0
