"""A control's page: every finding counted and ordered worst first, the first 200 shown with their evidence."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from collector import auth
from collector.app import create_app
from collector.settings import Settings
from collector.store.base import FindingChange, StoredFinding


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(db=tmp_path / "cw.db", sweep_s=3600.0, ingest_processes=0))
    store = app.state.cw.store
    auth.add_user(store, "admin", "admin", "correct horse battery")
    with TestClient(app, raise_server_exceptions=False) as c:
        c.cookies.set("cw_session", auth.create_session(store, "admin", "web", timedelta(hours=1))[0])
        yield c, store
    store.close()


def _finding(subject: str, status: str, at: datetime, kind: str = "host") -> FindingChange:
    return FindingChange(StoredFinding("USB-BLOCK", kind, subject, "default", status, at, at, {"n": subject},
                                       "zh", "en", [f"{subject}-{kind}-evidence"], "critical"), None, True)


def test_the_worst_200_are_shown_with_their_evidence_and_all_counted(client):
    c, store = client
    at = datetime.now(UTC) - timedelta(minutes=5)
    statuses = {f"h{i:03d}": "pass" for i in range(230)} | {"h150": "fail", "h220": "unknown", "h005": "fail"}
    store.record_findings([_finding(h, st, at) for h, st in statuses.items()]
                          + [_finding("h005", "fail", at, kind="camera")], at)
    r = c.get("/controls/USB-BLOCK?lang=en")
    assert r.status_code == 200
    assert "200 / 231" in r.text
    shown = re.findall(r'href="/subjects/(\w+)/(\w+)"', r.text)
    # worst first, then by subject id, then by kind; the passing ones fill the rest in order
    assert shown[:4] == [("camera", "h005"), ("host", "h005"), ("host", "h150"), ("host", "h220")]
    assert shown[4:7] == [("host", "h000"), ("host", "h001"), ("host", "h002")] and len(shown) == 200
    links = re.findall(r'href="/observations/([\w-]+)"', r.text)
    assert links[:2] == ["h005-camera-evidence", "h005-host-evidence"] and len(links) == 200
