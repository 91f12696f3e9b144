"""Evaluation survives what checks cannot read, and judges by time the sender cannot push ahead."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules.catalog import default_catalog
from rules.evaluate import EVER, FOREVER, evaluate, evaluate_one
from rules.model import Observation
from rules.registry import load_checks

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def obs(host: str, kind: str, payload: dict, *, at: datetime = NOW - timedelta(minutes=1),
        received: datetime | None = None) -> Observation:
    return Observation(source="test", subject_kind="host", subject_id=host, kind=kind, observed_at=at,
                       received_at=received, payload=payload)


AV = {"installed": True, "running": True, "scheduled_scan": True}


@pytest.mark.parametrize("poison", [
    pytest.param({**AV, "signature_time": "garbage"}, id="unparsable-time"),
    pytest.param({**AV, "signature_time": "2026-11-29T08:00:00"}, id="naive-time"),
    pytest.param({**AV, "signature_time": 1764400000}, id="number-for-time"),
])
def test_an_unreadable_observation_costs_only_its_own_finding(poison: dict) -> None:
    results = evaluate(list(default_catalog()), [
        obs("T001", "antivirus.status", poison),
        obs("T002", "usb.devices", {"enforcement": "sysfs", "devices": [
            {"vendor_id": "0781", "product_id": "5567", "classes": ["08"], "authorized": True}]}),
    ], NOW)
    by = {(r.control, r.subject_id): r for r in results}
    fresh = by[("AV-FRESH", "T001")]
    assert fresh.status == "unknown" and "unreadable" in fresh.reason_en and "antivirus.status" in fresh.reason_en
    assert fresh.reason_zh and fresh.value["error"]
    assert by[("AV-RUNNING", "T001")].status == "pass"  # the same observation still answers what it can
    assert by[("USB-BLOCK", "T002")].status == "fail"


def test_a_date_ahead_of_arrival_neither_masks_newer_data_nor_stays_fresh() -> None:
    forged = obs("T001", "usb.devices", {"enforcement": "sysfs", "policy_ok": True, "devices": []},
                 at=datetime(2099, 1, 1, tzinfo=UTC), received=NOW - timedelta(hours=2))
    honest = obs("T001", "usb.devices", {"enforcement": "none", "policy_ok": False, "devices": []},
                 at=NOW - timedelta(minutes=1), received=NOW)
    usb = next(c for c in default_catalog() if c.id == "USB-BLOCK")
    [result] = evaluate([usb], [forged, honest], NOW)
    assert result.status == "fail"
    [alone] = evaluate([usb.model_copy(update={"freshness": "1h"})], [forged], NOW)
    assert alone.status == "unknown" and "stale" in alone.reason_en


def test_a_malformed_observation_of_one_host_does_not_spoil_the_comparisons_of_the_others() -> None:
    dedicated = [c for c in default_catalog() if c.id == "DEDICATED-TERMINAL"]
    results = evaluate(dedicated, [
        obs("T001", "host.identity", {"hostname": "t1", "interactive_users": [["not", "a", "name"]]}),
        obs("T002", "host.identity", {"hostname": "t2", "interactive_users": ["zhangsan"]}),
        obs("T003", "host.identity", {"hostname": "t3", "interactive_users": ["zhangsan"]}),
    ], NOW)
    by = {r.subject_id: r for r in results}
    assert by["T001"].status == "unknown" and "unreadable" in by["T001"].reason_en
    assert by["T002"].status == by["T003"].status == "fail"  # they still see each other share an account
    assert "zhangsan@T003" in by["T002"].reason_en


def judged(control_id: str, observations: list[Observation], now: datetime = NOW):
    control = next(c for c in default_catalog() if c.id == control_id)
    subject = observations[0].subject
    return evaluate_one(control, load_checks()[control.check or ""], subject,
                        {(o.kind, o.key): o for o in observations}, now, {"pii.scan": [], "agent.heartbeat": []})


def batch(deadline: str) -> Observation:
    return Observation(source="test", subject_kind="batch", subject_id="B1", kind="batch.registered",
                       observed_at=NOW - timedelta(days=30), payload={"deadline": deadline})


USB = {"enforcement": "sysfs", "devices": []}
USB_FRESH = next(c for c in default_catalog() if c.id == "USB-BLOCK").freshness_td
DEADLINE = NOW + timedelta(hours=1)


@pytest.mark.parametrize("control_id,observations,now,span", [
    pytest.param("USB-BLOCK", [obs("h1", "usb.devices", USB)], NOW,
                 (EVER, NOW - timedelta(minutes=1) + USB_FRESH), id="until-its-data-turns-stale"),
    pytest.param("USB-BLOCK", [obs("h1", "agent.heartbeat", {"interval_s": 60})], NOW, (EVER, FOREVER),
                 id="no-data-unknown-holds-until-data-comes"),
    pytest.param("USB-BLOCK", [obs("h1", "usb.devices", USB, at=NOW - timedelta(days=2))], NOW, None,
                 id="stale-says-how-old-so-asked-again"),
    pytest.param("AGENT-REPORTING", [obs("h1", "agent.heartbeat", {"interval_s": 60})], NOW, None,
                 id="read-the-clock"),
    pytest.param("BATCH-PURGED", [batch(DEADLINE.isoformat())], NOW,
                 (EVER, DEADLINE - timedelta(microseconds=1)), id="in-commission-until-the-deadline"),
    pytest.param("BATCH-PURGED", [batch(DEADLINE.isoformat())], DEADLINE + timedelta(hours=1),
                 (DEADLINE, FOREVER), id="past-the-deadline-from-then-on"),
    pytest.param("BATCH-PURGED", [batch("2026-11-29T11:00:00")], NOW, (EVER, FOREVER),
                 id="deadline-without-offset-unreadable"),
])
def test_a_verdict_says_while_it_holds_for_the_same_observations(control_id, observations, now, span) -> None:
    res = judged(control_id, observations, now)
    assert (None if res.holds_until is None else (res.holds_from, res.holds_until)) == span
