"""Preparing posted batches: the same rows and the same refusals in place and in worker processes."""
from __future__ import annotations

import asyncio
import gc
import os
import signal
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from collector.auth import Principal
from collector.ingest import BatchRejected, PreparePool, prepare
from collector.store.sqlite import SqliteStore
from rules.kinds import load_kinds

AGENT = Principal("agent", "T001", site="branch-7", host_id="T001")
ADMIN = Principal("user", "alice", "admin")


def batch(n: int, host: str = "T001", **extra: object) -> bytes:
    return orjson.dumps({"observations": [
        {"id": str(uuid.uuid4()), "source": "claimed", "site": "claimed", "subject_kind": "host", "subject_id": host,
         "kind": "usb.devices", "observed_at": f"2026-11-29T10:{i // 60 % 60:02d}:{i % 60:02d}+08:00", "seq": i,
         "payload": {"devices": [], "note": "x" * 200}, **extra} for i in range(n)]})


def test_agent_rows_carry_its_own_source_and_site_whatever_the_body_claims() -> None:
    rows = prepare(batch(3), AGENT, 5000)
    assert [r[1:3] for r in rows] == [("agent:T001", "branch-7")] * 3
    assert all(b'"source":"agent:T001"' in r[9] and b'"site":"branch-7"' in r[9] and b"claimed" not in r[9]
               for r in rows)


@pytest.mark.parametrize(("body", "principal", "status", "says"), [
    pytest.param(batch(2, host="T002"), AGENT, 403, "may not write host/T002", id="other-host"),
    pytest.param(batch(6), AGENT, 413, "exceeds the limit of 5", id="too-many"),
    pytest.param(b'{"observations": []}', ADMIN, 422, "batch is empty", id="empty"),
    pytest.param(b'{"observations": [', ADMIN, 422, "body is not JSON", id="not-json"),
    pytest.param(b'[1, 2]', ADMIN, 422, 'body must be {"observations": [...]}', id="not-a-batch"),
])
def test_refusals_name_the_reason(body: bytes, principal: Principal, status: int, says: str) -> None:
    with pytest.raises(BatchRejected) as e:
        prepare(body, principal, 5)
    assert e.value.status == status and says in str(e.value.detail)


def test_a_bad_field_is_named_by_index_and_field() -> None:
    data = orjson.loads(batch(4))
    data["observations"][2]["observed_at"] = "2026-11-29T10:00:00"  # no offset
    with pytest.raises(BatchRejected) as e:
        prepare(orjson.dumps(data), ADMIN, 5000)
    assert e.value.status == 422
    assert [(d["index"], d["field"]) for d in e.value.detail] == [(2, "observed_at")]


@pytest.fixture
def pool():
    p = PreparePool(1, min_bytes=0)
    yield p
    p.close()


def test_worker_processes_give_the_same_rows_and_refusals(pool: PreparePool) -> None:
    body = batch(500)
    assert asyncio.run(pool.prepare(body, AGENT, 5000)) == prepare(body, AGENT, 5000)
    with pytest.raises(BatchRejected) as e:
        asyncio.run(pool.prepare(batch(2, host="T009"), AGENT, 5000))
    assert e.value.status == 403 and "host/T009" in e.value.detail


def _readiness() -> tuple[int, int, int]:
    """In a preparation process: how often it loaded the kinds, its young-object threshold, objects frozen."""
    return load_kinds.cache_info().misses, gc.get_threshold()[0], gc.get_freeze_count()


def test_a_started_pool_is_ready_before_the_first_batch() -> None:
    """The service starts its preparation processes with itself: the first large batch finds each one
    with the kinds loaded and its heap settled, instead of waiting for (and paying) a process start."""
    p = PreparePool(2, min_bytes=0)
    p.start()
    try:
        assert p._executor is not None and len(p._executor._processes) == 2
        answers = [p._executor.submit(_readiness).result(60) for _ in range(4)]
        assert all(misses == 1 and young_threshold == 100_000 and frozen > 0
                   for misses, young_threshold, frozen in answers), answers
    finally:
        p.close()


def test_a_pool_of_no_processes_starts_nothing() -> None:
    p = PreparePool(0)
    p.start()
    assert p._executor is None
    assert len(asyncio.run(p.prepare(batch(300), AGENT, 5000))) == 300


def test_a_killed_worker_process_loses_no_batch(pool: PreparePool, tmp_path) -> None:
    body = batch(300)
    asyncio.run(pool.prepare(body, AGENT, 5000))  # the pool is up
    assert pool._executor is not None
    for pid in list(pool._executor._processes):  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
    store = SqliteStore(tmp_path / "cw.db")
    for _ in range(2):  # the batch during the failure, and the one after, on a fresh pool
        rows = asyncio.run(pool.prepare(batch(300), AGENT, 5000))
        assert store.ingest_rows(rows, actor=AGENT.actor).accepted == 300
    summaries = len(store.observations(kind="agent.sequence"))
    assert store.count_observations() - summaries == 600  # kept, repeats included
    store.close()


SITE_WORKER = Principal("source", "camera-worker", site="branch-7", subject_kinds=frozenset({"camera", "zone", "site"}))


def one(principal_host: str = "T001", *, minutes_ahead: float = -1, **fields: object) -> bytes:
    """A batch of one observation (by default a host's usb.devices, a minute old), fields overridden."""
    obs = {"id": str(uuid.uuid4()), "source": "claimed", "subject_kind": "host", "subject_id": principal_host,
           "kind": "usb.devices", "observed_at": (datetime.now(UTC) + timedelta(minutes=minutes_ahead)).isoformat(),
           "payload": {"enforcement": "sysfs", "policy_ok": True, "devices": []}, **fields}
    return orjson.dumps({"observations": [obs]})


