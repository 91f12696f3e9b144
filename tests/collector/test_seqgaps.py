from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from collector.engine import Engine
from collector.seqgaps import sequence_report
from collector.store.sqlite import SqliteStore
from rules.catalog import default_catalog
from rules.model import Observation
from tests.integration.conftest import cli
from tests.stores import db_arg

T = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def agent_obs(host: str, seq: int, *, source: str | None = None) -> Observation:
    return Observation(source=source or f"agent:{host}", subject_kind="host", subject_id=host, kind="usb.block",
                       observed_at=T + timedelta(seconds=seq), seq=seq, payload={})


def test_gaps_and_restarts_per_host(store) -> None:
    batch = [agent_obs("T001", s) for s in (0, 1, 2, 5, 6, 9)] + [agent_obs("T002", s) for s in range(4)]
    batch += [agent_obs("T003", s) for s in (0, 1, 0, 1, 2)]  # state wiped: numbering restarted
    store.ingest(batch, actor="test")
    report = {r.host: r for r in sequence_report(store)}
    assert report["T001"].gaps == [(3, 4), (7, 8)] and report["T001"].missing == 4
    assert report["T002"].missing == 0 and not report["T002"].restarted
    assert report["T003"].restarted and report["T003"].missing == 0
    r = cli("agent", "gaps", "--db", db_arg(store), "--json")
    assert r.returncode == 1
    assert {d["host"]: d["missing"] for d in json.loads(r.stdout)} == {"T001": 4, "T002": 0, "T003": 0}
    ok = cli("agent", "gaps", "--db", db_arg(store), "--host", "T002")
    assert ok.returncode == 0 and "missing 0" in ok.stdout


@pytest.mark.parametrize("batches, gaps, restarted", [
    pytest.param([range(0, 10), range(15, 20)], [(10, 14)], False, id="gap between batches"),
    pytest.param([range(0, 10), range(15, 20), range(10, 15)], [], False, id="re-sent spool fills it"),
    pytest.param([[0, 1, 2, 3, 7, 8], [4, 6]], [(5, 5)], False, id="partly filled"),
    pytest.param([range(0, 50), [0, 1, 2, 5, 6]], [(3, 4)], True, id="gap after a restart is its own"),
    pytest.param([range(0, 50), range(0, 20), range(20, 30)], [], True, id="restart alone is no gap"),
])
def test_received_ranges_across_batches(store, batches, gaps, restarted) -> None:
    for b in batches:
        store.ingest([agent_obs("T001", s) for s in b], actor="test")
    [r] = sequence_report(store)
    assert (r.gaps, r.restarted) == (gaps, restarted)


def test_summary_only_when_gaps_change_and_not_for_other_sources(store) -> None:
    first = store.ingest([agent_obs("T001", s) for s in range(5)], actor="test")
    assert [o.payload["gaps_total"] for o in first.derived] == [0]  # the first tally
    assert store.ingest([agent_obs("T001", s) for s in range(5, 9)], actor="test").derived == []
    opened = store.ingest([agent_obs("T001", s) for s in range(12, 14)], actor="test").derived
    assert [(g["from"], g["to"], g["missing"]) for g in opened[0].payload["gaps"]] == [(9, 11, 3)]
    assert opened[0].payload["gaps"][0]["after"] == (T + timedelta(seconds=8)).isoformat()
    assert store.ingest([agent_obs("T009", 3, source="importer:x")], actor="test").derived == []
    # the summary is stored like any observation, inside the batch's ledger entry
    assert store.latest_for("host", "T001")[("agent.sequence", "")].id == opened[0].id
    assert store.verify_ledger().ok


def findings(engine: Engine) -> dict[str, str]:
    return {f.subject_id: f.status for f in engine.current() if f.control == "AGENT-SEQUENCE"}


def test_gap_fails_the_host_until_the_spool_is_resent(tmp_path) -> None:
    store = SqliteStore(tmp_path / "cw.db")
    engine = Engine(store, list(default_catalog()))

    def ship(host: str, seqs, at: datetime) -> None:
        res = store.ingest([agent_obs(host, s) for s in seqs], actor="test")
        engine.evaluate(engine.note([*(agent_obs(host, s) for s in seqs), *res.derived]), now=at)

    ship("T001", range(0, 100), T)
    ship("T002", range(0, 100), T)
    ship("T001", range(160, 200), T + timedelta(minutes=5))  # 100..159 held back or deleted
    assert findings(engine) == {"T001": "fail", "T002": "pass"}
    f = next(f for f in engine.current() if (f.control, f.subject_id) == ("AGENT-SEQUENCE", "T001"))
    assert f.value["gaps"][0]["from"] == 100 and f.value["gaps"][0]["to"] == 159
    assert "seq 100–159" in f.reason_zh and "60 agent observation(s) never arrived" in f.reason_en
    ship("T001", range(100, 160), T + timedelta(minutes=6))  # the agent re-sends its spool
    assert findings(engine) == {"T001": "pass", "T002": "pass"}
    store.close()


def test_old_gap_passes_after_the_hold(store) -> None:
    engine = Engine(store, list(default_catalog()))
    res = store.ingest([agent_obs("T001", s) for s in (0, 1, 5)], actor="test")
    engine.note(res.derived)
    engine.evaluate(None, now=T + timedelta(days=1))
    assert findings(engine) == {"T001": "fail"}
    engine.evaluate(None, now=T + timedelta(days=8))  # gap_hold_days: 7
    f = next(f for f in engine.current() if f.control == "AGENT-SEQUENCE")
    assert f.status == "pass" and "1 older gap" in f.reason_en
