from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from collector.audit.access import AccessEvent, Approval, Badge
from collector.audit.access_window import Push, recent, remember

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 3, 10, 0, tzinfo=TZ)


def push(at: datetime) -> Push:
    return Push([AccessEvent(at, "机房门", "0012", "李四", "in", "held_open", 75.0)],
                [Approval("AP1", "李四", "机房", at - timedelta(hours=1), at + timedelta(hours=1), "王")],
                [Badge("0012", "李四", "staff", None, at + timedelta(days=30))])


def test_pushes_read_back_as_sent_and_leave_after_the_window(store):
    now = datetime(2026, 11, 5, tzinfo=UTC)
    remember(store, "pudong", push(T0), now)
    remember(store, "other", push(T0), now)
    (back,) = recent(store, "pudong", since_ts=0)
    assert back.events[0].time == T0 and back.events[0].duration_s == 75.0 and back.events[0].door == "机房门"
    assert back.approvals[0].end == T0 + timedelta(hours=1) and back.badges[0].valid_from is None
    assert back.as_of == T0
    remember(store, "pudong", push(T0 + timedelta(days=2)), now)
    assert [p.events[0].time for p in recent(store, "pudong", since_ts=0)] == [T0 + timedelta(days=2)]
    assert len(recent(store, "other", since_ts=0)) == 1  # each site its own window
