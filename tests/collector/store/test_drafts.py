"""Ingest through two stores on one database at once (two collectors): every observation stored once,
repeats attached to the full row current at their number, `latest` as if the batches had come one by one.

On PostgreSQL a batch is drafted before the writers' lock (collector/store/drafts.py); these tests let the
other store write between the draft and the lock (on an SQLite file, where the draft is made inside the
write transaction, just before it), then check the whole store against a replay of its rows in number
order."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from collector.store.base import IngestResult
from collector.store.numbering import batch_arrivals
from collector.store.repeats import id_text, parse
from rules.model import Observation

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)
HOSTS, KINDS = ("T001", "T002", "T003"), ("usb.devices", "antivirus.status")


def _obs(host: str, kind: str, second: float, state: int = 0) -> Observation:
    payload: dict[str, Any] = {"state": state, "enforcement": "sysfs"} if kind == "usb.devices" else \
        {"product": "ClamAV", "running": state == 0, "eicar": {"detected": True, "latency_ms": 100 + second}}
    return Observation(id=str(uuid.uuid4()), source="t", subject_kind="host", subject_id=host, kind=kind,
                       observed_at=T0 + timedelta(seconds=second), payload=payload)


def _ingest_meanwhile(store: Any, batch: list[Observation], meanwhile: Callable[[], object],
                      received_at: datetime) -> IngestResult:
    """`store` ingests `batch`; `meanwhile` runs after the batch is drafted, before its write begins."""
    real_write = store.write

    def write() -> AbstractContextManager[Any]:
        meanwhile()
        return real_write()

    store.write = write  # this instance only, for this call
    try:
        return store.ingest(batch, actor="t", received_at=received_at)
    finally:
        del store.write


def _meaning(body: bytes) -> bytes:
    parsed = parse(body)
    assert parsed is not None
    return parsed.meaning


def _numbered(store: Any) -> Iterator[tuple[int, str, tuple[str, ...], bytes | None, float, int | None]]:
    """Every observation in number order: number, id, key, meaning (full rows) or None, as_of, head (repeats)."""
    full = store.read.execute("SELECT rowid, id, subject_kind, subject_id, kind, key, body, observed_at, received_at"
                              " FROM observations").fetchall()
    reps = store.read.execute("SELECT num, id, head, observed_at, batch FROM observation_repeats").fetchall()
    arrived = batch_arrivals(store.read, [r[4] for r in reps])
    rows: list[tuple[int, str, tuple[str, ...], bytes | None, float, int | None]] = [
        (r[0], r[1], tuple(r[2:6]), _meaning(bytes(r[6])), min(r[7], r[8]), None) for r in full]
    rows += [(r[0], id_text(r[1]), (), None, min(r[3], arrived[r[4]]), r[2]) for r in reps]
    return iter(sorted(rows))


def assert_as_if_one_by_one(store: Any) -> None:
    """Numbers run 1..N without a gap; no id twice; each repeat repeats the row current for its key at its
    number and no full row repeats it; `latest` is what replaying the rows in number order gives."""
    latest: dict[tuple[str, ...], list[Any]] = {}  # key -> head, meaning, as_of, num, repeat id, repeats
    key_of_head: dict[int, tuple[str, ...]] = {}
    ids: set[str] = set()
    numbers = []
    for num, obs_id, key, meaning, as_of, head in _numbered(store):
        numbers.append(num)
        assert obs_id not in ids, f"{obs_id} stored twice"
        ids.add(obs_id)
        if head is None:
            key_of_head[num] = key
            assert key not in latest or latest[key][1] != meaning, f"full row {num} repeats the current meaning"
            if key not in latest or as_of >= latest[key][2]:
                latest[key] = [num, meaning, as_of, num, None, 0]
            continue
        key = key_of_head[head]
        assert latest[key][0] == head, f"repeat {num} attached to {head}, not to the current {latest[key][0]}"
        if as_of >= latest[key][2]:
            latest[key][2:] = [as_of, num, obs_id, latest[key][5] + 1]
    assert numbers == list(range(1, len(numbers) + 1)) and store.max_observation_rowid() == len(numbers)
    stored = {tuple(r[:4]): [r[4], bytes(r[5]), r[6], r[7], id_text(r[8]) if r[8] is not None else None, r[9]]
              for r in store.read.execute("SELECT subject_kind, subject_id, kind, key, obs_rowid, meaning, observed_at,"
                                          " coalesce(num, obs_rowid), repeat_id, repeats FROM latest").fetchall()}
    assert stored == latest


def test_ids_the_other_store_stored_meanwhile_are_duplicates(store, same_store_elsewhere):
    first = [_obs("T001", "usb.devices", s) for s in range(3)]
    store.ingest(first, actor="t", received_at=T0 + timedelta(minutes=1))
    batch = [_obs("T001", "usb.devices", 10 + s) for s in range(4)]
    got = _ingest_meanwhile(store, batch, lambda: same_store_elsewhere.ingest(
        batch[1:3], actor="t", received_at=T0 + timedelta(minutes=2)), T0 + timedelta(minutes=2))
    assert (got.accepted, got.duplicates) == (2, 2)
    assert store.count_observations() == 7 and all(store.get_observation(o.id) is not None for o in batch)
    assert store.latest_for("host", "T001")[("usb.devices", "")].id == batch[-1].id
    assert store.verify_ledger().ok
    assert_as_if_one_by_one(store)


def test_repeats_the_other_store_added_meanwhile_are_counted_once_each(store, same_store_elsewhere):
    store.ingest([_obs("T001", "usb.devices", 0)], actor="t", received_at=T0 + timedelta(minutes=1))
    mine, theirs = ([_obs("T001", "usb.devices", 10 + s) for s in range(3)],
                    [_obs("T001", "usb.devices", 20 + s) for s in range(2)])
    _ingest_meanwhile(store, mine, lambda: same_store_elsewhere.ingest(theirs, actor="t", received_at=T0 + timedelta(
        minutes=2)), T0 + timedelta(minutes=2))
    full, repeats = (store.read.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("observations", "observation_repeats"))
    assert (full, repeats) == (1, 5)
    # theirs are newer: the latest stays theirs, and my older repeats do not move it
    assert store.latest_for("host", "T001")[("usb.devices", "")].id == theirs[-1].id
    assert_as_if_one_by_one(store)


def test_a_meaning_the_other_store_changed_meanwhile_makes_mine_a_full_row_again(store, same_store_elsewhere):
    store.ingest([_obs("T001", "usb.devices", 0)], actor="t", received_at=T0 + timedelta(minutes=1))
    mine = [_obs("T001", "usb.devices", 30 + s) for s in range(3)]  # drafted as repeats of the first
    changed = _obs("T001", "usb.devices", 20, state=1)
    _ingest_meanwhile(store, mine, lambda: same_store_elsewhere.ingest([changed], actor="t", received_at=T0 + timedelta(
        minutes=2)), T0 + timedelta(minutes=2))
    full, repeats = (store.read.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("observations", "observation_repeats"))
    assert (full, repeats) == (3, 2)  # the first, the change, mine back to the first meaning; my other two repeat it
    newest = store.latest_for("host", "T001")[("usb.devices", "")]
    assert newest.id == mine[-1].id and newest.payload["state"] == 0
    assert store.get_observation(changed.id).payload["state"] == 1
    assert store.verify_ledger().ok
    assert_as_if_one_by_one(store)


def test_two_stores_ingesting_the_same_keys_at_once_store_what_one_by_one_would(store, same_store_elsewhere):
    """Threads on both stores send batches over the same keys, meanings changing now and then, some
    batches sent to both (an agent retrying on the other collector), some observations late."""
    keys = [(h, k) for h in HOSTS for k in KINDS for _ in (0, 1)]
    batches = [[_obs(h, k, b * 60 + i - (90 if i % 7 == 3 else 0),
                     state=(b // 5 + i // 3) % 2 if k == "usb.devices" else (b // 8) % 2)
                for i, (h, k) in enumerate(keys)] for b in range(24)]
    sent: list[tuple[Any, list[Observation]]] = []
    for b, batch in enumerate(batches):
        sent.append((store if b % 2 else same_store_elsewhere, batch))
        if b % 5 == 0:
            sent.append((same_store_elsewhere if b % 2 else store, batch))
    errors: list[BaseException] = []

    def send(part: list[tuple[Any, list[Observation]]]) -> None:
        try:
            for target, batch in part:
                target.ingest(batch, actor="t", received_at=T0 + timedelta(hours=1))
        except BaseException as e:  # noqa: BLE001 - reported by the test's thread
            errors.append(e)

    threads = [threading.Thread(target=send, args=(sent[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert store.count_observations() == sum(len(b) for b in batches)
    for batch in batches[::5]:
        assert all(store.get_observation(o.id) is not None for o in batch)
    assert store.verify_ledger().ok
    assert_as_if_one_by_one(store)


def test_a_store_whose_drafts_keep_being_redone_plans_under_the_lock_and_stores_the_same(store, same_store_elsewhere):
    """Batch after batch another writer touches the same key between draft and lock; after a few such
    batches the store plans under the lock instead (collector/store/drafts.py DraftPolicy)."""
    store.ingest([_obs("T001", "usb.devices", 0)], actor="t", received_at=T0 + timedelta(minutes=1))
    for b in range(6):
        mine = [_obs("T001", "usb.devices", 100 * b + 50 + s, state=s % 2) for s in range(3)]
        theirs = [_obs("T001", "usb.devices", 100 * b + 60 + s, state=b % 2) for s in range(2)]

        def meanwhile(theirs: list[Observation] = theirs) -> IngestResult:
            return same_store_elsewhere.ingest(theirs, actor="t", received_at=T0 + timedelta(hours=1))

        got = _ingest_meanwhile(store, mine, meanwhile, T0 + timedelta(hours=1))
        assert got.accepted == 3
    assert store.count_observations() == 1 + 6 * 5
    assert store.verify_ledger().ok
    assert_as_if_one_by_one(store)


def test_what_others_stored_since_a_number_is_looked_up_by_index_in_a_plan_made_for_any_number(store):
    """On PostgreSQL a statement run often on a pooled connection is prepared and planned once for any
    number: asked for numbers above one alone, that plan would scan the whole table under the writers'
    lock at every batch."""
    from collector.store.drafts import FULL_ROWS_BETWEEN, REPEATS_BETWEEN
    from collector.store.postgres import PostgresStore

    if not isinstance(store, PostgresStore):
        pytest.skip("SQLite drafts inside its write transaction: nothing is stored meanwhile")
    with store._pool.connection() as raw:
        raw.execute("SET plan_cache_mode = force_generic_plan")
        for n, sql in enumerate((FULL_ROWS_BETWEEN, REPEATS_BETWEEN)):
            raw.execute(f"PREPARE published_{n}(bigint, bigint) AS {sql.replace('?', '$1', 1).replace('?', '$2', 1)}")
            plan = " ".join(r[0] for r in raw.execute(f"EXPLAIN EXECUTE published_{n}(0, 10)"))
            raw.execute(f"DEALLOCATE published_{n}")
            assert "Seq Scan" not in plan and "Index" in plan, plan
        raw.execute("RESET plan_cache_mode")


def test_plans_under_the_lock_for_twice_as_many_batches_each_time_drafts_are_redone_again():
    from collector.store.batch_plan import BatchPlan, PlanMemo
    from collector.store.drafts import Draft, DraftPolicy

    def draft(**outcome: bool) -> Draft:
        return Draft([], 0, {}, BatchPlan([], [], {}, {}), PlanMemo(), 0.0, **outcome)

    def under_lock_run(policy: DraftPolicy) -> int:
        """Batches redone until the policy plans under the lock, then how many it plans there."""
        for _ in range(DraftPolicy.REDONE_IN_A_ROW):
            assert policy.plan_first()
            policy.note(draft(replanned=True))
        n = 0
        while not policy.plan_first():
            policy.note(draft())
            n += 1
        return n

    policy = DraftPolicy()
    spans = [under_lock_run(policy) for _ in range(6)]
    assert spans == [8, 16, 32, 64, 64, 64]
    policy.note(draft(kept=True))  # the other writer has gone: a draft was kept as it was
    assert under_lock_run(policy) == DraftPolicy.PLAN_UNDER_LOCK_FOR


def test_a_drafts_stored_ids_are_looked_up_with_the_keys_its_plan_reads_again(tmp_path):
    """The ids' repeat keys worked out to look up the stored ids are those the plan takes from its memo."""
    from collector.store.batch_plan import key_states
    from collector.store.drafts import draft_batch
    from collector.store.observation_rows import observation_row
    from collector.store.repeats import id_key
    from collector.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "cw.db")
    rows = [observation_row(_obs("T001", "usb.devices", s)) for s in range(3)]
    rows.append(("not a uuid", *rows[0][1:]))
    asked: list[str] = []

    def stored_ids(conn: Any, ids: Any, key_of: Callable[[str], bytes | None]) -> set[str]:
        asked.extend(ids)
        return {i for i in ids if key_of(i) is None}  # as if the id not a UUID were stored

    try:
        draft = draft_batch(store.read, rows, T0.timestamp(), {}, stored_ids, key_states, plan=False)
    finally:
        store.close()
    assert asked == [r[0] for r in rows] and [r[0] for r in draft.rows] == asked[:3]
    assert draft.memo.id_keys == {i: id_key(i) for i in asked}


