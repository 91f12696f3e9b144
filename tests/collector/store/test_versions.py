"""A store newer than the program is refused with both versions named; an older one is copied aside
before it is migrated."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from collector.store.schema import MIGRATIONS, SCHEMA_VERSION, SchemaTooNew
from collector.store.sqlite import SqliteStore

pytestmark = pytest.mark.sqlite_file  # schema versions of the SQLite file and its copy aside before a migration

BIN = Path(sys.executable).parent / "clausewatch"


def _store_at_version(path: Path, version: int) -> None:
    """A store holding an account, as a program of schema `version` wrote it."""
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:min(version, SCHEMA_VERSION)]:
        conn.executescript(script)
    conn.execute("INSERT INTO users (name, role, password_hash, created_at) VALUES ('admin', 'admin', 'x', 0)")
    conn.commit()
    conn.execute(f"PRAGMA user_version = {version}")  # beyond ours: as a later program would mark it
    conn.close()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=120, env=os.environ.copy())


def test_the_store_layer_refuses_a_newer_schema_and_changes_nothing(tmp_path):
    path = tmp_path / "cw.db"
    _store_at_version(path, SCHEMA_VERSION + 1)
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew) as e:
        SqliteStore(path)
    assert f"version {SCHEMA_VERSION + 1}" in str(e.value) and f"version {SCHEMA_VERSION}" in str(e.value)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.bak"))


@pytest.mark.parametrize("command", [
    pytest.param(["ledger", "verify"], id="ledger-verify"),
    pytest.param(["serve", "--port", "0"], id="serve"),
])
def test_commands_and_the_service_exit_2_naming_both_versions(tmp_path, command):
    path = tmp_path / "cw.db"
    _store_at_version(path, SCHEMA_VERSION + 3)
    r = _cli(*command, "--db", str(path))
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: ")
    assert f"schema is version {SCHEMA_VERSION + 3}" in r.stderr
    assert f"this program's version {SCHEMA_VERSION}" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_migration_copies_the_store_aside_first(tmp_path, capsys):
    path = tmp_path / "cw.db"
    _store_at_version(path, len(MIGRATIONS) - 1)
    store = SqliteStore(path)
    try:
        assert store.read.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        store.close()
    [backup] = tmp_path.glob(f"cw.db.v{SCHEMA_VERSION - 1}-*.bak")
    assert str(backup) in capsys.readouterr().err
    copy = sqlite3.connect(backup)
    try:
        assert copy.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION - 1
        assert copy.execute("SELECT name FROM users").fetchall() == [("admin",)]
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        copy.close()
    assert not list(tmp_path.glob("*.partial")) and not Path(str(backup) + "-wal").exists()


def test_a_new_or_current_store_is_not_copied(tmp_path):
    SqliteStore(tmp_path / "cw.db").close()
    SqliteStore(tmp_path / "cw.db").close()
    assert not list(tmp_path.glob("*.bak"))
