"""`ledger verify` beyond the chain: evidence files re-hashed, a removed tail named as such."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collector.store.integrity import EvidenceAltered
from collector.store.sqlite import SqliteStore
from rules.model import Observation


def _sql(store, q, *args):
    """A change behind the store's back (each statement commits on its own)."""
    store.read.execute(q, args)


def _batch(store, hour: int) -> int:
    r = store.ingest([Observation(source="t", subject_kind="host", subject_id="h1", kind="usb.devices",
                                  observed_at=datetime(2026, 11, 1, hour, tzinfo=UTC), payload={"n": hour})],
                     actor="t")
    seal = store.seal_batches()
    assert r.ledger_seq is not None and seal is not None
    return seal


def test_missing_and_altered_evidence_files_are_named(tmp_path):
    """Files on disk: SQLite's (test_postgres.py alters PostgreSQL's evidence_blobs)."""
    store = SqliteStore(tmp_path / "cw.db")
    a = store.put_evidence(b"scan one", "a.pdf")
    b = store.put_evidence(b"scan two", "b.pdf")
    assert store.verify_ledger().ok
    (store.evidence_dir / a.sha256[:2] / a.sha256).write_bytes(b"scan 0ne")
    (store.evidence_dir / b.sha256[:2] / b.sha256).unlink()
    r = store.verify_ledger()
    assert not r.ok and r.evidence_checked == 2
    texts = [p.text() for p in r.problems]
    assert any(t.startswith(f"evidence: {store.evidence_dir / a.sha256[:2] / a.sha256}: altered") for t in texts)
    assert any(t.startswith(f"evidence: {store.evidence_dir / b.sha256[:2] / b.sha256}: missing") for t in texts)
    with pytest.raises(EvidenceAltered):
        store.read_evidence(a.sha256)
    assert store.get_evidence(a.sha256) is None  # other readers (reports, bundles) get nothing, not bad bytes
    store.close()


def test_a_ledger_body_altered_into_invalid_utf8_is_named_not_a_failure(backend_store):
    store = backend_store
    _batch(store, 1)
    _batch(store, 2)
    (body,) = store.read.execute("SELECT body FROM ledger WHERE seq = 1").fetchone()
    _sql(store, "UPDATE ledger SET body = ? WHERE seq = 1", bytes(body) + b"\xff")
    r = store.verify_ledger()
    assert not r.ok and any(p.seq == 1 for p in r.problems), r.problems


def test_tail_removed_after_a_checkpoint_is_reported_as_a_removed_tail(backend_store):
    store = backend_store
    for h in range(3):
        _batch(store, h)
    store.checkpoint()
    _batch(store, 4)
    _batch(store, 5)  # sealed by entries 4 and 5: after the newest checkpoint
    _sql(store, "DELETE FROM ledger WHERE seq > 3")
    r = store.verify_ledger()
    assert not r.ok
    (p,) = r.problems
    assert (p.seq, p.what) == (4, "truncated")
    assert "the chain ends at entry 3" in p.detail and "batches.seal names entry 5" in p.detail


def test_tail_removed_with_its_checkpoint_rows_is_still_named_by_the_checkpoint(backend_store):
    store = backend_store
    for h in range(4):
        _batch(store, h)
    store.checkpoint()
    _sql(store, "DELETE FROM ledger WHERE seq > 2")
    _sql(store, "DELETE FROM observations WHERE batch IN (SELECT batch FROM batches WHERE seal > 2)")
    _sql(store, "DELETE FROM batches WHERE seal > 2")
    r = store.verify_ledger()
    (p,) = r.problems
    assert p.what == "truncated" and "the newest signed checkpoint covers entry 4" in p.detail


def test_tail_removed_everywhere_but_the_finding_history_is_named(backend_store):
    store = backend_store
    _batch(store, 1)
    seq = store.ledger_append("user.action", "user:a", {})
    _sql(store, "INSERT INTO events (ts, type, detail, ledger_seq) VALUES (0, 'x', '', ?)", seq)
    _sql(store, "DELETE FROM ledger WHERE seq = ?", seq)
    (p,) = store.verify_ledger().problems
    assert p.what == "truncated" and f"events.ledger_seq names entry {seq}" in p.detail
