"""Hostile and extreme input over HTTP gets a 4xx naming what is wrong, never a 500, and nothing is stored."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote_from_bytes

import pytest
from fastapi.testclient import TestClient

from collector import auth
from collector.app import create_app
from collector.settings import Settings
from rules.model import Observation

PASSWORD = "correct horse battery"


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(db=tmp_path / "cw.db"))
    c = TestClient(app, raise_server_exceptions=False)  # a server error must show as the 500 a caller sees
    c.cw = app.state.cw  # type: ignore[attr-defined]
    auth.add_user(c.cw.store, "admin", "admin", PASSWORD)
    c.admin = {"Authorization": "Bearer " + c.post("/api/v1/auth/token", json={  # type: ignore[attr-defined]
        "username": "admin", "password": PASSWORD}).json()["token"]}
    _, c.secret = auth.create_enroll_secret(c.cw.store)  # type: ignore[attr-defined]
    c.agent = {"Authorization": "Bearer " + c.post("/api/v1/enroll", json={  # type: ignore[attr-defined]
        "secret": c.secret, "host_id": "host-a"}).json()["token"]}
    yield c
    app.state.cw.store.close()


def _obs(payload: str = '{"enforcement": "sysfs", "policy_ok": true, "devices": []}', seq: str = "1") -> bytes:
    now = datetime.now(UTC).isoformat()
    return (f'{{"observations": [{{"id": "obs-00000001", "source": "x", "subject_kind": "host", "subject_id": "host-a",'
            f' "kind": "usb.devices", "observed_at": "{now}", "seq": {seq}, "payload": {payload}}}]}}').encode()


def _post(client, path: str, body: bytes, headers: dict[str, str] | None = None):
    return client.post(path, content=body, headers={"Content-Type": "application/json", **(headers or {})})


def _usb(size: str) -> str:
    """A realistic usb.devices payload whose one device reports `size` (JSON text) as its size."""
    return ('{"enforcement": "sysfs", "policy_ok": true, "devices": [{"vendor_id": "0781", "product_id": "5567",'
            f' "classes": ["08"], "authorized": false, "size_bytes": {size}}}]}}')


@pytest.mark.parametrize("size", [
    pytest.param("NaN", id="nan"),
    pytest.param("Infinity", id="infinity"),
    pytest.param("-Infinity", id="minus-infinity"),
    pytest.param("1e400", id="overflows-a-double"),
    pytest.param("18446744073709551616", id="int-2^64"),
    pytest.param("-9223372036854775809", id="int-below-minus-2^63"),
    pytest.param('[1, {"deep": 123456789012345678901234567890}]', id="nested-huge-int"),
    pytest.param('"\\ud800"', id="lone-surrogate"),
])
def test_observation_payloads_that_json_cannot_hold_are_refused(client, size):
    r = _post(client, "/api/v1/observations", _obs(_usb(size)), client.agent)
    assert r.status_code == 422, r.text
    assert client.cw.store.observations(kind="usb.devices") == []


def test_a_payload_integer_below_2_to_the_64_is_kept_exactly(client):
    r = _post(client, "/api/v1/observations", _obs(_usb("18446744073709551615")), client.agent)
    assert r.status_code == 200, r.text
    [o] = client.cw.store.observations(kind="usb.devices")
    assert o.payload["devices"][0]["size_bytes"] == 2**64 - 1


@pytest.mark.parametrize(("seq", "status"), [
    pytest.param(str(2**63 - 1), 200, id="largest"),
    pytest.param(str(2**63), 422, id="2^63"),
    pytest.param(str(2**70), 422, id="2^70"),
])
def test_seq_must_fit_the_store(client, seq, status):
    r = _post(client, "/api/v1/observations", _obs(seq=seq), client.agent)
    assert r.status_code == status, r.text
    if status == 422:
        assert "seq" in r.text


@pytest.mark.parametrize(("path", "body"), [
    pytest.param("/api/v1/auth/token", b'{"username": "\\ud800", "password": "x"}', id="login-lone-surrogate"),
    pytest.param("/api/v1/auth/token", b'{"username": NaN, "password": "x"}', id="login-nan"),
    pytest.param("/api/v1/auth/token", b'{"username": Infinity, "password": "x"}', id="login-infinity"),
    pytest.param("/api/v1/auth/token", b'{"username": 1e400, "password": "x"}', id="login-overflow"),
    pytest.param("/api/v1/auth/token", b'{"username": ["\\udfff"], "password": "x"}', id="login-low-surrogate"),
    pytest.param("/api/v1/enroll", b'{"secret": "\\ud800\\ud800\\ud800", "host_id": "h"}', id="enroll-surrogate"),
    pytest.param("/api/v1/enroll", b'{"secret": NaN, "host_id": "h"}', id="enroll-nan"),
    pytest.param("/api/v1/enroll", b'{"secret": "12345678", "host_id": -Infinity}', id="enroll-infinity"),
    pytest.param("/api/v1/auth/token", b'{"username": "a", "password": "\xff\xfe"}', id="login-not-utf8"),
])
def test_unauthenticated_json_that_would_be_echoed_is_a_422(client, path, body):
    r = _post(client, path, body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


@pytest.mark.parametrize(("path", "body"), [
    pytest.param("/api/v1/attestations", b'{"period_start": "2026-11-01T00:00:00+08:00", "period_end":'
                 b' "2026-11-30T00:00:00+08:00", "statement": "all good here", "corrects": 99999999999999999999}',
                 id="attestation-corrects-huge"),
    pytest.param("/api/v1/waivers", b'{"control": "USB-BLOCK", "subject_kind": "host", "subject": "h",'
                 b' "reason": "long enough", "end": NaN}', id="waiver-end-nan"),
    pytest.param("/api/v1/exceptions", b'{"control": "USB-BLOCK", "subject_kind": "host", "subject": "h",'
                 b' "reason": "long enough", "end": NaN}', id="waiver-end-nan-old-address"),
    pytest.param("/api/v1/users", b'{"name": "x", "role": "admin", "password": Infinity}', id="users-infinity"),
])
def test_authenticated_json_bodies_are_strict_too(client, path, body):
    r = _post(client, path, body, client.admin)
    assert r.status_code == 422, r.text


def test_evidence_expiring_with_a_huge_window_is_a_422(client):
    r = client.get("/api/v1/evidence/expiring?days=1000000000", headers=client.admin)
    assert r.status_code == 422, r.text
    assert "days" in r.text


@pytest.mark.parametrize("query", [
    pytest.param("from=0203-11-01T22:14:51-07:04&to=5063-11-26T23:20:59-12:27", id="years-203-to-5063"),
    pytest.param("from=0001-01-01T00:00:00%2B14:00&to=2026-01-01T00:00:00Z", id="before-year-1-in-utc"),
    pytest.param("from=2026-01-01T00:00:00Z&to=9999-12-31T23:59:59-23:59", id="after-year-9999-in-utc"),
])
def test_reports_for_periods_outside_the_calendar_are_a_422(client, query):
    r = client.get(f"/api/v1/reports?{query}&format=csv", headers=client.admin)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("path", [
    "/api/v1/posture?at=9999-12-31T23:59:59-23:59",
    "/api/v1/observations?since=0001-01-01T00:00:00%2B14:00",
    "/api/v1/attestations?from=9999-12-31T23:59:59-23:59",
    "/api/v1/attestations/contradictions?from=0001-01-01T00:00:00%2B14:00&to=2026-01-01T00:00:00Z",
])
def test_query_times_outside_the_calendar_are_a_422(client, path):
    r = client.get(path, headers=client.admin)
    assert r.status_code == 422, r.text


def _store_heartbeat(client, observed_at: str) -> None:
    """A row as an older collector (without today's checks at ingest) may have stored it."""
    o = Observation.model_construct(id="hb-extreme", source="agent:host-a", site="default", subject_kind="host",
                                    subject_id="host-a", kind="agent.heartbeat", key="",
                                    observed_at=datetime.fromisoformat(observed_at), received_at=None, seq=None,
                                    payload={"version": "1.0"}, evidence=[])
    client.cw.store.ingest([o], actor="agent:host-a")


@pytest.mark.parametrize("observed_at", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
@pytest.mark.parametrize("path", ["/terminals", "/terminals/host-a", "/subjects/host/host-a",
                                  "/api/v1/observations", "/api/v1/observations/hb-extreme",
                                  "/api/v1/observations?kind=agent.heartbeat"])
def test_a_stored_extreme_date_does_not_break_a_page(client, observed_at, path):
    _store_heartbeat(client, observed_at)
    client.cookies.set("cw_session", client.admin["Authorization"][7:])
    r = client.get(path, headers=client.admin)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("path", "size", "status"), [
    pytest.param("/api/v1/auth/token", 16 * 1024 + 1, 413, id="login-over-16KiB"),
    pytest.param("/api/v1/enroll", 16 * 1024 + 1, 413, id="enroll-over-16KiB"),
    pytest.param("/login", 16 * 1024 + 1, 413, id="web-login-over-16KiB"),
    pytest.param("/api/v1/users", 1024 * 1024 + 1, 413, id="other-route-over-1MiB"),
    pytest.param("/api/v1/auth/token", 16 * 1024 - 100, 422, id="login-under-the-limit-is-read"),
])
def test_every_route_has_a_body_limit(client, path, size, status):
    body = b'{"username": "' + b"a" * (size - 30) + b'", "password": "x"}'
    r = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text[:300]


def test_a_body_without_length_is_cut_off_at_the_limit(client):
    def chunks():
        for _ in range(40):
            yield b"x" * 1024

    r = client.post("/api/v1/enroll", content=chunks(), headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 413, r.text


def test_ingest_keeps_its_own_larger_limit(client):
    client.cw.settings.max_body_bytes = 2 * 1024 * 1024
    vendor = '"' + "a" * (1536 * 1024) + '"'  # 1.5 MiB: over the default limit, under ingest's
    r = _post(client, "/api/v1/observations", _obs(_usb("1").replace('"0781"', vendor)), client.agent)
    assert r.status_code == 200, r.text[:300]


def test_a_damaged_stored_row_costs_only_itself(client):
    good = _post(client, "/api/v1/observations", _obs(), client.agent)
    assert good.status_code == 200, good.text
    _store_heartbeat(client, "2026-11-29T10:00:00+08:00")
    with client.cw.store.write() as conn:
        conn.execute("UPDATE observations SET body = ? WHERE id = 'hb-extreme'", (b"\xff not json",))
    client.cookies.set("cw_session", client.admin["Authorization"][7:])
    for path in ("/api/v1/observations", "/terminals", "/terminals/host-a", "/subjects/host/host-a"):
        r = client.get(path, headers=client.admin)
        assert r.status_code == 200, (path, r.text[:300])
    ids = [o["id"] for o in client.get("/api/v1/observations", headers=client.admin).json()]
    assert "obs-00000001" in ids and "hb-extreme" not in ids
    assert client.get("/api/v1/observations/hb-extreme", headers=client.admin).status_code == 404


def test_a_large_json_body_is_held_to_the_same_rules(client):
    events = ",".join(['{"time": "2026-11-29T10:00:00+08:00", "door": "d1", "badge": "b1", "person": "p",'
                       ' "direction": "in", "result": "granted", "duration_s": 3}'] * 1000)
    assert len(events) > 64 * 1024
    body = ('{"events": [' + events + ', {"duration_s": NaN}]}').encode()
    r = _post(client, "/api/v1/access/events", body, client.admin)
    assert r.status_code == 422 and "not JSON" in r.text, r.text[:300]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store_client(request, tmp_path, monkeypatch):
    """A collector on either store: a PostgreSQL store refuses NUL in text where SQLite takes it."""
    db = request.getfixturevalue("postgres_url") if request.param == "postgresql" else str(tmp_path / "cw.db")
    app = create_app(Settings(db=db))
    c = TestClient(app, raise_server_exceptions=False)
    _, secret = auth.create_enroll_secret(app.state.cw.store)
    token = c.post("/api/v1/enroll", json={"secret": secret, "host_id": "host-a"}).json()["token"]
    yield c, {"Authorization": "Bearer " + token}, app.state.cw.store
    app.state.cw.store.close()


@pytest.mark.parametrize("field", ["id", "source", "site", "key"])
def test_a_nul_in_an_observation_text_field_is_refused_naming_it(any_store_client, field):
    client, agent, store = any_store_client
    body = json.loads(_obs())
    body["observations"][0][field] = body["observations"][0].get(field, "") + "obs\u0000-forged"
    r = _post(client, "/api/v1/observations", json.dumps(body).encode(), agent)
    assert r.status_code == 422 and field in r.text, r.text
    assert store.count_observations() == 0


@pytest.mark.parametrize(("path", "named"), [
    ("/api/v1/observations?kind=usb%00.devices", "query parameter 'kind'"),
    ("/api/v1/observations?kind=usb.devices&subject_kind=%00", "query parameter 'subject_kind'"),
    ("/api/v1/findings?control=USB%00-BLOCK", "query parameter 'control'"),
    ("/api/v1/observations/obs%00-1", "the path"),
])
def test_a_nul_in_a_path_or_query_is_refused_naming_it(any_store_client, path, named):
    """No stored text holds a NUL, and PostgreSQL refuses one in any text it is asked to compare: a 422
    naming where it is, on both stores, rather than a server error on one."""
    client, _, store = any_store_client
    auth.add_user(store, "admin", "admin", PASSWORD)
    token = client.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}).json()["token"]
    r = client.get(path, headers={"Authorization": "Bearer " + token})
    assert r.status_code == 422 and r.json()["detail"] == f"{named} holds a NUL character", r.text
    assert client.get(path.replace("%00", ""), headers={"Authorization": "Bearer " + token}).status_code in (200, 404)


