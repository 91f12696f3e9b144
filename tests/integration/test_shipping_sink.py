"""The shared sink against a real collector: what a source token may write arrives once, however often it
is sent; what it may not write is refused for good, dropped and counted, and does not hold up the rest."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.shipping.http import HttpClient
from agents.shipping.sink import HttpSink
from agents.shipping.spool import Spool
from collector.sources.pollers.nut import error_payload
from rules.model import Observation

pytestmark = pytest.mark.integration


def test_a_source_token_delivers_its_own_kinds_once_and_its_refusals_are_dropped(collector, tmp_path) -> None:
    collector.login("admin")
    with collector.client("admin") as admin:
        r = admin.post("/api/v1/source-tokens", json={"name": "ups-poller", "subject_kinds": ["ups"]})
        assert r.status_code == 201, r.text
    at = datetime.now(UTC)
    ups = Observation(source="poller", subject_kind="ups", subject_id="ups-a", kind="ups.status", observed_at=at,
                      payload=error_payload("CONNECT-FAILED"))
    door = Observation(source="poller", subject_kind="door", subject_id="main-door", kind="door.state",
                       observed_at=at, payload={"open": False})
    sink = HttpSink(Spool(tmp_path / "spool.db"), HttpClient(collector.url), token=r.json()["token"])
    sink.send([door, ups])
    assert sink.pending() == 0 and sink.rejected_total == 1
    sink.send([ups])  # sent again (say the answer was lost): stored once
    with collector.client("admin") as reader:
        rows = reader.get("/api/v1/observations", params={"subject_kind": "ups", "subject": "ups-a"})
    assert rows.status_code == 200, rows.text
    assert [o["id"] for o in rows.json()] == [ups.id]
