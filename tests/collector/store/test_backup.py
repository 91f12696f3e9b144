"""`store backup` and `store restore` on real stores: what a backup holds, what restore refuses."""
from __future__ import annotations

import json
import stat
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from collector.cli.main import build_app
from collector.store.sqlite import SqliteStore
from rules.model import Observation


def _run(*args: str):
    return CliRunner().invoke(build_app(), list(args))


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "site" / "cw.db"
    store = SqliteStore(path)
    ref = store.put_evidence(b"%PDF-1.4 fire extinguisher register\n", "register.pdf", "application/pdf")
    store.ingest([Observation(source="cli", subject_kind="site", subject_id="default", kind="evidence.manual",
                              observed_at=datetime.now(UTC), payload={"control": "X"}, evidence=[ref])],
                 actor="cli")
    store.checkpoint()
    store.close()
    return path


def test_backup_holds_store_evidence_and_public_key_but_not_the_private_key(db, tmp_path):
    out = tmp_path / "backup"
    r = _run("store", "backup", str(out), "--db", str(db), "--json")
    assert r.exit_code == 0, r.output
    manifest = json.loads(r.stdout)
    assert manifest["evidence_files"] == 1 and manifest["ledger_head_seq"] >= 1
    assert (out / "store.db").is_file() and (out / "site-key.pub.pem").read_text().startswith("-----BEGIN PUBLIC")
    assert not (out / "site-key.pem").exists()
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert len(list((out / "evidence").rglob("*"))) == 2  # one folder, one file
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_restore_verifies_and_keeps_the_key_when_included(db, tmp_path):
    out, restored = tmp_path / "backup", tmp_path / "elsewhere" / "cw.db"
    assert _run("store", "backup", str(out), "--db", str(db), "--include-key").exit_code == 0
    assert stat.S_IMODE((out / "site-key.pem").stat().st_mode) == 0o600
    r = _run("store", "restore", str(out), "--db", str(restored))
    assert r.exit_code == 0, r.output
    assert stat.S_IMODE((restored.parent / "cw.site-key.pem").stat().st_mode) == 0o600
    r = _run("ledger", "verify", "--db", str(restored), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["evidence_checked"] == 1
    assert _run("ledger", "pubkey", "--db", str(restored)).stdout == _run("ledger", "pubkey", "--db", str(db)).stdout


def test_restore_without_the_private_key_still_verifies(db, tmp_path):
    out, restored = tmp_path / "backup", tmp_path / "elsewhere" / "cw.db"
    assert _run("store", "backup", str(out), "--db", str(db)).exit_code == 0
    r = _run("store", "restore", str(out), "--db", str(restored))
    assert r.exit_code == 0 and "no private site key" in r.output
    assert _run("ledger", "verify", "--db", str(restored)).exit_code == 0


@pytest.mark.parametrize("existing", ["cw.db", "cw.evidence", "cw.site-key.pem"])
def test_restore_refuses_an_existing_store(db, tmp_path, existing):
    out, place = tmp_path / "backup", tmp_path / "taken"
    assert _run("store", "backup", str(out), "--db", str(db)).exit_code == 0
    place.mkdir()
    (place / existing).write_text("mine")
    r = _run("store", "restore", str(out), "--db", str(place / "cw.db"))
    assert r.exit_code == 2 and "already exists" in r.output
    assert sorted(p.name for p in place.iterdir()) == [existing]
    assert (place / existing).read_text() == "mine"


def test_backup_refuses_an_existing_out_and_restore_a_changed_backup(db, tmp_path):
    out = tmp_path / "backup"
    out.mkdir()
    r = _run("store", "backup", str(out), "--db", str(db))
    assert r.exit_code == 2 and "already exists" in r.output
    out.rmdir()
    assert _run("store", "backup", str(out), "--db", str(db)).exit_code == 0
    [evidence] = [p for p in (out / "evidence").rglob("*") if p.is_file()]
    evidence.write_bytes(b"forged")
    r = _run("store", "restore", str(out), "--db", str(tmp_path / "r" / "cw.db"))
    assert r.exit_code == 2 and str(evidence) in r.output and "changed" in r.output
    assert not (tmp_path / "r" / "cw.db").exists()


_WRONG_TYPES = ('{"format": 1, "taken_at": "", "schema_version": "8", "ledger_head_seq": 1, "ledger_head_hash": null,'
                ' "evidence_files": 0, "private_key": false, "sha256": {}}')


@pytest.mark.parametrize("content", [None, "{not json", "[]", '{"format": 99}', _WRONG_TYPES])
def test_restore_of_something_that_is_not_a_backup_exits_2(tmp_path, content):
    folder = tmp_path / "in"
    folder.mkdir()
    if content is not None:
        (folder / "manifest.json").write_text(content)
    r = _run("store", "restore", str(folder), "--db", str(tmp_path / "r" / "cw.db"))
    assert r.exit_code == 2 and str(folder) in r.output
    assert "Traceback" not in r.output


def test_restore_refuses_a_file_slipped_into_the_backup(db, tmp_path):
    out = tmp_path / "backup"
    assert _run("store", "backup", str(out), "--db", str(db)).exit_code == 0
    (out / "site-key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    r = _run("store", "restore", str(out), "--db", str(tmp_path / "r" / "cw.db"))
    assert r.exit_code == 2 and "site-key.pem" in r.output and "not part of the backup" in r.output
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_backup_that_cannot_be_written_exits_2_and_leaves_nothing(db, tmp_path):
    before = sorted(tmp_path.iterdir())
    r = _run("store", "backup", str(tmp_path / ("b" * 300)), "--db", str(db))  # a name too long for the disk
    assert r.exit_code == 2 and "cannot write the backup" in r.output
    assert sorted(tmp_path.iterdir()) == before
    r = _run("store", "backup", str(db / "inside-a-file"), "--db", str(db))
    assert r.exit_code == 2 and "no such folder" in r.output


def test_names_too_long_exit_2(db, tmp_path):
    long = str(tmp_path / ("x" * 300))
    for args in (["store", "restore", long, "--db", str(tmp_path / "r.db")], ["store", "stats", "--db", long],
                 ["store", "backup", str(tmp_path / "b"), "--db", long]):
        r = _run(*args)
        assert r.exit_code == 2 and "File name too long" in r.output, args


def test_include_key_without_a_key_exits_2_and_leaves_nothing(db, tmp_path):
    (db.parent / "cw.site-key.pem").unlink()
    r = _run("store", "backup", str(tmp_path / "b"), "--db", str(db), "--include-key")
    assert r.exit_code == 2 and "no site key to include" in r.output
    assert not (tmp_path / "b").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_batch_stored_between_the_backups_seal_and_its_copy_is_sealed_in_the_copy(db, tmp_path, monkeypatch):
    """The service ingests on while a backup runs: a batch it stores after the backup sealed the live store
    but before the pages are copied arrives unsealed in the copy; the backup seals it there, so the manifest
    names the head a restore has, and the restore verifies."""
    import collector.store.backup as backup

    live = SqliteStore(db)
    real_copy = backup.copy_database

    def copy_after_one_more_batch(src, dest):
        live.ingest([Observation(source="agent:h1", subject_kind="host", subject_id="h1", kind="usb.devices",
                                 observed_at=datetime.now(UTC), payload={"devices": []})], actor="agent:h1")
        assert live.unsealed_batches() == 1
        real_copy(src, dest)

    monkeypatch.setattr(backup, "copy_database", copy_after_one_more_batch)
    out, restored = tmp_path / "backup", tmp_path / "elsewhere" / "cw.db"
    try:
        r = _run("store", "backup", str(out), "--db", str(db), "--json")
    finally:
        live.close()
    assert r.exit_code == 0, r.output
    manifest = json.loads(r.stdout)
    assert _run("store", "restore", str(out), "--db", str(restored)).exit_code == 0
    r = _run("ledger", "verify", "--db", str(restored), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["head_seq"] == manifest["ledger_head_seq"]