@pytest.mark.parametrize(("path", "body", "named"), [
    ("/api/v1/auth/token", {"username": "admin\u0000", "password": PASSWORD}, "body.username"),
    ("/api/v1/enroll", {"secret": "s" * 20, "host_id": "host-\u0000b"}, "body.host_id"),
])
def test_a_nul_in_a_json_body_is_refused_naming_it(any_store_client, path, body, named):
    """Also where no token is needed: a 422 naming the field on both stores, not a server error on one."""
    client, _, store = any_store_client
    r = client.post(path, json=body)
    assert r.status_code == 422 and r.json()["detail"].startswith(f"{named}: a NUL character"), r.text


def test_a_nul_in_a_form_field_is_refused_naming_it(any_store_client):
    client, _, _ = any_store_client
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = client.post("/login", content=b"username=admin%00&password=x", headers=form)
    assert r.status_code == 422 and r.json()["detail"] == "form field 'username' holds a NUL character", r.text
    assert client.post("/login", content=b"username=admin&password=x", headers=form).status_code == 401


@pytest.mark.parametrize("sent", ["caf%E9", "%FF%FE", "%ED%A0%80", "caf\xe9", "a%C3"])
def test_a_query_or_form_field_that_is_not_utf8_is_refused_naming_it(any_store_client, sent):
    """Latin-1, stray bytes, an encoded surrogate, a raw byte, a cut sequence: kept, they would be replacement
    characters, not what was sent; a 422 naming the field on both stores. UTF-8 goes through."""
    client, _, store = any_store_client
    auth.add_user(store, "admin", "admin", PASSWORD)
    bearer = {"Authorization": "Bearer " + client.post(
        "/api/v1/auth/token", json={"username": "admin", "password": PASSWORD}).json()["token"]}
    raw = sent.encode("latin-1")  # in a body as it is; in a URL escaped (a client escapes a raw byte as UTF-8)
    r = client.get("/api/v1/observations?kind=" + quote_from_bytes(raw, safe="%"), headers=bearer)
    assert r.status_code == 422 and r.json()["detail"] == "query parameter 'kind' is not UTF-8 text", r.text
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = client.post("/login", content=b"username=" + raw + b"&password=x", headers=form)
    assert r.status_code == 422 and r.json()["detail"] == "form field 'username' is not UTF-8 text", r.text
    assert client.get("/api/v1/observations?kind=%E4%B8%AD%E6%96%87", headers=bearer).status_code == 200
    assert client.post("/login", content="username=管理员&password=x".encode(), headers=form).status_code == 401


