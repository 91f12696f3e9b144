"""Batches are committed to the ledger by seals, one entry per interval rather than one per batch; `ledger
verify` still names a changed observation, batch row or seal, and a killed process loses no batch."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from collector.proof.canonical import loads
from collector.proof.seal import SEAL_TYPE
from tests.collector.store.conftest import T0, obs
from tests.stores import another_process, db_arg, rewrite_bodies, tamper

BATCHES = 100


def _ingest(store, n: int = BATCHES, start: int = 0, step_s: float = 1.0) -> list[int]:
    """`n` batches of two observations each, one every `step_s` seconds of the batches' arrival clock."""
    out = []
    for b in range(start, start + n):
        at = T0 + timedelta(seconds=b * step_s)
        r = store.ingest([obs(2 * b, subject=f"h{b % 7}", t=at), obs(2 * b + 1, subject="h9", kind="av.status", t=at)],
                         actor="agent:t", received_at=at)
        out.append(r.ledger_seq)
    return out


def _seals(store) -> list[tuple[int, dict]]:
    rows = store.read.execute("SELECT seq, body FROM ledger ORDER BY seq").fetchall()
    return [(seq, loads(bytes(body))["data"]) for seq, body in rows if loads(bytes(body))["type"] == SEAL_TYPE]


def test_many_batches_make_a_few_seals_that_verify(store):
    store.seal_after_s = 60.0
    batches = _ingest(store)
    base = store.batch_base()
    assert base == 0  # a new store: its first batch is number 1
    assert batches == list(range(base + 1, base + BATCHES + 1))
    # the batch that arrived 60 s after the oldest unsealed one sealed all 61 so far; the rest wait
    [(seq, data)] = _seals(store)
    assert data == {"v": 3, "first": base + 1, "last": base + 61, "root": data["root"]}
    assert store.ledger_head() == 1 and store.unsealed_batches() == BATCHES - 61
    r = store.verify_ledger()  # seals what waits first
    assert r.ok, r.problems
    assert (r.entries, r.batches_checked, r.observations_checked) == (2, BATCHES, 2 * BATCHES)
    assert [d["first"] for _, d in _seals(store)] == [base + 1, base + 62]
    assert store.unsealed_batches() == 0
    # a seal is stamped with its newest batch's arrival: entries stay in time order
    stamps = [loads(bytes(b))["ts"] for (b,) in store.read.execute("SELECT body FROM ledger ORDER BY seq")]
    assert stamps == sorted(stamps) and stamps[0] == (T0 + timedelta(seconds=60)).isoformat()


def test_a_due_seal_waits_for_the_oldest_batch_to_be_old_enough_by_the_stores_clock(store):
    store.seal_after_s = 3600.0
    _ingest(store, 3)  # arrived in 2026-11: long due by any clock running now
    assert store.seal_batches(due=True) == 1 and store.unsealed_batches() == 0
    store.ingest([obs(999)], actor="t")  # arrives now
    assert store.seal_batches(due=True) is None and store.unsealed_batches() == 1
    assert store.seal_batches() == 2 and store.seal_batches() is None  # nothing left to seal


def test_a_changed_observation_sealed_or_not_is_named_by_its_batch(store):
    _ingest(store, 10)
    assert store.seal_batches() == 1
    _ingest(store, 3, start=10)  # not sealed yet when changed: their rows' roots still name the change
    for batch in (4, 12):
        assert rewrite_bodies(store, "observations", "batch = ? AND kind = 'av.status'",
                              lambda body: body.replace(b'"payload":{', b'"payload":{"x":1,'), batch) == 1
    problems = store.verify_ledger().problems
    assert [(p.seq, p.what, p.detail.split(":")[0]) for p in problems] == [
        (1, "observation", f"batch {4}"), (2, "observation", f"batch {12}")]


def test_a_changed_or_removed_batch_row_breaks_its_seal(store):
    _ingest(store, 8)
    store.seal_batches()
    tamper(store, "UPDATE batches SET received_us = received_us + 1 WHERE batch = ?", 2)
    [p] = store.verify_ledger().problems
    assert (p.seq, p.what) == (1, "seal") and "no longer match its Merkle root" in p.detail
    tamper(store, "DELETE FROM batches WHERE batch = ?", 3)
    texts = [p.text() for p in store.verify_ledger().problems]
    assert any(t.startswith("ledger entry 1: seal: 1 of the 8 batch rows it covers") for t in texts), texts
    assert any(f"batch {3}: observations name a batch without its row" in t for t in texts)


