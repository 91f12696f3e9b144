import sys
import threading
from datetime import UTC, datetime

import pytest

from collector.part_recorder import PartRecorder
from collector.store.base import FindingChange, StoredFinding

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def change(i: int) -> FindingChange:
    return FindingChange(StoredFinding("USB-BLOCK", "host", f"h{i}", "default", "pass", T0, T0, {}, "zh", "en", [],
                                       "high"), None, True)


def test_each_part_is_prepared_on_the_judging_thread_and_recorded_with_it_in_order():
    judging = threading.current_thread()
    prepared_on: list[threading.Thread] = []
    recorded: list[tuple[list[str], object]] = []

    def prepare(part, now):
        prepared_on.append(threading.current_thread())
        return [c.finding.subject_id for c in part]

    def record(part, now, prepared):
        recorded.append(([c.finding.subject_id for c in part], prepared))
        return len(part)

    with PartRecorder(record, T0, part_size=3, early=3, prepare=prepare) as recorder:
        for i in range(8):
            recorder.add(change(i))
    assert [ids for ids, _ in recorded] == [["h0", "h1", "h2"], ["h3", "h4", "h5"], ["h6", "h7"]]
    assert all(ids == prepared for ids, prepared in recorded)
    assert prepared_on == [judging] * 3 and recorder.changed == 8


def test_threads_switch_quickly_only_while_a_part_is_written_on_the_thread():
    before = sys.getswitchinterval()
    seen: list[float] = []

    def record(part, now, prepared):
        seen.append(sys.getswitchinterval())
        return len(part)

    with PartRecorder(record, T0, part_size=2, early=2, switch_s=0.0005) as recorder:
        for i in range(5):
            recorder.add(change(i))
    assert seen == [0.0005] * 3 and sys.getswitchinterval() == before
    with PartRecorder(record, T0, part_size=2, early=2) as recorder:  # not asked for
        for i in range(3):
            recorder.add(change(i))
    assert seen[-1] == before
    with PartRecorder(record, T0, part_size=10, switch_s=0.0005) as recorder:  # one part, on the caller's thread
        recorder.add(change(0))
    assert seen[-1] == before


def test_a_failed_part_ends_the_quick_switches_too():
    before = sys.getswitchinterval()

    def record(part, now, prepared):
        raise ValueError("refused")

    with pytest.raises(ValueError), PartRecorder(record, T0, part_size=2, early=2, switch_s=0.0005) as recorder:
        for i in range(5):
            recorder.add(change(i))
    assert sys.getswitchinterval() == before