def _admin_and_manager(client, store) -> tuple[dict[str, str], dict[str, str], str, str]:
    """Bearer headers of an admin's and a manager's web sessions, and their CSRF tokens."""
    auth.add_user(store, "admin", "admin", PASSWORD)
    auth.add_user(store, "manager", "manager", PASSWORD)
    admin, admin_csrf, _ = auth.create_session(store, "admin")
    manager, csrf, _ = auth.create_session(store, "manager")
    return {"Authorization": "Bearer " + admin}, {"Authorization": "Bearer " + manager}, csrf, admin_csrf


@pytest.mark.parametrize("corrects", [2**63, 2**64 - 1])
def test_an_integer_beyond_a_database_integer_in_a_json_body_is_refused_naming_it(any_store_client, corrects):
    """SQLite cannot bind it: looking up the attestation corrected was a 500."""
    client, _, store = any_store_client
    _, manager, _, _ = _admin_and_manager(client, store)
    body = (b'{"period_start": "2026-01-01T00:00:00+08:00", "period_end": "2026-11-01T00:00:00+08:00",'
            b' "statement": "all good here", "corrects": %d}' % corrects)
    r = _post(client, "/api/v1/attestations", body, manager)
    assert r.status_code == 422 and r.json()["detail"] == "body.corrects: integer out of range (from -2^63 to 2^63-1)"
    assert store.attestations() == []


