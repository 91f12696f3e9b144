"""`store backup` and `store restore` with a PostgreSQL `--db`: the same backup folder an SQLite store
makes, restored into either backend with the same ledger, taken while the store is written."""
from __future__ import annotations

import json
import sqlite3
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from collector.cli.main import build_app
from collector.store.backup import read_manifest
from collector.store.postgres import PostgresStore
from collector.store.sqlite import SqliteStore
from rules.model import Observation
from tests.collector.store.test_transfer import assert_same_rows

runner = CliRunner()


def cli(*args: str) -> tuple[int, dict, str]:
    r = runner.invoke(build_app(), [*args, "--json"])
    return r.exit_code, (json.loads(r.stdout) if r.exit_code == 0 else {}), r.output


@pytest.fixture
def pg_history(history, postgres_url) -> str:
    """The simulated site's day (test_transfer's `history`) in a PostgreSQL store."""
    code, _, out = cli("store", "copy", "--from", str(history), "--to", postgres_url)
    assert code == 0, out
    return postgres_url


def _head(db: str) -> tuple[int, str]:
    """The ledger head of a store that verifies (verifying seals its open batches)."""
    code, verified, out = cli("ledger", "verify", "--db", db)
    assert code == 0 and verified["ok"], out
    query = "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1"
    if db.startswith("postgresql://"):
        with psycopg.connect(db) as pg:
            row = pg.execute(query).fetchone()
    else:
        conn = sqlite3.connect(f"{Path(db).resolve().as_uri()}?mode=ro", uri=True)
        row = conn.execute(query).fetchone()
        conn.close()
    assert row is not None and row[0] == verified["head_seq"]
    return row[0], row[1]


