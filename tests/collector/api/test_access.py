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


def test_pushed_events_are_audited_like_exports(client):
    token = auth.create_source_token(client.cw.store, "controller", ["door"])
    body = {"events": [
        {"time": "2026-11-03T09:00:00+08:00", "door": "mr", "badge": "A1", "person": "Wang", "direction": "in",
         "result": "granted"},
        {"time": "2026-11-03 09:01:00", "door": "mr", "badge": "S1", "direction": "in", "result": "granted"},
        {"time": "2026-11-03T23:10:00+08:00", "door": "main", "result": "forced"}],
        "approvals": [{"person": "Wang", "door": "mr", "start": "2026-11-03", "end": "2026-11-03"},
                      {"person": "Li", "door": "mr", "start": "2026-11-03T08:00:00+08:00",
                       "end": "2026-11-03T12:00:00+08:00"}],
        "badges": [{"badge": "A1", "person": "Wang", "role": "admin"},
                   {"badge": "S1", "person": "Li", "role": "staff"}],
        "machine_room_doors": ["mr"]}
    r = client.post("/api/v1/access/events", headers={"Authorization": f"Bearer {token}"}, json=body)
    assert r.status_code == 200, r.text
    assert [v["type"] for v in r.json()["violations"]] == ["forced_entry"]
    assert {o.subject_id for o in client.cw.store.observations(kind="access.audit")} == {"mr", "main"}


def test_pushed_malformed_record_is_named(client):
    token = auth.create_source_token(client.cw.store, "controller", ["door"])
    body = {"events": [{"time": "2026-11-03T09:00:00+08:00", "door": "mr", "result": "granted", "direction": "in"},
                       {"time": "soon", "door": "mr", "result": "forced"}]}
    r = client.post("/api/v1/access/events", headers={"Authorization": f"Bearer {token}"}, json=body)
    assert r.status_code == 422 and "events:2: time: 'soon'" in r.text
    assert client.cw.store.observations(kind="access.audit") == []


def _ev(time: str, door: str, badge: str, result: str = "granted", **more) -> dict:
    return {"time": f"2026-11-03T{time}+08:00", "door": door, "badge": badge, "direction": "in", "result": result,
            **more}


STAFF_AND_ADMIN = [{"badge": "A1", "person": "Wang", "role": "admin"}, {"badge": "S1", "person": "Li", "role": "staff"}]
ALL_DAY = [{"approval_id": f"AP{i}", "person": p, "door": "mr", "start": "2026-11-03", "end": "2026-11-03"}
           for i, p in enumerate(("Li", "Wang"))]


@pytest.mark.parametrize(("first", "second", "want"), [
    pytest.param([_ev("10:00:00", "mr", "S1")], [_ev("10:01:30", "mr", "A1")], {},
                 id="escort-badges-in-next-push"),
    pytest.param([_ev("10:00:00", "mr", "A1")], [_ev("10:01:30", "mr", "S1")], {},
                 id="escort-badged-in-previous-push"),
    pytest.param([_ev("10:05:00", "main", "", "held_open")], [_ev("10:05:00", "main", "", "held_open", duration_s=40)],
                 {}, id="held-open-alarm-gets-its-duration"),
    pytest.param([_ev("10:05:00", "main", "", "held_open", duration_s=40)],
                 [_ev("10:05:00", "main", "", "held_open", duration_s=140)], {"door_held_open": 1},
                 id="held-open-longer-than-first-said"),
    pytest.param([_ev("10:00:00", "main", "", "forced")], [_ev("12:00:00", "main", "A1")], {"forced_entry": 1},
                 id="violation-stays-for-the-window"),
    pytest.param([{**_ev("10:00:00", "main", "", "forced"), "time": "2026-11-01T10:00:00+08:00"}],
                 [_ev("12:00:00", "main", "A1")], {}, id="older-than-the-window"),
    pytest.param([_ev("10:00:00", "mr", "S1")], [_ev("10:00:00", "mr", "S1"), _ev("10:00:30", "mr", "S1")],
                 {"unescorted_entry": 2}, id="event-pushed-again-counts-once"),
])
def test_pushes_are_audited_with_the_recent_window(client, first, second, want):
    headers = {"Authorization": "Bearer " + auth.create_source_token(client.cw.store, "controller", ["door"])}
    for events in (first, second):
        r = client.post("/api/v1/access/events", headers=headers, json={
            "events": events, "approvals": ALL_DAY, "badges": STAFF_AND_ADMIN, "machine_room_doors": ["mr"]})
        assert r.status_code == 200, r.text
    assert {k: v for k, v in r.json()["counts"].items() if v} == want
    latest = {door: o.payload["counts"] for (_, door), by_kind in client.cw.store.latest_all("door").items()
              for (_, _), o in by_kind.items()}
    assert {k: v for counts in latest.values() for k, v in counts.items() if v} == want


def test_a_revoked_badge_judges_only_later_events(client):
    headers = {"Authorization": "Bearer " + auth.create_source_token(client.cw.store, "controller", ["door"])}
    pushes = [([_ev("10:00:00", "main", "S1")], STAFF_AND_ADMIN),
              ([_ev("10:30:00", "main", "S1")], [{"badge": "S1", "person": "Li", "role": "revoked"}])]
    for events, badges in pushes:
        r = client.post("/api/v1/access/events", headers=headers, json={"events": events, "badges": badges})
        assert r.status_code == 200, r.text
    assert [(v["type"], v["time"][11:16]) for v in r.json()["violations"]] == [("unknown_badge", "10:30")]
