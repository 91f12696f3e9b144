from __future__ import annotations

import json
from datetime import UTC, datetime

from collector.seqgaps import sequence_report
from rules.model import Observation
from tests.integration.conftest import cli

T = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def agent_obs(host: str, seq: int) -> Observation:
    return Observation(source=f"agent:{host}", subject_kind="host", subject_id=host, kind="usb.block",
                       observed_at=T, seq=seq, payload={})


def test_gaps_and_restarts_per_host(store, tmp_path) -> None:
    batch = [agent_obs("T001", s) for s in (0, 1, 2, 5, 6, 9)] + [agent_obs("T002", s) for s in range(4)]
    batch += [agent_obs("T003", s) for s in (0, 1, 0, 1, 2)]  # state wiped: numbering restarted
    store.ingest(batch, actor="test")
    report = {r.host: r for r in sequence_report(store.read)}
    assert report["T001"].gaps == [(3, 4), (7, 8)] and report["T001"].missing == 4
    assert report["T002"].missing == 0 and not report["T002"].restarted
    assert report["T003"].restarted and report["T003"].missing == 0
    r = cli("agent", "gaps", "--db", str(tmp_path / "cw.db"), "--json")
    assert r.returncode == 1
    assert {d["host"]: d["missing"] for d in json.loads(r.stdout)} == {"T001": 4, "T002": 0, "T003": 0}
    ok = cli("agent", "gaps", "--db", str(tmp_path / "cw.db"), "--host", "T002")
    assert ok.returncode == 0 and "missing 0" in ok.stdout