@pytest.mark.parametrize("corrects", [str(2**63), "\u00b2"])  # '²' is a digit to str.isdigit(), not to int()
def test_a_web_form_id_the_store_cannot_look_up_is_refused(any_store_client, corrects):
    client, _, store = any_store_client
    _, manager, csrf, _ = _admin_and_manager(client, store)
    r = client.post("/attestations", data={"start": "2026-01-01", "end": "2026-11-01", "statement": "all good here",
                                            "corrects": corrects, "csrf_token": csrf}, headers=manager)
    assert r.status_code == 400 and "corrects" in r.text, r.text[:300]


@pytest.mark.parametrize("body", [
    pytest.param(b'{"username": "a", "password": NaN}', id="nan"),
    pytest.param(b'{"username": "a", "password": "\\ud800"}', id="lone-surrogate"),
    pytest.param(b'{"username": "a", "password": "\xff"}', id="not-utf8"),
])
def test_json_no_parser_takes_is_refused_naming_the_field(client, body):
    r = _post(client, "/api/v1/auth/token", body)
    assert r.status_code == 422 and r.json()["detail"].startswith("body.password: "), r.text


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00"])
def test_a_pushed_access_event_outside_the_calendar_is_refused_naming_it(any_store_client, when):
    """The audit reads each event's local hour, which such a time has not: it was a 500."""
    client, _, store = any_store_client
    admin, _, _, _ = _admin_and_manager(client, store)
    event = {"time": when, "door": "d1", "badge": "b1", "person": "p", "direction": "in", "result": "granted"}
    r = client.post("/api/v1/access/events", json={"events": [event]}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == f"events:1: time: '{when}' lies outside 1970-01-01 to 2999-12-31 (UTC)"
    assert store.count_observations() == 0


@pytest.mark.parametrize(("path", "field"), [("/api/v1/evidence", "note"), ("/evidence/upload", "note"),
                                             ("/api/v1/evidence", "control"), ("/api/v1/access/audit", "hours")])
def test_a_nul_in_a_multipart_text_field_is_refused_naming_it(any_store_client, path, field):
    """As in a URL-encoded form (it was stored in an evidence note); a NUL in a file's bytes is the file's."""
    client, _, store = any_store_client
    admin, _, _, csrf = _admin_and_manager(client, store)
    fields = {"control": "FIRE-DRILL", "valid_until": "2030-01-01", "note": "drill", "hours": "08:00-18:00",
              "csrf_token": csrf, field: "a\x00b"}
    files = {name: (f"{name}.csv", b"x\x00y") for name in ("file", "events", "approvals", "badges")}
    r = client.post(path, data=fields, files=files, headers=admin)
    assert r.status_code == 422 and r.json()["detail"] == f"form field {field!r} holds a NUL character", r.text
    assert store.count_observations() == 0


def _multipart(fields: list[tuple[bytes, bytes]], files: list[tuple[bytes, bytes]]) -> tuple[bytes, dict[str, str]]:
    """A multipart body written by hand, so a part's name and a text part's value may be any bytes, and its
    Content-Type header; files: (part's name, file's bytes)."""
    boundary = b"hostile-boundary-5c2e"
    body = b""
    for name, value in fields:
        body += b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, name, value)
    for name, data in files:
        body += (b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="upload.bin"\r\n'
                 b"Content-Type: application/octet-stream\r\n\r\n%s\r\n" % (boundary, name, data))
    return body + b"--%s--\r\n" % boundary, {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}


