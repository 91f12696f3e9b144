"""Words that come with the data (a UPS flag, a camera fault, a scan's identifier kind) and that the
catalog does not know are shown as they came: the page still answers, naming what it was sent."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from collector import auth
from collector.app import create_app
from collector.settings import Settings
from rules.model import Observation


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(db=tmp_path / "cw.db", ingest_processes=0))
    store = app.state.cw.store
    now = datetime.now(UTC) - timedelta(minutes=5)
    store.ingest([
        Observation(source="t", subject_kind="ups", subject_id="ups-1", kind="ups.status", observed_at=now,
                    payload={"flags": ["OL", "TRIM"], "test_result": "Battery melted", "battery_runtime_s": 2400}),
        Observation(source="t", subject_kind="camera", subject_id="cam-1", kind="camera.health", observed_at=now,
                    payload={"online": True, "fps": 25, "faults": ["fogged"]}),
        Observation(source="t", subject_kind="host", subject_id="T1", kind="pii.scan", observed_at=now,
                    payload={"full": True, "files_scanned": 3, "totals": {"id_card": 1, "passport": 2}}),
    ], actor="t")
    auth.add_user(store, "admin", "admin", "correct horse battery")
    with TestClient(app, raise_server_exceptions=False) as c:
        c.cookies.set("cw_session", auth.create_session(store, "admin", "web", timedelta(hours=1))[0])
        yield c
    store.close()


@pytest.mark.parametrize("path, known, outside", [
    pytest.param("/machine-room", "市电供电", ["TRIM", "Battery melted"], id="ups-flag-and-self-test"),
    pytest.param("/cameras", "摄像头", ["fogged"], id="camera-fault"),
    pytest.param("/lifecycle", "身份证号", ["passport"], id="identifier-kind"),
])
def test_a_word_the_catalog_lacks_is_shown_as_it_came(client, path, known, outside):
    r = client.get(path, params={"lang": "zh"})
    assert r.status_code == 200, r.text[:500]
    assert known in r.text and all(word in r.text for word in outside)