def test_a_changed_batch_base_is_named(store):
    _ingest(store)
    store.verify_ledger()  # sealed
    tamper(store, "UPDATE meta SET value = '5' WHERE key = 'batches.base'")
    r = store.verify_ledger()
    assert not r.ok and any(p.what == "seal" and "ended at batch 5" in p.detail for p in r.problems), r.problems
    tamper(store, "DELETE FROM meta WHERE key = 'batches.base'")
    r = store.verify_ledger()
    assert any(p.what == "seal" and "batch base" in p.detail for p in r.problems), r.problems


def test_a_root_rewritten_to_match_changed_observations_breaks_the_seal(store):
    """Whoever edits observations and recomputes their batch's root still cannot match the seal."""
    from collector.proof.merkle import merkle_root

    _ingest(store, 5)
    store.seal_batches()
    batch = 3
    rewrite_bodies(store, "observations", "batch = ?", lambda body: body.replace(b'"i":', b'"j":'), batch)
    bodies = [bytes(b) for (b,) in store.read.execute("SELECT body FROM observations WHERE batch = ? ORDER BY rowid",
                                                      (batch,))]
    tamper(store, "UPDATE batches SET root = ? WHERE batch = ?", merkle_root(bodies), batch)
    [p] = store.verify_ledger().problems
    assert (p.seq, p.what) == (1, "seal")


def test_a_removed_or_reordered_seal_is_named(store):
    for i in range(3):
        _ingest(store, 2, start=2 * i)
        store.seal_batches()
        store.ledger_append("user.action", "user:a", {"i": i})
    assert [s for s, _ in _seals(store)] == [1, 3, 5]
    with store.write() as conn:  # two seals' bodies swapped, hashes and all, behind the ledger's back
        (b1, h1), (b3, h3) = conn.execute("SELECT body, hash FROM ledger WHERE seq IN (1, 3) ORDER BY seq").fetchall()
        conn.execute("UPDATE ledger SET body = ?, hash = ? WHERE seq = 1", (b3, h3))
        conn.execute("UPDATE ledger SET body = ?, hash = ? WHERE seq = 3", (b1, h1))
    problems = store.verify_ledger().problems
    assert (problems[0].seq, problems[0].what) == (1, "reordered")
    assert any(p.what == "seal" and "the seal before it ended at batch" in p.detail for p in problems)


def test_a_seal_removed_from_the_middle_or_the_tail_is_named(store):
    for i in range(3):
        _ingest(store, 2, start=2 * i)
        store.seal_batches()
    tamper(store, "DELETE FROM ledger WHERE seq = 2")
    problems = store.verify_ledger().problems
    assert (problems[0].seq, problems[0].what) == (2, "removed")
    assert any(p.what == "seal" and p.seq == 3 and "ended at batch" in p.detail for p in problems)


def test_a_seal_cut_off_the_tail_is_named_by_the_batches_it_sealed(store):
    _ingest(store, 4)
    store.seal_batches()
    _ingest(store, 2, start=4)
    store.seal_batches()
    tamper(store, "DELETE FROM ledger WHERE seq = 2")
    [p] = store.verify_ledger().problems  # the rows still name the seal that is gone
    assert (p.seq, p.what) == (2, "truncated") and "batches.seal names entry 2" in p.detail, p