def test_backup_of_a_postgresql_store_restores_into_sqlite_and_postgresql_with_the_same_ledger(
        pg_history, postgres_server, history, tmp_path):
    out = tmp_path / "backup"
    code, manifest, text = cli("store", "backup", str(out), "--db", pg_history)
    assert code == 0, text
    assert (manifest["ledger_head_seq"], manifest["ledger_head_hash"]) == _head(pg_history)
    assert manifest["evidence_files"] >= 1 and not manifest["private_key"]
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert "store.db" in names and "site-key.pub.pem" in names and "manifest.json" in names
    assert not [n for n in names if n.endswith(("-wal", "-shm", ".pem")) and n != "site-key.pub.pem"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    conn = sqlite3.connect(f"{(out / 'store.db').as_uri()}?mode=ro", uri=True)
    assert conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'copy.%'").fetchone()[0] == 0
    conn.close()

    back, again = tmp_path / "elsewhere" / "back.db", postgres_server.new_database()
    code, restored, text = cli("store", "restore", str(out), "--db", str(back))
    assert code == 0, text
    code, restored_pg, text = cli("store", "restore", str(out), "--db", again)
    assert code == 0, text
    assert "no private site key" not in text  # the key that signed it signs on (CLAUSEWATCH_SITE_KEY)
    for db in (str(back), again):
        code, verified, text = cli("ledger", "verify", "--deep", "--db", db)
        assert code == 0 and verified["deep"]["checked"]["findings"] > 0, text
        assert verified["evidence_checked"] == manifest["evidence_files"]
        assert _head(db) == (manifest["ledger_head_seq"], manifest["ledger_head_hash"])
    read_manifest(out)  # the restores read the folder in place and changed none of its bytes
    assert_same_rows(history, back)
    postgres_server.drop_database(again)


def test_a_backup_of_an_sqlite_store_restores_into_postgresql(history, postgres_url, tmp_path):
    out = tmp_path / "backup"
    code, manifest, text = cli("store", "backup", str(out), "--db", str(history))
    assert code == 0, text
    code, _, text = cli("store", "restore", str(out), "--db", postgres_url)
    assert code == 0, text
    assert _head(postgres_url) == (manifest["ledger_head_seq"], manifest["ledger_head_hash"])


def test_restore_into_a_database_holding_a_store_is_refused_and_changes_nothing(pg_history, history, tmp_path):
    out = tmp_path / "backup"
    assert cli("store", "backup", str(out), "--db", str(history))[0] == 0
    other = SqliteStore(tmp_path / "other.db")  # another site: another first ledger entry
    other.checkpoint()
    other.close()
    other_out = tmp_path / "other-backup"
    assert cli("store", "backup", str(other_out), "--db", str(tmp_path / "other.db"))[0] == 0
    before = _head(pg_history)
    code, _, text = cli("store", "restore", str(other_out), "--db", pg_history)
    assert code == 2 and "store restore" in text and "Traceback" not in text, text
    assert _head(pg_history) == before


def test_the_private_key_goes_where_the_postgresql_store_reads_it_and_another_is_never_replaced(
        pg_history, postgres_server, tmp_path, monkeypatch):
    out = tmp_path / "backup"
    code, manifest, text = cli("store", "backup", str(out), "--db", pg_history, "--include-key")
    assert code == 0 and manifest["private_key"], text
    assert stat.S_IMODE((out / "site-key.pem").stat().st_mode) == 0o600
    pubkey = runner.invoke(build_app(), ["ledger", "pubkey", "--db", pg_history]).stdout

    elsewhere = tmp_path / "elsewhere" / "site-key.pem"
    monkeypatch.setenv("CLAUSEWATCH_SITE_KEY", str(elsewhere))
    target = postgres_server.new_database()
    code, _, text = cli("store", "restore", str(out), "--db", target)
    assert code == 0 and "no private site key" not in text, text
    assert elsewhere.read_bytes() == (out / "site-key.pem").read_bytes()
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600
    assert runner.invoke(build_app(), ["ledger", "pubkey", "--db", target]).stdout == pubkey

    taken = tmp_path / "taken" / "site-key.pem"
    taken.parent.mkdir()
    taken.write_bytes(b"not the backup's key")
    monkeypatch.setenv("CLAUSEWATCH_SITE_KEY", str(taken))
    third = postgres_server.new_database()
    code, _, text = cli("store", "restore", str(out), "--db", third)
    assert code == 2 and "holds another site key" in text, text
    assert taken.read_bytes() == b"not the backup's key"
    for url in (target, third):
        postgres_server.drop_database(url)


def test_backup_while_the_store_is_written_restores_to_the_head_its_manifest_names(
        pg_history, postgres_server, tmp_path):
    writer = PostgresStore(pg_history, site_key=None)
    stop, errors = threading.Event(), []

    def write() -> None:
        n = 0
        try:
            while not stop.is_set():
                n += 1
                writer.ingest([Observation(source="agent", subject_kind="host", subject_id="h-live",
                                           kind="usb.devices", observed_at=datetime.now(UTC),
                                           payload={"enforcement": "sysfs", "devices": [], "n": n})],
                              actor="agent:h-live")
        except Exception as e:  # noqa: BLE001 - reported by the test below
            errors.append(repr(e))

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        out = tmp_path / "backup"
        code, manifest, text = cli("store", "backup", str(out), "--db", pg_history)
        assert code == 0, text
    finally:
        stop.set()
        thread.join(30)
        writer.close()
    assert not errors
    target = postgres_server.new_database()
    assert cli("store", "restore", str(out), "--db", target)[0] == 0
    assert _head(target) == (manifest["ledger_head_seq"], manifest["ledger_head_hash"])
    assert _head(pg_history)[0] > manifest["ledger_head_seq"]  # the writer went on after the backup
    postgres_server.drop_database(target)


def test_backup_of_an_unreachable_database_exits_2_and_leaves_nothing(tmp_path):
    out = tmp_path / "backup"
    code, _, text = cli("store", "backup", str(out), "--db", "postgresql://cw@127.0.0.1:1/none")
    assert code == 2 and "cannot" in text and "Traceback" not in text, text
    assert not list(tmp_path.iterdir())
