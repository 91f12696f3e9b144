"""The machine room's door audits: each violation says, in the page's language, which control it breaks."""
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
    store.ingest([Observation(
        source="import:access", subject_kind="door", subject_id="main-door", kind="access.audit", observed_at=now,
        payload={"door": "main-door", "events": 183, "counts": {"door_held_open": 1, "forced_entry": 0},
                 "violations": [], "violations_truncated": False})], actor="t")
    auth.add_user(store, "admin", "admin", "correct horse battery")
    with TestClient(app, raise_server_exceptions=False) as c:
        c.cookies.set("cw_session", auth.create_session(store, "admin", "web", timedelta(hours=1))[0])
        yield c
    store.close()


@pytest.mark.parametrize(("lang", "words", "breaks"), [
    pytest.param("zh", "门被撑开 ×1", "违反 DOOR-CLOSED 门禁有效且大门关闭", id="zh"),
    pytest.param("en", "door held open ×1", "breaks DOOR-CLOSED Access control in place and doors kept closed",
                 id="en"),
])
def test_a_door_violation_names_the_control_it_breaks(client, lang, words, breaks):
    page = client.get("/machine-room", params={"lang": lang})
    assert page.status_code == 200, page.text[:500]
    assert words in page.text and breaks in page.text
    assert "forced" not in page.text.split("<main", 1)[1]  # a type counted zero is no violation
