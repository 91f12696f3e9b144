from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from collector import auth
from collector.app import create_app
from collector.settings import Settings

EVENTS = ("time,door,badge,person,direction,result,duration_s\n"
          "2026-11-03T09:00:00+08:00,machine-room-door,S1,Li,in,granted,\n"
          "2026-11-03T10:05:00+08:00,main-door,,,,held_open,75\n")
APPROVALS = "approval_id,person,door,start,end,approved_by\n"
BADGES = "badge,person,role\nS1,Li,staff\n"


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(db=tmp_path / "cw.db"))
    c = TestClient(app)
    c.cw = app.state.cw  # type: ignore[attr-defined]
    yield c
    app.state.cw.store.close()


def upload(client, token: str | None, events: str = EVENTS):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    files = {"events": ("events.csv", events.encode("gbk")), "approvals": ("approvals.csv", APPROVALS.encode()),
             "badges": ("badges.csv", BADGES.encode())}
    return client.post("/api/v1/access/audit", headers=headers, files=files)


def test_upload_audits_and_stores_per_door(client):
    token = auth.create_source_token(client.cw.store, "access-export", ["door"])
    r = upload(client, token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"]["unapproved_entry"] == 1 and body["counts"]["door_held_open"] == 1
    stored = {o.subject_id: o.payload for o in client.cw.store.observations(kind="access.audit")}
    assert set(stored) == {"machine-room-door", "main-door"}
    assert stored["main-door"]["counts"]["door_held_open"] == 1


@pytest.mark.parametrize(("kinds", "events", "code", "text"), [
    pytest.param(["ups"], EVENTS, 403, "may not write door", id="wrong-kind"),
    pytest.param(["door"], EVENTS + "yesterday,main-door,,,,forced,\n", 422, "events.csv:4: time", id="bad-row"),
])
def test_refused_and_nothing_stored(client, kinds, events, code, text):
    token = auth.create_source_token(client.cw.store, "x", kinds)
    r = upload(client, token, events)
    assert r.status_code == code and text in r.text
    assert client.cw.store.observations(kind="access.audit") == []
