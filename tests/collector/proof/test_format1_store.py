"""A store, an attestation and a bundle made before signed bytes were RFC 8785 (format 1, by
tests/fixtures/stores/make_format1.py on that code) still verify, and the store takes new entries."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.people import attest
from collector.proof.canonical import loads
from collector.proof.ledger import batch_commitment, batch_entry_data
from collector.reports.verify import verify_bundle
from collector.store.compaction import compact
from collector.store.retention import load_policy
from collector.store.sqlite import SqliteStore
from rules.catalog import default_catalog
from rules.model import Observation

FIXTURE = Path(__file__).resolve().parent.parent.parent / "fixtures" / "stores" / "format1"


@pytest.fixture
def old_store(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "format1")
    s = SqliteStore(tmp_path / "format1" / "cw.db")
    yield s
    s.close()


def test_format1_store_verifies(old_store):
    r = old_store.verify_ledger()
    assert r.ok, r.problems
    assert r.entries == 47 and r.evidence_checked == 1 and r.checkpoints >= 2


def test_format1_attestation_signature_still_verifies(old_store):
    att = json.loads((FIXTURE / "attestation.json").read_text())
    assert "canonical" not in att  # signed in orjson's form
    pem = (FIXTURE / "cw.site-key.pem").read_bytes()
    assert attest.verify(att, old_store.site_key.public_pem())
    assert attest.verify(attest.get(old_store, att["id"]), old_store.site_key.public_pem())
    assert not attest.verify({**att, "statement": att["statement"] + "!"}, old_store.site_key.public_pem())
    assert pem  # the key the fixture was made with is the store's own


def test_format1_bundle_still_verifies():
    rep = verify_bundle(FIXTURE / "bundle.zip")
    assert rep.ok, rep.problems
    assert rep.files_checked >= 4 and rep.ledger_entries > 0


def test_format1_store_takes_rfc8785_attestations_and_still_verifies(old_store):
    controls = list(default_catalog())
    start, end = datetime(2026, 11, 20, 8, tzinfo=UTC), datetime(2026, 11, 20, 14, tzinfo=UTC)
    new = attest.attest(old_store, controls, start=start, end=end, statement="checked again, nothing changed",
                        user="manager", corrects=1, now=datetime(2026, 11, 21, tzinfo=UTC),
                        acknowledge_failures=True)
    assert new["canonical"] == "rfc8785"
    assert attest.verify(attest.get(old_store, new["id"]), old_store.site_key.public_pem())
    old_store.checkpoint()
    assert old_store.verify_ledger().ok


def test_format1_store_passes_the_deep_check(old_store):
    from collector.proof.deepverify import verify_derived

    with old_store.derived_rows() as tables:
        rep = verify_derived(tables, list(default_catalog()))
    assert rep.ok, [d.text() for d in rep.differences[:5]]
    assert rep.checked["exceptions"] == rep.checked["attestations"] == 1


def _batch_entries(store: SqliteStore) -> dict[int, dict]:
    rows = store.read.execute("SELECT seq, body FROM ledger").fetchall()
    return {seq: loads(body)["data"] for seq, body in rows if loads(body)["type"] == "observations"}


def test_format1_batches_keep_their_form_beside_new_compact_ones_and_compact_and_verify(old_store):
    """Batches ledgered in form 1 (ids and kinds named) stay as they are; new batches are rows a seal commits
    to; both verify, compaction proves what it keeps of either, and a changed byte in either is caught."""
    old = _batch_entries(old_store)
    assert old and all("merkle_root" in d and "kinds" in d for d in old.values())
    now = datetime(2026, 11, 25, tzinfo=UTC)
    new = old_store.ingest([Observation(source="agent:T001", subject_kind="host", subject_id="T001",
                                        kind="usb.devices", observed_at=now, payload={"devices": [], "n": i})
                            for i in range(3)], actor="agent:T001", received_at=now)
    # numbered after the ledger head when the store took its first batch row, so after every old batch
    assert new.ledger_seq == old_store.batch_base() + 1 and old_store.batch_base() >= max(old)
    assert old_store.read.execute("SELECT n, root FROM batches WHERE batch = ?", (new.ledger_seq,)).fetchone() == \
        (3, bytes.fromhex(new.merkle_root))
    assert old_store.verify_ledger().ok
    assert old_store.unsealed_batches() == 0
    result = compact(old_store, load_policy().with_raw_days(0), list(default_catalog()), now + timedelta(days=1))
    assert result.dropped > 0 and result.batches_partly_kept + result.batches_emptied > 0
    report = old_store.verify_ledger()
    assert report.ok, report.problems
    for seq in (min(old), new.ledger_seq):  # a form-1 batch and the form-2 one
        kept = old_store.read.execute("SELECT rowid FROM observations WHERE batch = ? LIMIT 1", (seq,)).fetchone()
        if kept is None:
            continue
        old_store.read.execute("UPDATE observations SET body = replace(body, 'T001', 'T00I') WHERE rowid = ?",
                               kept)
        problems = old_store.verify_ledger().problems
        assert any(p.what == "observation" and (p.seq == seq or f"batch {seq}:" in p.detail) for p in problems), seq


def test_an_unknown_batch_form_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown batch form 3"):
        batch_commitment({"n": 1, "root": "00", "v": 3})
    assert batch_commitment({"count": 2, "merkle_root": "ab", "first": "x", "last": "y", "kinds": {}}) == (2, "ab")
    assert batch_commitment(batch_entry_data(5, "cd")) == (5, "cd")
