"""The ingest request's path through the middlewares and dependencies: what each step passes on unchanged."""
from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from collector import auth
from collector.api.bodyguard import BodyGuard, BodyHeaders, BodyLimit
from collector.api.observations import IngestResponse, _answer
from collector.app import create_app
from collector.settings import Settings
from collector.web.headers import HEADERS


@pytest.mark.parametrize(("headers", "seen"), [
    pytest.param([(b"content-length", b"10"), (b"content-type", b"application/json")], (10, True, False), id="json"),
    pytest.param([(b"content-type", b"application/merge-patch+json; charset=utf-8")], (None, True, False), id="+json"),
    pytest.param([(b"content-length", b"1x")], (None, False, False), id="length-not-a-number"),
    pytest.param([(b"content-length", b"5"), (b"content-length", b"500")], (5, False, False), id="first-length"),
    pytest.param([(b"content-type", b"text/plain"), (b"content-type", b"application/json")], (None, False, False),
                 id="first-type"),
    pytest.param([(b"content-length", b"5"), (b"transfer-encoding", b"chunked")], (5, False, True), id="chunked"),
])
def test_body_headers_are_read_in_one_pass(headers, seen):
    body = BodyHeaders.of({"headers": headers})
    assert (body.declared, body.json, body.chunked) == seen


def test_only_a_declared_length_within_the_limit_needs_no_counting():
    assert BodyHeaders(100, False, False).within(100)
    assert not BodyHeaders(101, False, False).within(100)
    assert not BodyHeaders(None, False, False).within(100)
    assert not BodyHeaders(10, False, True).within(100)


def _through_guard(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, bytes]:
    """Post `chunks` through a BodyGuard with a limit of 100 bytes to an app that reads the body and echoes its size."""
    async def app(scope, receive, send):
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await JSONResponse({"read": size})(scope, receive, send)

    guard = BodyGuard(app, [BodyLimit("POST", "/in", 100, decoded_by_route=True)])
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/in", "headers": headers}
    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_a_body_within_its_declared_length_reaches_the_route_whole():
    status, body = _through_guard([(b"content-length", b"90")], [b"x" * 50, b"y" * 40])
    assert (status, json.loads(body)) == (200, {"read": 90})


def test_a_chunked_body_past_the_limit_is_refused_whatever_length_it_declares():
    status, body = _through_guard([(b"content-length", b"10"), (b"transfer-encoding", b"chunked")],
                                  [b"x" * 60, b"y" * 60])
    assert status == 413 and b"exceeds the limit of 100 bytes" in body


@pytest.mark.parametrize(("accepted", "duplicates", "seq", "root"), [
    (500, 0, 7, "ab" * 32), (0, 3, None, None), (2**40, 2**40, 2**62, "0" * 64)])
def test_the_ingest_answer_is_the_bytes_fastapi_wrote_for_the_model(accepted, duplicates, seq, root):
    model = IngestResponse(accepted=accepted, duplicates=duplicates, ledger_seq=seq, merkle_root=root)
    before = JSONResponse(model.model_dump(mode="json"))
    after = _answer(accepted, duplicates, seq, root)
    assert after.body == before.body
    assert after.headers.items() == before.headers.items()


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(db=tmp_path / "cw.db", ingest_processes=0))
    c = TestClient(app)
    c.cw = app.state.cw  # type: ignore[attr-defined]
    yield c
    app.state.cw.store.close()


def test_security_headers_then_server_timing_last(client):
    r = client.get("/healthz")
    names = [name.lower() for name, _ in r.headers.raw]
    assert names[-len(HEADERS) - 1:] == [name for name, _ in HEADERS] + [b"server-timing"]


def test_a_response_keeps_its_own_policy(client):
    r = client.get("/docs")
    assert "cdn.jsdelivr.net" in r.headers["content-security-policy"]
    assert len(r.headers.get_list("content-security-policy")) == 1 and "server-timing" in r.headers


def test_the_permission_check_answers_as_before(client):
    _, secret = auth.create_enroll_secret(client.cw.store)
    agent = client.post("/api/v1/enroll", json={"secret": secret, "host_id": "host-a"}).json()["token"]
    none = client.get("/api/v1/users")
    assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer"
    assert none.json() == {"detail": "authentication required: send 'Authorization: Bearer <token>'"}
    unknown = client.get("/api/v1/users", headers={"Authorization": "Bearer nobody"})
    assert unknown.status_code == 401
    refused = client.get("/api/v1/users", headers={"Authorization": f"Bearer {agent}"})
    assert (refused.status_code, refused.json()) == (403, {"detail": "agent may not users.manage"})
