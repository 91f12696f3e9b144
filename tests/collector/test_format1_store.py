"""A store, an attestation and a bundle made before signed bytes were RFC 8785 (format 1, by
tests/fixtures/stores/make_format1.py on that code) still verify, and the store takes new entries."""
from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector import attest
from collector.reports.verify import verify_bundle
from collector.store.sqlite import SqliteStore
from rules.catalog import default_catalog

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "stores" / "format1"


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
    from collector.deepverify import verify_derived

    with old_store.derived_rows() as tables:
        rep = verify_derived(tables, list(default_catalog()))
    assert rep.ok, [d.text() for d in rep.differences[:5]]
    assert rep.checked["exceptions"] == rep.checked["attestations"] == 1