def _upload(path: str, csrf: str, **text: bytes) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """The text fields and files an upload to `path` takes (an evidence file, or an access audit's exports),
    with `text` in place of its fields of those names."""
    if path == "/api/v1/access/audit":
        fields = {"machine_room_door": b"d1", "hours": b"08:00-18:00"}
        files = [(b"events", b"x"), (b"approvals", b"x"), (b"badges", b"x")]
    else:
        fields = {"control": b"FIRE-DRILL", "valid_until": b"2030-01-01", "note": b"drill", "csrf_token": csrf.encode()}
        files = [(b"file", b"%PDF-1.4 drill")]
    return [(name.encode(), value) for name, value in {**fields, **text}.items()], files


@pytest.mark.parametrize(("path", "field", "sent"), [
    pytest.param("/api/v1/evidence", "note", b"caf\xe9", id="latin-1"),
    pytest.param("/evidence/upload", "note", b"\xff\xfe", id="stray-bytes-web-form"),
    pytest.param("/api/v1/evidence", "control", b"\xed\xa0\x80", id="encoded-surrogate"),
    pytest.param("/api/v1/evidence", "valid_until", b"2030-01-01\xc3", id="cut-sequence"),
    pytest.param("/api/v1/access/audit", "hours", b"08:00-18:00\x80", id="continuation-byte-audit"),
])
def test_a_multipart_text_field_that_is_not_utf8_is_refused_naming_it(any_store_client, path, field, sent):
    """Starlette takes such a value as Latin-1 (an evidence note was stored so): a 422 naming the field, as in a
    URL-encoded form, on both stores, and nothing stored."""
    client, _, store = any_store_client
    admin, _, _, csrf = _admin_and_manager(client, store)
    body, kind = _multipart(*_upload(path, csrf, **{field: sent}))
    r = client.post(path, content=body, headers={**admin, **kind})
    assert r.status_code == 422 and r.json()["detail"] == f"form field {field!r} is not UTF-8 text", r.text
    assert store.count_observations() == 0


