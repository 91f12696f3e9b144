"""Two collectors' notifiers on one store holding the same alerts: each notification is sent once, a
claim whose sender died is sent by the other after the claim runs out, a failing receiver is retried
by the sender that claimed it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from collector.notify.config import NotifyConfig
from collector.notify.log import DeliveryLog
from collector.notify.notifier import Notifier
from collector.store.sqlite import SqliteStore
from tests.collector.notify.test_notifier import CONFIG, T0, Recorder, change

SHARED = CONFIG | {"claim_timeout_s": 120}


class Dies(Recorder):
    """The collector's process ends while it sends (after claiming, before reporting)."""

    def deliver(self, n) -> None:
        raise SystemExit("killed")


def collector(path, clock, receivers=None, *, owner: str) -> tuple[Notifier, dict[str, Recorder]]:
    receivers = receivers or [Recorder("facility"), Recorder("security")]
    notifier = Notifier(NotifyConfig.model_validate(SHARED), receivers, DeliveryLog(SqliteStore(path), owner=owner),
                        clock=lambda: clock[0])
    return notifier, {r.name: r for r in receivers}


@pytest.fixture
def two(tmp_path):
    clock = [T0]
    a, rx_a = collector(tmp_path / "cw.db", clock, owner="a")
    b, rx_b = collector(tmp_path / "cw.db", clock, owner="b")
    yield clock, (a, rx_a), (b, rx_b)
    for n in (a, b):
        n.log.store.close()


def ups_fails(*notifiers: Notifier) -> None:
    for n in notifiers:
        n.on_changes([change("UPS-RUNTIME", "ups", "ups-1", "fail", "pass", T0)])


def sent(*receivers: Recorder) -> list[str]:
    return [p["status"] for r in receivers for p in r.got]


def test_an_alert_both_collectors_hold_is_sent_once(two):
    _, (a, rx_a), (b, rx_b) = two
    ups_fails(a, b)
    a.tick(T0 + timedelta(seconds=30))
    b.tick(T0 + timedelta(seconds=31))
    assert sent(rx_a["facility"], rx_b["facility"]) == ["firing"]
    # the resolved notice, once, whichever collector gets there first
    for n in (a, b):
        n.on_changes([change("UPS-RUNTIME", "ups", "ups-1", "pass", "fail", T0 + timedelta(minutes=10))])
    b.tick(T0 + timedelta(minutes=11))
    a.tick(T0 + timedelta(minutes=11, seconds=5))
    assert sent(rx_a["facility"]) == ["firing"] and sent(rx_b["facility"]) == ["resolved"]
    assert [e["status"] for e in a.log.entries()] == ["resolved", "firing"]  # one delivery log for both


def test_the_repeat_is_sent_once_per_interval(two):
    _, (a, rx_a), (b, rx_b) = two
    ups_fails(a, b)
    a.tick(T0 + timedelta(seconds=30))
    b.tick(T0 + timedelta(seconds=40))
    b.tick(T0 + timedelta(seconds=40 + 3600))  # b's own timer runs from when it found a's claim
    a.tick(T0 + timedelta(seconds=30 + 3600))
    a.tick(T0 + timedelta(seconds=30 + 7200))
    b.tick(T0 + timedelta(seconds=40 + 7200))
    assert len(rx_a["facility"].got) + len(rx_b["facility"].got) == 3  # the first, and one repeat per hour


def test_a_claim_whose_sender_died_is_sent_by_the_other_after_it_runs_out(tmp_path):
    clock = [T0]
    a, _ = collector(tmp_path / "cw.db", clock, [Dies("facility"), Recorder("security")], owner="a")
    b, rx_b = collector(tmp_path / "cw.db", clock, owner="b")
    ups_fails(a, b)
    with pytest.raises(SystemExit):
        a.tick(T0 + timedelta(seconds=30))
    b.tick(T0 + timedelta(seconds=31))
    assert rx_b["facility"].got == [] and len(b.retries) == 1  # a's claim holds for 120 s
    b.tick(T0 + timedelta(seconds=149))
    assert rx_b["facility"].got == []
    b.tick(T0 + timedelta(seconds=150))
    assert sent(rx_b["facility"]) == ["firing"] and b.retries == []


