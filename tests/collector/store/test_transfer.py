"""`store copy`: a simulated site's history moves SQLite -> PostgreSQL -> SQLite with the same ledger,
an interrupted copy continues, and a destination holding anything else is refused."""
from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector import auth
from collector.cli.main import build_app
from collector.store.retention import load_policy
from collector.store.sqlite import SqliteStore
from collector.store.transfer import copy_store
from rules.catalog import default_catalog

runner = CliRunner()
# the tables whose rows a copy must carry over unchanged (public_keys: the copy adds its own key)
COMPARED = ("observations", "latest", "subjects", "evidence", "findings", "finding_intervals", "ledger",
            "checkpoints", "users", "events", "agent_sequences")


def cli(*args: str) -> tuple[int, dict, str]:
    r = runner.invoke(build_app(), [*args, "--json"])
    return r.exit_code, (json.loads(r.stdout) if r.exit_code == 0 else {}), r.output


def rows_of(store: SqliteStore, table: str) -> list[tuple]:
    return sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                  for r in store.read.execute(f"SELECT * FROM {table}").fetchall())  # noqa: S608


def assert_same_rows(one: Path, other: Path) -> None:
    """The two SQLite stores hold the same rows in every table a copy carries over unchanged."""
    stores = [SqliteStore(one), SqliteStore(other)]
    try:
        for table in COMPARED:
            assert rows_of(stores[0], table) == rows_of(stores[1], table), table
    finally:
        for s in stores:
            s.close()


def test_copy_round_trips_sqlite_postgres_sqlite_with_the_same_ledger(history, postgres_url, tmp_path):
    code, first, out = cli("store", "copy", "--from", str(history), "--to", postgres_url)
    assert code == 0, out
    back = tmp_path / "back.db"
    code, second, out = cli("store", "copy", "--from", postgres_url, "--to", str(back))
    assert code == 0, out
    assert first["ledger_head_hash"] == second["ledger_head_hash"] and first["ledger_head_seq"] > 10
    assert first["evidence_files"] >= 1 and not first["evidence_unreadable"]
    for db in (postgres_url, str(back)):
        code, verified, out = cli("ledger", "verify", "--deep", "--db", db)
        assert code == 0, out
        assert verified["ok"] and verified["head_seq"] == first["ledger_head_seq"], verified
        assert verified["deep"]["checked"]["findings"] > 0  # findings and their history recomputed from the ledger
        assert verified["evidence_checked"] == first["evidence_files"]
    assert_same_rows(history, back)


def test_interrupted_copy_continues_where_it_stopped(history, postgres_url, tmp_path):
    from collector.store.postgres import PostgresStore

    class Interrupted(Exception):
        pass

    observation_chunks = []

    def stop_in_observations(table: str, rows: int) -> None:
        if table == "observations":
            observation_chunks.append(rows)
            if len(observation_chunks) == 2:
                raise Interrupted

    src, dst = SqliteStore(history), PostgresStore(postgres_url)
    try:
        total, head = src.count_observations(), src.ledger.last_seq
        full_total = src.read.execute("SELECT count(*) FROM observations").fetchone()[0]
        with pytest.raises(Interrupted):
            copy_store(src, dst, src_name="site", dst_name="pg", chunk_rows=20, on_chunk=stop_in_observations)
        # two chunks of full rows committed (after every repeat: its table sorts first), the rest not begun
        full = dst.read.execute("SELECT count(*) FROM observations").fetchone()[0]
        assert full == 40 and dst.count_observations() < total
    finally:
        src.close()
        dst.close()
    code, report, out = cli("store", "copy", "--from", str(history), "--to", postgres_url)
    assert code == 0, out
    assert report["resumed"] and report["rows"]["observations"] == full_total - 40  # continued, not redone
    assert report["rows"]["ledger"] == 0  # the ledger had gone over whole before the interruption
    code, verified, out = cli("ledger", "verify", "--db", postgres_url)
    assert code == 0 and verified["ok"] and verified["head_seq"] == head == report["ledger_head_seq"], out
    assert verified["observations_checked"] == total


