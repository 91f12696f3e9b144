"""Contract: door-access pushes, the delivery log and the agents' sequence numbers
(collector/store/areas/working_state.py WorkingStateStore)."""
from __future__ import annotations

from collector.seqgaps import HostState
from tests.collector.store.conftest import T0, hours, obs


def test_access_pushes_are_kept_for_their_window_and_share_badge_lists(store):
    day = 86400.0
    store.remember_access_push("s1", 100.0, 0.0, day, "list-a", b"badges a", b"push 1", window_s=2 * day)
    store.remember_access_push("s1", 200.0, day, 2 * day, "list-a", b"badges a", b"push 2", window_s=2 * day)
    store.remember_access_push("s2", 200.0, 0.0, 5 * day, "list-b", b"badges b", b"other site", window_s=2 * day)
    pushes, lists = store.access_pushes("s1", 0.0)
    assert [(p.body, p.last_ts, p.badges_sha256) for p in pushes] == [(b"push 1", day, "list-a"),
                                                                      (b"push 2", 2 * day, "list-a")]
    assert lists == {"list-a": b"badges a"}
    assert [p.body for p in store.access_pushes("s1", 1.5 * day)[0]] == [b"push 2"]
    # a push whose newest event is 4 days on forgets those that ended more than 2 days before it
    store.remember_access_push("s1", 300.0, 3 * day, 4 * day, "list-c", b"badges c", b"push 3", window_s=2 * day)
    pushes, lists = store.access_pushes("s1", 0.0)
    assert [p.body for p in pushes] == [b"push 2", b"push 3"]
    assert lists == {"list-a": b"badges a", "list-c": b"badges c"}
    assert store.access_pushes("nowhere", 0.0) == ([], {})


def test_the_delivery_log_newest_first(store):
    store.record_notification(T0, "ops", "g1", "firing", ["fp1", "fp2"], 1, "connection refused")
    store.record_notification(T0 + hours(1), "mail", "g1", "firing", ["fp1"], 2, None)
    assert store.notifications(10) == [
        ((T0 + hours(1)).timestamp(), "mail", "g1", "firing", 1, 2, 1, None),
        (T0.timestamp(), "ops", "g1", "firing", 2, 1, 0, "connection refused")]
    assert [n[1] for n in store.notifications(10, receiver="ops")] == ["ops"]
    assert len(store.notifications(1)) == 1
    assert store.notifications_since(T0 + hours(0.5), 10) == [((T0 + hours(1)).timestamp(), "mail", True, None,
                                                                ["fp1"])]
    assert store.notifications_since(T0, 10)[1] == (T0.timestamp(), "ops", False, "connection refused", ["fp1", "fp2"])


def test_agent_sequence_numbers_are_kept_with_each_batch(store):
    store.ingest([obs(i, source="agent:h1", seq=i) for i in (0, 1, 2, 5)]
                 + [obs(10, subject="h2", source="agent:h2", seq=0)], actor="agent:h1", received_at=T0)
    rows = store.agent_sequences()
    assert [h for h, _ in rows] == ["h1", "h2"]
    [(_, state)] = store.agent_sequences("h1")
    assert HostState.loads(state).epochs[0].gaps()[0][:2] == (3, 4)
    assert store.agent_sequences("h9") == []
