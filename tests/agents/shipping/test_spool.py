from __future__ import annotations

from pathlib import Path

from agents.observation import AgentObservation
from agents.shipping.spool import Spool
from tests.agents.conftest import NOW


def obs(i: int, size: int = 10) -> AgentObservation:
    return AgentObservation(source="agent:t", subject_kind="host", subject_id="t", kind="usb.block",
                       observed_at=NOW, payload={"i": i, "pad": "x" * size})


def test_sequence_numbers_continue_after_reopen(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db")
    assert s.put([obs(0), obs(1)]) == [0, 1]
    s.close()
    s = Spool(tmp_path / "s.db")
    assert s.put([obs(2)]) == [2]
    assert [b for _, b in s.peek(10)][2].count(b'"seq":2') == 1


def test_ack_removes_only_what_was_acknowledged(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db")
    s.put([obs(i) for i in range(5)])
    batch = s.peek(2)
    s.ack([r for r, _ in batch])
    st = s.stats()
    assert (st.pending, st.shipped_total, st.dropped_total) == (3, 2, 0)


def test_full_spool_drops_oldest_and_counts_the_loss(tmp_path: Path) -> None:
    s = Spool(tmp_path / "s.db", max_bytes=1024 * 1024)
    s.put([obs(i, size=10_000) for i in range(150)])  # ~1.5 MB into 1 MB
    st = s.stats()
    assert st.dropped_total > 0
    assert st.pending + st.dropped_total == 150
    assert st.pending_bytes <= 1024 * 1024
    first = s.peek(1)[0][1]
    assert b'"i":%d' % st.dropped_total in first  # the oldest went first