def test_a_copy_run_again_after_the_source_was_compacted_drops_what_it_dropped_and_verifies(
        history, postgres_url, tmp_path):
    code, first, out = cli("store", "copy", "--from", str(history), "--to", postgres_url)
    assert code == 0 and not first["dropped"], out
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()  # every raw row beyond its window then
    code, compacted, out = cli("store", "compact", "--keep-raw-days", "1", "--now", later, "--db", str(history))
    assert code == 0 and compacted["dropped"] > 0, out
    code, again, out = cli("store", "copy", "--from", str(history), "--to", postgres_url)
    assert code == 0 and again["resumed"], out
    assert again["dropped"]["observations"] > 0 and again["ledger_head_seq"] > first["ledger_head_seq"]
    code, verified, out = cli("ledger", "verify", "--deep", "--db", postgres_url)
    assert code == 0 and verified["ok"], out
    back = tmp_path / "back.db"
    assert cli("store", "copy", "--from", postgres_url, "--to", str(back))[0] == 0
    assert_same_rows(history, back)  # what the source holds now, no more


def test_copies_read_and_drop_a_few_rows_at_a_time_end_as_whole_ones(history, postgres_url, tmp_path):
    """Chunks of three rows: every table is read after the last key of the chunk before, in the source's
    order of its keys, and a copy run again after a compaction drops in chunks too."""
    from collector.store.postgres import PostgresStore

    def copy(src, dst) -> dict:
        return copy_store(src, dst, src_name="src", dst_name="dst", chunk_rows=3).as_dict()

    source, target = SqliteStore(history), PostgresStore(postgres_url)
    try:
        copy(source, target)
        later = datetime.now(UTC) + timedelta(days=30)
        source.compact(load_policy().with_raw_days(1), list(default_catalog()), later, actor="test")
        again = copy(source, target)
        assert again["resumed"] and sum(again["dropped"].values()) > 0
        assert target.verify_ledger().ok
        back = SqliteStore(tmp_path / "back.db")
        try:
            copy(target, back)
        finally:
            back.close()
    finally:
        source.close()
        target.close()
    assert_same_rows(history, tmp_path / "back.db")


def test_destination_holding_another_store_is_refused(history, tmp_path, postgres_url):
    other = tmp_path / "other.db"
    store = SqliteStore(other)
    auth.add_user(store, "admin", "admin", "a long enough password 2", actor="test")
    store.close()
    code, _, out = cli("store", "copy", "--from", str(history), "--to", str(other))
    assert code == 2 and f"{other}: not empty" in out
    code, _, out = cli("store", "copy", "--from", str(history), "--to", postgres_url)
    assert code == 0, out
    code, _, out = cli("store", "copy", "--from", str(other), "--to", postgres_url)
    assert code == 2 and "a copy of another store" in out and "127.0.0.1" in out
    assert sqlite3.connect(other).execute("SELECT count(*) FROM ledger").fetchone()[0] == 1  # untouched


def test_a_source_table_the_destination_lacks_is_refused_before_anything_is_written(history, postgres_url):
    conn = sqlite3.connect(history)  # as a newer program's store would hold it
    conn.execute("CREATE TABLE newer_rows (id INTEGER PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO newer_rows VALUES (1, 'x')")
    conn.commit()
    conn.close()
    code, _, out = cli("store", "copy", "--from", str(history), "--to", postgres_url)
    assert code == 2 and "has no table newer_rows" in out, out
    from collector.store.postgres import PostgresStore

    dst = PostgresStore(postgres_url)
    try:
        assert dst.get_meta("copy.source") is None and dst.ledger.last_seq == 0  # neither claimed nor begun
    finally:
        dst.close()
