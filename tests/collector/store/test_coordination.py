"""Contract: sign-in failures and notification claims, what collectors sharing a store agree on
(collector/store/areas/coordination.py CoordinationStore)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from collector.store.areas import NotificationClaim


def test_failures_count_per_key_and_success_forgets_them(store):
    assert store.login_failures("10.0.0.9\nmanager") is None
    assert store.add_login_failure("10.0.0.9\nmanager", 1000.0) == (1, 1000.0)
    assert store.add_login_failure("10.0.0.9\nmanager", 1001.5) == (2, 1001.5)
    store.add_login_failure("10.0.0.10\nmanager", 1002.0)
    assert store.login_failures("10.0.0.9\nmanager") == (2, 1001.5)
    store.clear_login_failures("10.0.0.9\nmanager")
    assert store.login_failures("10.0.0.9\nmanager") is None
    assert store.login_failures("10.0.0.10\nmanager") == (1, 1002.0)


def test_recent_failures_over_all_keys_oldest_first_up_to_a_limit(store):
    for i in range(6):
        store.add_login_failure(f"10.0.0.{i}\nadmin", 1000.0 + i)
    store.clear_login_failures("10.0.0.1\nadmin")  # a success forgets the pair, not that it failed
    assert store.recent_login_failures(1002.0, 10) == [1002.0, 1003.0, 1004.0, 1005.0]
    assert store.recent_login_failures(0.0, 3) == [1003.0, 1004.0, 1005.0]


def test_expiry_forgets_keys_and_times_older_than_the_horizon(store):
    store.add_login_failure("old", 1000.0)
    store.add_login_failure("fresh", 2000.0)
    store.forget_login_failures(1500.0)
    assert store.login_failures("old") is None and store.login_failures("fresh") == (1, 2000.0)
    assert store.recent_login_failures(0.0, 10) == [2000.0]


def test_failures_counted_at_once_are_all_counted(store):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: store.add_login_failure("10.0.0.9\nmanager", 1000.0 + i), range(40)))
    assert store.login_failures("10.0.0.9\nmanager") == (40, 1039.0)
    assert len(store.recent_login_failures(0.0, 100)) == 40


def claim(store, owner, state="s1", now=1000.0, timeout=60.0, repeat_before=None):
    return store.claim_notification("ops", "g1", state, owner, now, now + timeout, repeat_before)


def test_one_sender_wins_a_state_and_the_other_looks_again_when_the_claim_runs_out(store):
    assert claim(store, "a") == NotificationClaim(True)
    assert claim(store, "b", now=1001.0) == NotificationClaim(False, 1060.0)
    assert store.settle_notification("ops", "g1", "s1", "a", done=True, expires_s=1002.0)
    assert claim(store, "b", now=1003.0) == NotificationClaim(False, None)  # sent: nothing to look again for
    assert claim(store, "b", state="s2", now=1004.0) == NotificationClaim(True)  # the group changed
    assert not store.settle_notification("ops", "g1", "s1", "a", done=True, expires_s=1005.0)
    assert store.claim_notification("mail", "g1", "s2", "a", 1004.0, 1064.0) == NotificationClaim(True)


def test_a_claim_whose_sender_died_is_taken_over_after_it_runs_out(store):
    assert claim(store, "a").won
    assert not claim(store, "b", now=1059.0).won
    assert claim(store, "b", now=1060.0).won
    assert not store.settle_notification("ops", "g1", "s1", "a", done=True, expires_s=1061.0)  # no longer a's
    assert not claim(store, "a", now=1061.0).won


def test_the_sender_retrying_keeps_its_claim_and_renews_it(store):
    assert claim(store, "a").won
    assert store.settle_notification("ops", "g1", "s1", "a", done=False, expires_s=1400.0)  # retry in 300 s
    assert not claim(store, "b", now=1100.0).won
    assert claim(store, "a", now=1300.0, timeout=100.0).won
    assert store.settle_notification("ops", "g1", "s1", "a", done=True, expires_s=1300.0)
    # the repeat counts from the first claim, not from the retry
    assert claim(store, "b", now=1000.0 + 3600, repeat_before=1000.0).won


def test_a_repeat_is_claimed_once_per_interval(store):
    assert claim(store, "a").won
    store.settle_notification("ops", "g1", "s1", "a", done=True, expires_s=1000.0)
    assert not claim(store, "b", now=1010.0).won  # the same state again is no repeat
    assert not claim(store, "b", now=4599.0, repeat_before=999.0).won
    assert claim(store, "b", now=4600.0, repeat_before=1000.0).won
    store.settle_notification("ops", "g1", "s1", "b", done=True, expires_s=4600.0)
    assert not claim(store, "a", now=4620.0, repeat_before=1020.0).won


def test_senders_racing_for_one_claim_yield_one_winner(store):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: claim(store, f"collector-{i}").won, range(16)))
    assert results.count(True) == 1
