"""A terminal's timeline after compaction: of an old day's USB blocks the first stays, and the page says how
many more that day had, in the page's language."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from collector import auth
from collector.app import create_app
from collector.settings import Settings
from collector.store.compaction import compact
from collector.store.retention import load_policy
from rules.catalog import default_catalog
from rules.model import Observation


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(db=tmp_path / "cw.db", ingest_processes=0))
    store = app.state.cw.store
    now = datetime.now(UTC)
    day = (now - timedelta(days=5)).replace(hour=0, minute=0, second=0, microsecond=0)
    for h in (1, 2, 3, 4):  # four sticks blocked on one day five days ago
        at = day + timedelta(hours=h)
        store.ingest([Observation(source="agent:H1", subject_kind="host", subject_id="H1", kind="usb.block",
                                  key=f"1-2@{at.isoformat()}", observed_at=at,
                                  payload={"name": "Stick", "action": "deauthorized", "at": at.isoformat()})],
                     actor="agent:H1", received_at=at)
    compact(store, load_policy().with_raw_days(1), list(default_catalog()), now)
    auth.add_user(store, "admin", "admin", "correct horse battery")
    with TestClient(app, raise_server_exceptions=False) as c:
        c.cookies.set("cw_session", auth.create_session(store, "admin", "web", timedelta(hours=1))[0])
        yield c, day.date().isoformat()
    store.close()


@pytest.mark.parametrize(("lang", "words"), [
    pytest.param("zh", "（UTC）：另有USB 拦截记录 ×3 已在压缩时删除", id="zh"),
    pytest.param("en", " (UTC): USB block record ×3 more, removed by compaction", id="en"),
])
def test_an_old_day_says_how_many_blocks_it_had(client, lang, words):
    browser, day = client
    page = browser.get("/terminals/H1", params={"lang": lang})
    assert page.status_code == 200, page.text[:500]
    assert day + words in page.text
    # the day's first block is the one kept: one run of one, not of four
    assert page.text.count("Stick deauthorized") == 1 and "×4" not in page.text