def test_a_failing_receiver_is_retried_by_the_collector_that_claimed_it_only(tmp_path):
    clock = [T0]
    a, rx_a = collector(tmp_path / "cw.db", clock, [Recorder("facility", fail=1), Recorder("security")], owner="a")
    b, rx_b = collector(tmp_path / "cw.db", clock, owner="b")
    ups_fails(a, b)
    a.tick(T0 + timedelta(seconds=30))  # refused; a retries in 10 s, its claim renewed past that
    b.tick(T0 + timedelta(seconds=31))
    b.tick(T0 + timedelta(seconds=31 + 120))  # the first claim's time is up, the renewed one's not
    assert rx_b["facility"].got == []
    a.tick(T0 + timedelta(seconds=40))
    b.tick(T0 + timedelta(seconds=40 + 130))  # b looks again: a sent it, nothing left to do
    assert sent(rx_a["facility"], rx_b["facility"]) == ["firing"] and b.retries == []
    assert [(e["attempt"], e["ok"]) for e in a.log.entries()] == [(2, True), (1, False)]


def test_a_restarted_collector_does_not_send_again_what_was_sent(tmp_path):
    clock = [T0]
    first, rx_first = collector(tmp_path / "cw.db", clock, owner="before")
    ups_fails(first)
    first.tick(T0 + timedelta(seconds=30))
    first.log.store.close()
    again, rx_again = collector(tmp_path / "cw.db", clock, owner="after")
    ups_fails(again)  # what seeding from the current findings gives it
    again.tick(T0 + timedelta(minutes=5))
    assert rx_again["facility"].got == []
    again.tick(T0 + timedelta(minutes=5, seconds=3600))
    assert sent(rx_first["facility"], rx_again["facility"]) == ["firing", "firing"]
    again.log.store.close()


def test_changes_the_other_collector_recorded_reach_this_ones_alerts(two):
    """b's engine never records what a's did: b follows the stored findings, so it neither misses the
    end of an alert nor repeats one that ended."""
    _, (a, rx_a), (b, rx_b) = two
    failing = change("UPS-RUNTIME", "ups", "ups-1", "fail", "pass", T0).finding
    ups_fails(a)
    b.reconcile([failing])  # b learns of it from the store only
    a.tick(T0 + timedelta(seconds=30))
    b.tick(T0 + timedelta(seconds=31))
    a.on_changes([change("UPS-RUNTIME", "ups", "ups-1", "pass", "fail", T0 + timedelta(minutes=10))])
    b.reconcile([])
    assert b.tick(T0 + timedelta(minutes=11)) == 1 and not b.groups
    a.tick(T0 + timedelta(minutes=11, seconds=1))
    b.tick(T0 + timedelta(hours=2))
    assert sent(rx_a["facility"], rx_b["facility"]) == ["firing", "resolved"]
    assert sent(rx_b["facility"]) == ["resolved"]


def test_a_finding_gone_from_fail_to_unknown_elsewhere_replaces_the_alert(two):
    _, (a, _), _ = two
    ups_fails(a)
    unknown = change("UPS-RUNTIME", "ups", "ups-1", "unknown", "fail", T0 + timedelta(minutes=1)).finding
    a.reconcile([unknown])
    [alert] = [x for g in a.groups.values() for x in g.alerts.values()]
    assert alert.labels["status"] == "unknown" and alert.firing
    a.reconcile([unknown])  # again: the same alert, not a new one
    assert [x.starts_at for g in a.groups.values() for x in g.alerts.values()] == [alert.starts_at]