@pytest.mark.parametrize(("principal", "body", "says"), [
    pytest.param(AGENT, one(kind="agent.sequence", payload={"gaps": []}), "kind agent.sequence is written only by "
                 "the collector itself; agent:T001", id="agent-forges-its-sequence"),
    pytest.param(AGENT, one(kind="camera.health", payload={"online": True}), "kind camera.health is written only "
                 "by the camera worker", id="agent-posts-a-camera-kind"),
    pytest.param(SITE_WORKER, one(subject_kind="site", subject_id="branch-7", kind="manual.evidence", key="FIRE-DRILL",
                                  payload={"control": "FIRE-DRILL", "valid_until": "2099-12-31T00:00:00+08:00"}),
                 "kind manual.evidence is written only by the collector itself", id="site-token-forges-evidence"),
    pytest.param(SITE_WORKER, one(subject_kind="site", subject_id="branch-7", kind="ledger.verify",
                                  payload={"ok": True}), "kind ledger.verify", id="site-token-forges-ledger-check"),
    pytest.param(ADMIN, one(kind="agent.sequence", payload={"gaps": []}), "agent.sequence", id="not-even-an-admin"),
])
def test_a_token_writes_only_the_kinds_it_owns(principal: Principal, body: bytes, says: str) -> None:
    with pytest.raises(BatchRejected) as e:
        prepare(body, principal, 5000)
    assert e.value.status == 403 and says in e.value.detail


def test_each_owner_still_writes_its_own_kinds() -> None:
    floorplan = one(subject_kind="site", subject_id="branch-7", kind="camera.floorplan", payload={"coverage_pct": 97})
    assert len(prepare(floorplan, SITE_WORKER, 5000)) == 1
    assert len(prepare(one(kind="antivirus.status", payload={"installed": True}), AGENT, 5000)) == 1


@pytest.mark.parametrize(("fields", "field", "says"), [
    pytest.param({"kind": "antivirus.status", "payload": {"installed": True, "signature_time": "garbage"}},
                 "payload.signature_time", "ISO 8601", id="unreadable-signature-time"),
    pytest.param({"kind": "antivirus.status", "payload": {"signature_time": "2026-11-29T10:00:00"}},
                 "payload.signature_time", "UTC offset", id="signature-time-without-offset"),
    pytest.param({"kind": "usb.devices", "payload": {"devices": [{"classes": ["08"], "authorized": "yes"}]}},
                 "payload.devices.0.authorized", "boolean", id="authorized-as-text"),
    pytest.param({"kind": "agent.heartbeat", "payload": {"interval_s": None}}, "payload.interval_s", "number",
                 id="interval-null"),
    pytest.param({"kind": "usb.exfiltrated"}, "kind", "unknown observation kind 'usb.exfiltrated'", id="unknown-kind"),
    pytest.param({"subject_kind": "host", "kind": "ups.status", "payload": {}}, "subject_kind",
                 "about ups, not host", id="kind-about-another-subject"),
    pytest.param({"subject_id": "T 001; DROP"}, "subject_id", "letters, digits and ._:@/- only",
                 id="subject-id-with-space"),
    pytest.param({"subject_id": "T" * 201}, "subject_id", "at most 200 characters", id="subject-id-too-long"),
    pytest.param({"kind": "USB.Devices"}, "kind", "dotted lower-case words", id="kind-in-capitals"),
    pytest.param({"observed_at": "2099-01-01T00:00:00+00:00"}, "observed_at", "ahead of the collector's clock",
                 id="dated-2099"),
    pytest.param({"observed_at": "9999-12-31T23:59:59-23:59"}, "observed_at",
                 "must lie between 1970-01-01 and 2999-12-31",
                 id="dated-the-last-second-of-9999"),
])
def test_a_malformed_observation_is_refused_naming_index_and_field(fields: dict, field: str, says: str) -> None:
    body = orjson.loads(one(**fields))
    body["observations"].insert(0, orjson.loads(one())["observations"][0])  # a good one first: index 1 is named
    with pytest.raises(BatchRejected) as e:
        prepare(orjson.dumps(body), ADMIN, 5000)
    assert e.value.status == 422
    [d] = e.value.detail
    assert (d["index"], d["field"]) == (1, field) and says in d["message"], d


def test_a_clock_a_little_ahead_is_tolerated_and_the_tolerance_is_a_setting() -> None:
    assert len(prepare(one(minutes_ahead=4), AGENT, 5000)) == 1
    with pytest.raises(BatchRejected) as e:
        prepare(one(minutes_ahead=4), AGENT, 5000, max_skew_s=60)
    assert e.value.status == 422 and "at most 60 s" in e.value.detail[0]["message"]


def test_worker_processes_refuse_by_kind_the_same_way(pool: PreparePool) -> None:
    forged = one(kind="agent.sequence", payload={"gaps": []})
    with pytest.raises(BatchRejected) as e:
        asyncio.run(pool.prepare(forged, AGENT, 5000))
    assert e.value.status == 403 and "agent.sequence" in e.value.detail
    with pytest.raises(BatchRejected) as e:
        asyncio.run(pool.prepare(one(kind="antivirus.status", payload={"signature_time": "garbage"}), AGENT, 5000))
    assert e.value.status == 422 and e.value.detail[0]["field"] == "payload.signature_time"