@pytest.mark.parametrize("part", ["text", "file"])
def test_a_multipart_field_name_that_is_not_utf8_is_refused_naming_it(any_store_client, part):
    client, _, store = any_store_client
    admin, _, _, csrf = _admin_and_manager(client, store)
    fields, files = _upload("/api/v1/evidence", csrf)
    if part == "text":
        fields.append((b"caf\xe9", b"x"))
    else:
        files.append((b"caf\xe9", b"x"))
    body, kind = _multipart(fields, files)
    r = client.post("/api/v1/evidence", content=body, headers={**admin, **kind})
    assert r.status_code == 422 and r.json()["detail"] == "form field 'caf\ufffd' is not UTF-8 text", r.text
    assert store.count_observations() == 0


def test_multipart_text_in_utf8_and_any_file_bytes_are_taken_as_sent(any_store_client):
    """A note in Chinese with an 'é' (both not ASCII, and not UTF-8 once taken as Latin-1) is kept as sent, and a
    file's bytes are the file's, whatever they are (neither UTF-8 nor free of NULs here)."""
    client, _, store = any_store_client
    admin, _, _, csrf = _admin_and_manager(client, store)
    note, data = "演练记录 café", bytes(range(256)) + b"\xff\xfe\x00\xc3"
    manual = next(c["id"] for c in client.get("/api/v1/controls", headers=admin).json() if c.get("manual"))
    fields, _ = _upload("/api/v1/evidence", csrf, note=note.encode(), control=manual.encode())
    body, kind = _multipart(fields, [(b"file", data)])
    r = client.post("/api/v1/evidence", content=body, headers={**admin, **kind})
    assert r.status_code == 201, r.text
    assert [u["note"] for u in client.get("/api/v1/evidence", headers=admin).json()] == [note]
    assert client.get(f"/api/v1/evidence/{r.json()['sha256']}", headers=admin).content == data


@pytest.mark.parametrize(("size", "named"), [
    pytest.param("18446744073709551616", "observations[0].payload.devices[0].size_bytes", id="2^64"),
    pytest.param('[1, {"deep": -9223372036854775809}]', "observations[0].payload.devices[0].size_bytes[1].deep",
                 id="nested-below-minus-2^63"),
    pytest.param("NaN", "body.observations[0].payload.devices[0].size_bytes", id="nan"),
    pytest.param('"\\ud800"', "body.observations[0].payload.devices[0].size_bytes", id="lone-surrogate"),
])
def test_a_payload_value_that_cannot_be_kept_is_named(client, size, named):
    r = _post(client, "/api/v1/observations", _obs(_usb(size)), client.agent)
    assert r.status_code == 422 and str(r.json()["detail"]).startswith(named + ": "), r.text


def test_a_csrf_token_that_is_not_ascii_is_refused_as_wrong(any_store_client):
    """compare_digest raises on text that is not ASCII: a form's or a header's token was a 500."""
    client, _, store = any_store_client
    admin, _, _, _ = _admin_and_manager(client, store)
    r = client.post("/lang", data={"lang": "en", "csrf_token": "\u00e9"}, headers=admin, follow_redirects=False)
    assert r.status_code == 403, r.text[:300]
    client.cookies.set("cw_session", admin["Authorization"][7:])
    r = client.post("/api/v1/users", json={"name": "x", "role": "auditor", "password": "a long password"},
                    headers={"X-CSRF-Token": b"\xff"})  # type: ignore[dict-item]
    assert r.status_code == 403 and r.json()["detail"] == "CSRF token missing or wrong", r.text
