"""The agent loop without a collector: rounds, heartbeats, loss reported as it happens."""
from __future__ import annotations

from pathlib import Path

from agents.config import AgentConfig
from agents.daemon import Agent
from rules.model import Observation


def agent(tmp_path: Path, **cfg) -> Agent:
    a = Agent.create(AgentConfig.model_validate({"host_id": "term-001", "state_dir": str(tmp_path), **cfg}))
    a.probes = {"identity": lambda env: [env.observe("host.identity", {"interactive_users": []})]}
    return a


def test_rounds_spool_probes_and_a_heartbeat_with_sequence_numbers(tmp_path: Path) -> None:
    a = agent(tmp_path, interval_s=0.01)
    a.run(iterations=3)
    a = agent(tmp_path)
    rows = [Observation.model_validate_json(b) for _, b in a.spool.peek(100)]
    assert [o.kind for o in rows] == ["host.identity", "agent.heartbeat"] * 3
    assert [o.seq for o in rows] == list(range(6))
    assert rows[1].payload["tamper"] == [] and rows[1].payload["spool"]["dropped_total"] == 0
    a.stop()


def test_a_full_spool_is_reported_in_the_heartbeat(tmp_path: Path) -> None:
    a = agent(tmp_path, spool_max_bytes=1024 * 1024)
    a.start()
    big = [a.env.observe("usb.block", {"pad": "x" * 20_000}) for _ in range(80)]
    a.submit(big)
    beat = a.heartbeat()
    assert any("spool full" in t for t in beat.payload["tamper"])
    assert beat.payload["spool"]["dropped_total"] > 0
    a.stop()


def test_configured_data_roots_are_scanned_and_the_result_spooled(tmp_path: Path) -> None:
    import time

    share = tmp_path / "share"
    share.mkdir()
    (share / "export.csv").write_text("姓名,身份证\n张三,11010519491231002X\n", encoding="utf-8")
    a = agent(tmp_path / "state", pii={"roots": [str(share)], "full_every_h": 24})
    a.start()
    try:
        deadline = time.monotonic() + 20
        scans: list[Observation] = []
        while time.monotonic() < deadline and not scans:
            rows = [Observation.model_validate_json(b) for _, b in a.spool.peek(100)]
            scans = [o for o in rows if o.kind == "pii.scan"]
            time.sleep(0.2)
        assert scans and scans[0].payload["full"] is True
        assert scans[0].payload["totals"]["id_card"] == 1
        assert "11010519491231002X" not in scans[0].model_dump_json()  # masked, never raw
    finally:
        a.stop()
