"""Expiry reminders from two collectors sharing one store (two store instances on one database, as two
processes have; CLAUSEWATCH_TEST_STORE=postgresql runs them on PostgreSQL): each reminder is recorded
once and reaches each receiver once, and one whose collector died before sending is sent by the other."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.notify.config import NotifyConfig
from collector.notify.log import DeliveryLog
from collector.notify.notifier import Notifier
from collector.people import reminders as rm
from collector.store.base import FindingChange, StoredFinding
from tests.stores import another_process

CLAIM_TIMEOUT_S = 120
CONFIG = {"group_wait_s": 0, "group_interval_s": 1, "repeat_interval_s": 3600, "retry_delays_s": [10],
          "claim_timeout_s": CLAIM_TIMEOUT_S, "routes": [{"receivers": ["facility"]}],
          "receivers": [{"name": "facility", "webhook": {"url": "http://127.0.0.1:1/facility"}}]}


class Receiver:
    """One receiver both collectors deliver to (webhook and mail are tested against real servers in
    tests/integration): what reached it, in order."""

    name = "facility"

    def __init__(self) -> None:
        self.got: list[tuple[str, str]] = []

    def deliver(self, n) -> None:
        self.got += [(a.labels["control"], a.labels["reminder"]) for a in n.alerts]


def expiring(days_left: float, sha: str = "a" * 64) -> FindingChange:
    """A finding of EXTINGUISHER-OFFICE that reached the reminder threshold `days_left`."""
    now = datetime.now(UTC)
    finding = StoredFinding("EXTINGUISHER-OFFICE", "site", "default", "default", "pass", now, now,
                            {"remind_threshold_days": days_left, "sha256": sha,
                             "valid_until": (now + timedelta(days=days_left)).isoformat()},
                            "", "", [], "medium")
    return FindingChange(finding, "pass", False)


@pytest.fixture
def pair(store):
    other = another_process(store)
    yield store, other
    other.close()


def notifier(store, receiver: Receiver, clock) -> Notifier:
    return Notifier(NotifyConfig.model_validate(CONFIG), [receiver], DeliveryLog(store), clock=clock)


def test_a_reminder_is_recorded_by_one_collector_whichever_judges_the_change(pair):
    a, b = pair
    now = datetime.now(UTC)
    r = rm.Reminder("EXTINGUISHER-OFFICE", "default", "a" * 64, None, 7, "facility", now)
    assert rm.claim_recording(a, r, "collector-a", now)  # a is about to record it, then stops (dies)
    assert rm.remind_on_changes(b, [expiring(7)], now + timedelta(seconds=30), owner="collector-b") == []
    assert rm.reminders(b) == []  # a's claim still runs: b leaves it to a
    later = now + timedelta(seconds=rm.RECORD_CLAIM_S + 1)
    assert len(rm.remind_on_changes(b, [expiring(7)], later, owner="collector-b")) == 1  # a is gone: b records
    assert rm.remind_on_changes(a, [expiring(7)], later, owner="collector-a") == []  # a wakes up: recorded
    assert rm.remind_on_changes(b, [expiring(7)], later, owner="collector-b") == []
    assert len(rm.reminders(a)) == 1 and len(rm.reminders(b)) == 1


def test_a_reminder_both_collectors_announce_reaches_the_receiver_once(pair):
    a, b = pair
    now = datetime.now(UTC)
    clock = [now]
    got = Receiver()
    on_a, on_b = notifier(a, got, lambda: clock[0]), notifier(b, got, lambda: clock[0])
    in_14, in_7, in_1 = (rm.reminder_alert(rm.Reminder("EXTINGUISHER-OFFICE", "default", "a" * 64, None, d,
                                                       "facility", now + timedelta(days=14 - d)))
                         for d in (14, 7, 1))
    for alerts in ([in_14], [in_7]):  # a sends two reminders of one group, one after the other
        on_a.announce(alerts)
        clock[0] += timedelta(seconds=5)
        on_a.tick()
    assert got.got == [("EXTINGUISHER-OFFICE", "14d"), ("EXTINGUISHER-OFFICE", "7d")]
    on_b.announce([in_14])  # b announces what a sent (a later notice of its group came between)
    on_b.announce([in_7, in_1])  # and, grouped, one a sent with one nobody sent yet
    for _ in range(3):
        clock[0] += timedelta(seconds=CLAIM_TIMEOUT_S)
        on_b.tick()
        on_a.tick()
    assert got.got == [("EXTINGUISHER-OFFICE", "14d"), ("EXTINGUISHER-OFFICE", "7d"), ("EXTINGUISHER-OFFICE", "1d")]


def test_a_reminder_whose_collector_died_before_sending_is_sent_by_the_other(pair):
    a, b = pair
    now = datetime.now(UTC)
    # a records the reminder and dies before its notifier sends it
    assert len(rm.remind_on_changes(a, [expiring(7)], now, owner="collector-a")) == 1
    got = Receiver()
    running_b = notifier(b, got, lambda: now)
    on_b = rm.ReminderListener(b, {"EXTINGUISHER-OFFICE": "facility"}, lambda: running_b, clock=lambda: now)
    on_b([])  # b's engine hears its first changes (none of them a reminder) with its notifier running
    running_b.tick(now)
    assert got.got == [("EXTINGUISHER-OFFICE", "7d")]
    # a restarted: its notifier runs, it announces the same reminder from the store, and the claim says sent
    running_a = notifier(a, got, lambda: now)
    on_a = rm.ReminderListener(a, {"EXTINGUISHER-OFFICE": "facility"}, lambda: running_a, clock=lambda: now)
    on_a([expiring(7)])
    running_a.tick(now + timedelta(seconds=1))
    running_b.tick(now + timedelta(seconds=1))
    assert got.got == [("EXTINGUISHER-OFFICE", "7d")]
    assert len(rm.reminders(a)) == 1


def test_reminders_recorded_long_ago_are_not_announced_again(pair):
    a, b = pair
    now = datetime.now(UTC)
    rm.remind_on_changes(a, [expiring(14)], now - rm.CATCH_UP - timedelta(hours=1), owner="collector-a")
    got = Receiver()
    running = notifier(b, got, lambda: now)
    rm.ReminderListener(b, {}, lambda: running, clock=lambda: now)([])
    running.tick(now)
    assert got.got == []
