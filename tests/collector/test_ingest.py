"""Preparing posted batches: the same rows and the same refusals in place and in worker processes."""
from __future__ import annotations

import asyncio
import os
import signal
import uuid

import orjson
import pytest

from collector.auth import Principal
from collector.ingest import BatchRejected, PreparePool, prepare
from collector.store.sqlite import SqliteStore

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
    assert b'"source":"agent:T001"' in rows[0][9]


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
    assert len(store.observations(kind="usb.devices", limit=1000)) == 600
    store.close()
