from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from collector import auth
from collector.app import create_app
from collector.settings import Settings


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(db=tmp_path / "cw.db"))
    c = TestClient(app)  # no lifespan: the test drives the engine itself
    c.cw = app.state.cw  # type: ignore[attr-defined]
    yield c
    app.state.cw.store.close()


def token(client, kinds: list[str]) -> dict[str, str]:
    return {"Authorization": "Bearer " + auth.create_source_token(client.cw.store, "probe-gw", kinds)}


def test_push_adds_dew_point_and_is_judged(client):
    r = client.post("/api/v1/climate/readings", headers=token(client, ["sensor"]), json={"readings": [
        {"sensor": "sensor-9", "temperature_c": 24.0, "humidity_pct": 65, "time": "2026-11-29T10:00:00+08:00"}]})
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 1, "duplicates": 0}
    (obs,) = client.cw.store.observations(kind="climate.reading")
    assert obs.subject_id == "sensor-9" and obs.payload["dew_point_c"] == pytest.approx(17.0, abs=0.3)
    assert obs.source == "source:probe-gw"
    client.cw.engine.note([obs])
    client.cw.engine.evaluate([("sensor", "sensor-9")], now=obs.observed_at)
    finding = next(f for f in client.cw.engine.current() if f.control == "CLIMATE-RANGE")
    assert finding.status == "fail" and "humidity" in finding.reason_en


@pytest.mark.parametrize(("kinds", "body", "code"), [
    pytest.param(None, {"readings": [{"sensor": "s1", "temperature_c": 20, "humidity_pct": 40}]}, 401,
                 id="no-token"),
    pytest.param(["ups"], {"readings": [{"sensor": "s1", "temperature_c": 20, "humidity_pct": 40}]}, 403,
                 id="token-for-ups-only"),
    pytest.param(["sensor"], {"readings": [{"sensor": "s1", "temperature_c": 20, "humidity_pct": 140}]}, 422,
                 id="humidity-over-100"),
    pytest.param(["sensor"], {"readings": [{"sensor": "s1", "temperature_c": 20, "humidity_pct": 40,
                                            "time": "2026-11-29T10:00:00"}]}, 422, id="time-without-offset"),
    pytest.param(["sensor"], {"readings": []}, 422, id="empty"),
    pytest.param(["sensor"], {"readings": [{"sensor": "s1", "temperature_c": 20, "humidity_pct": 40,
                                            "time": "2099-01-01T00:00:00+08:00"}]}, 422, id="dated-2099"),
])
def test_refused(client, kinds, body, code):
    headers = token(client, kinds) if kinds else {}
    assert client.post("/api/v1/climate/readings", headers=headers, json=body).status_code == code
    assert client.cw.store.observations(kind="climate.reading") == []


def test_pushed_reading_keeps_its_room(client):
    r = client.post("/api/v1/climate/readings", headers=token(client, ["sensor"]), json={"readings": [
        {"sensor": "s-b", "temperature_c": 22, "humidity_pct": 40, "room": "room-b"},
        {"sensor": "s-x", "temperature_c": 22, "humidity_pct": 40}]})
    assert r.status_code == 200, r.text
    rooms = {o.subject_id: o.payload.get("room") for o in client.cw.store.observations(kind="climate.reading")}
    assert rooms == {"s-b": "room-b", "s-x": None}
