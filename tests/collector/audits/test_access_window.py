from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from collector.audits.access import AccessEvent, Approval, Badge
from collector.audits.access_window import Push, recent, remember

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 3, 10, 0, tzinfo=TZ)


def push(at: datetime) -> Push:
    return Push([AccessEvent(at, "机房门", "0012", "李四", "in", "held_open", 75.0)],
                [Approval("AP1", "李四", "机房", at - timedelta(hours=1), at + timedelta(hours=1), "王")],
                [Badge("0012", "李四", "staff", None, T0 + timedelta(days=30))])


def test_pushes_read_back_as_sent_and_leave_after_the_window(store):
    now = datetime(2026, 11, 5, tzinfo=UTC)
    remember(store, "pudong", push(T0), now)
    remember(store, "other", push(T0), now)
    (back,) = recent(store, "pudong", since_ts=0)
    assert back.events[0].time == T0 and back.events[0].duration_s == 75.0 and back.events[0].door == "机房门"
    assert back.approvals[0].end == T0 + timedelta(hours=1) and back.badges[0].valid_from is None
    assert back.as_of == T0
    assert store.read.execute("SELECT count(*) FROM access_badge_lists").fetchone()[0] == 1  # one list, kept once
    remember(store, "pudong", push(T0 + timedelta(days=2)), now)
    assert [p.events[0].time for p in recent(store, "pudong", since_ts=0)] == [T0 + timedelta(days=2)]
    assert len(recent(store, "other", since_ts=0)) == 1  # each site its own window


def test_badge_change_between_pushes_splits_validity_at_the_last_push_that_listed_the_old_record(store):
    from collector.audits.access_window import merge

    now = datetime(2026, 11, 5, tzinfo=UTC)
    for hours in (0, 1, 2):  # the same list three times: the grant holds until the third push's event
        remember(store, "s", push(T0 + timedelta(hours=hours)), now)
    revoked = Push([AccessEvent(T0 + timedelta(hours=3), "机房门", "12", "李四", "in", "granted")], [],
                   [Badge("12", "李四", "revoked")], T0 + timedelta(hours=3))
    revoked.badge_list()
    merged = merge([*recent(store, "s", since_ts=0), revoked])
    spans = {b.role: (b.valid_from, b.valid_to) for b in merged.badges}
    assert spans == {"staff": (None, T0 + timedelta(hours=2)), "revoked": (T0 + timedelta(hours=2), None)}