def test_rows_found_before_the_lock_to_repeat_their_keys_last_head_are_planned_against_the_head_current_under_it(
        store, same_store_elsewhere, monkeypatch):
    """A batch planned under the lock has its rows checked before it against the head each key had when
    the store last planned it (drafts.foresee_repeats). Another writer may meanwhile store a full row of
    another meaning for the key, or only repeats of it: the rows are then full rows, or repeats, of the
    head current under the lock, as if the batches had come one by one."""
    from collector.store import drafts
    from collector.store.postgres import PostgresStore

    if not isinstance(store, PostgresStore):
        pytest.skip("SQLite drafts inside its write transaction")
    foreseen: list[int] = []

    def foresee(rows: Any, heads: Any, key_heads: Any, memo: Any) -> None:
        real_foresee(rows, heads, key_heads, memo)
        foreseen.append(len(memo.as_is))

    real_foresee = drafts.foresee_repeats
    monkeypatch.setattr(drafts, "foresee_repeats", foresee)
    monkeypatch.setattr(store._drafts, "plan_first", lambda: False)
    store.ingest([_obs(h, "usb.devices", 0) for h in HOSTS], actor="t", received_at=T0 + timedelta(minutes=1))
    for b, theirs_state in enumerate((1, 1, 0, 0)):  # theirs: another meaning of T001 twice, then repeats of mine
        mine = [_obs(h, "usb.devices", 100 * b + 50 + s) for s in range(2) for h in HOSTS]
        theirs = [_obs("T001", "usb.devices", 100 * b + 40, state=theirs_state)]  # observed before mine

        def meanwhile(theirs: list[Observation] = theirs) -> IngestResult:
            return same_store_elsewhere.ingest(theirs, actor="t", received_at=T0 + timedelta(hours=1))

        assert _ingest_meanwhile(store, mine, meanwhile, T0 + timedelta(hours=1)).accepted == len(mine)
    assert foreseen == [6, 6, 6, 6]  # every row repeats the head of its key as the store last planned it
    full, repeats = (store.read.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
                     for table, where in (("observations", "subject_id = 'T001'"), (
                         "observation_repeats", "head IN (SELECT rowid FROM observations WHERE subject_id = 'T001')")))
    # the first; in each of the first two batches theirs of another meaning, then mine a full row and a repeat;
    # in the last two theirs and mine repeats of mine
    assert (full, repeats) == (1 + 2 * 2, 2 * 1 + 2 * 3)
    assert store.verify_ledger().ok
    assert_as_if_one_by_one(store)