def test_a_process_killed_before_its_seal_loses_no_batch(store, tmp_path: Path):
    """A real kill -9 after the acknowledged ingest: the next process to open the store seals it."""
    store.seal_after_s = 3600.0
    script = (
        "import os, signal, sys\n"
        "from datetime import datetime, UTC\n"
        "from collector.store.opening import open_store\n"
        "from rules.model import Observation\n"
        "s = open_store(sys.argv[1])\n"
        "s.seal_after_s = 3600.0\n"
        "r = s.ingest([Observation(source='t', subject_kind='host', subject_id='k', kind='usb.devices',"
        " observed_at=datetime.now(UTC), payload={'i': i}) for i in range(5)], actor='t')\n"
        "print(r.ledger_seq, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    env = {**os.environ, "CLAUSEWATCH_SITE_KEY": str(tmp_path / "site-key.pem")}
    done = subprocess.run([sys.executable, "-c", script, db_arg(store)], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[3], timeout=60)
    assert done.returncode == -9, done.stderr
    batch = int(done.stdout.split()[0])
    assert batch == 1 and store.ledger_head_stored() == 0  # stored, not sealed
    reopened = another_process(store)
    try:
        assert reopened.unsealed_batches() == 0 and reopened.ledger_head_stored() == 1
        assert reopened.count_observations() == 5
        r = reopened.verify_ledger()
        assert r.ok and r.batches_checked == 1, r.problems
    finally:
        reopened.close()


def _compacted(store) -> tuple[int, int]:
    """Six hours of a host's heartbeats ten days ago, a batch a minute, sealed every ten minutes, compacted:
    (batch rows before, after)."""
    from datetime import UTC, datetime

    from collector.store.compaction import compact
    from collector.store.retention import RetentionPolicy
    from rules.catalog import default_catalog
    from rules.model import Observation

    store.seal_after_s = 600.0
    now = datetime.now(UTC).replace(microsecond=0)
    start = (now - timedelta(days=10)).replace(hour=1, minute=0, second=0)
    for i in range(360):
        at = start + timedelta(minutes=i)
        store.ingest([Observation(source="agent:h1", subject_kind="host", subject_id="h1", kind="agent.heartbeat",
                                  observed_at=at, payload={"version": "1", "i": i})], actor="agent:h1", received_at=at)
    before = store.read.execute("SELECT count(*) FROM batches").fetchone()[0]
    result = compact(store, RetentionPolicy(3, 24, 92), list(default_catalog()), now)
    assert result.batches_emptied > 300
    return before, store.read.execute("SELECT count(*) FROM batches").fetchone()[0]


def test_compaction_removes_the_rows_of_the_batches_it_emptied_and_the_seals_still_verify(store):
    before, after = _compacted(store)
    assert before == 360 and 0 < after < 10  # the batches still holding an observation keep their rows
    assert store.read.execute("SELECT count(*) FROM pruned_seals").fetchone()[0] > 30
    r = store.verify_ledger()
    assert r.ok, r.problems[:3]
    [(kept,)] = store.read.execute("SELECT min(batch) FROM batches").fetchall()
    tamper(store, "UPDATE batches SET received_us = received_us + 1 WHERE batch = ?", kept)
    [p] = store.verify_ledger().problems
    assert p.what == "seal" and "the batch rows compaction kept of batches" in p.detail, p


def test_a_removed_seal_proof_or_kept_observation_is_named(store):
    _compacted(store)
    [(kept,)] = store.read.execute("SELECT min(batch) FROM batches").fetchall()
    rewrite_bodies(store, "observations", "batch = ?", lambda body: body.replace(b'"version":"1"', b'"version":"2"'),
                   kept)
    texts = [p.text() for p in store.verify_ledger().problems]
    assert any(f"batch {kept}: " in t and "Merkle root" in t for t in texts), texts
    tamper(store, "DELETE FROM pruned_seals")
    texts = [p.text() for p in store.verify_ledger().problems]
    assert sum("batch rows it covers" in t and "are gone" in t for t in texts) > 30, texts[:3]


def test_a_batch_number_is_never_given_twice_after_compaction_emptied_the_newest_batch(store):
    """The newest batch holds only a late-arriving older observation, which compaction drops: its row stays,
    so the next batch is not given its number again."""
    from datetime import UTC, datetime

    from collector.store.compaction import compact
    from collector.store.retention import RetentionPolicy
    from rules.catalog import default_catalog
    from rules.model import Observation

    now = datetime.now(UTC).replace(microsecond=0)
    start = (now - timedelta(days=10)).replace(hour=1, minute=0, second=0)

    def beat(i: int, observed: int, received: int) -> int | None:
        return store.ingest([Observation(source="agent:h1", subject_kind="host", subject_id="h1",
                                         kind="agent.heartbeat", observed_at=start + timedelta(minutes=observed),
                                         payload={"version": "1", "i": i})], actor="agent:h1",
                            received_at=start + timedelta(minutes=received)).ledger_seq

    for i in range(20):
        beat(i, i, i)
    late = beat(20, 5, 20)  # arrives last, observed before the newest
    compact(store, RetentionPolicy(3, 24, 92), list(default_catalog()), now)
    assert store.read.execute("SELECT count(*) FROM observations WHERE batch = ?", (late,)).fetchone()[0] == 0
    assert store.read.execute("SELECT max(batch) FROM batches").fetchone()[0] == late
    assert beat(21, 30, 30) == late + 1
    assert store.verify_ledger().ok