def test_only_rows_of_a_uuid_that_repeat_their_keys_known_head_as_is_are_foreseen():
    from collector.store.batch_plan import PlanMemo, plan_batch
    from collector.store.drafts import foresee_repeats
    from collector.store.observation_rows import observation_row

    first = [observation_row(_obs(h, "usb.devices", 0)) for h in ("T001", "T002")]
    heads: dict[int, Any] = {}
    plan = plan_batch(None, first, T0.timestamp(), dict.fromkeys((r[3], r[4], r[5], r[6]) for r in first),
                      heads).numbered(1, 1)
    heads.update(plan.heads)
    key_heads = {k: st.head for k, st in plan.latest.items() if k[1] == "T001"}  # T002's head not known
    rows = [observation_row(o) for o in (_obs("T001", "usb.devices", 5), _obs("T001", "usb.devices", 6, state=1),
                                         _obs("T002", "usb.devices", 7))]
    rows.append(("not-a-uuid", *observation_row(_obs("T001", "usb.devices", 8))[1:]))
    memo = PlanMemo()
    foresee_repeats(rows, heads, key_heads, memo)
    assert memo.as_is == {rows[0][0]: heads[key_heads[("host", "T001", "usb.devices", "")]].body}


def test_a_batchs_merkle_leaves_hashed_before_the_lock_are_taken_only_for_the_very_rows_hashed():
    """merkle_leaves reuses the leaves hashed before the writers' lock when the rows stored begin with the
    rows hashed (a summary row made under the lock may follow); any other rows are hashed anew."""
    from collector.proof.merkle import leaf_hash, merkle_root, root_of_leaves
    from collector.store.observation_rows import observation_row
    from collector.store.observations import merkle_leaves

    rows = [observation_row(_obs("T001", "usb.devices", s)) for s in range(4)]
    more = observation_row(_obs("T002", "usb.devices", 9))
    marked = [b"hashed before %d" % i for i in range(4)]  # not leaves: shows where they were taken
    assert merkle_leaves(rows, rows, marked) == marked
    assert merkle_leaves([*rows, more], rows, marked) == [*marked, leaf_hash(more[9])]
    for stored in (rows[1:], [rows[0], rows[2], rows[3]], [tuple(r) for r in (list(r) for r in rows)], []):
        assert merkle_leaves(stored, rows, marked) == [leaf_hash(r[9]) for r in stored]
    leaves = [leaf_hash(r[9]) for r in rows]
    assert root_of_leaves(merkle_leaves([*rows, more], rows, leaves)) == merkle_root([r[9] for r in [*rows, more]])
