"""What only the PostgreSQL store has: several stores (collectors) on one database, evidence bytes in
the database, its own schema version, and the refusals of `--db postgresql://...`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from collector.proof.sitekey import SiteKey
from collector.store.base import FindingChange, StoredFinding
from collector.store.integrity import EvidenceAltered
from collector.store.pgschema import PG_SCHEMA_VERSION, PgSchemaTooNew
from collector.store.postgres import PostgresStore, redacted
from collector.store.sqlite_parts import insert_event
from rules.model import Observation

BIN = Path(sys.executable).parent / "clausewatch"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def key(tmp_path: Path) -> SiteKey:
    return SiteKey.load_or_create(tmp_path / "site-key.pem")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=120, env=os.environ.copy())


def _obs(writer: int, i: int) -> Observation:
    return Observation(source="t", subject_kind="host", subject_id=f"h{writer}", kind="usb.devices", key=str(i),
                       observed_at=T0 + timedelta(seconds=i), payload={"writer": writer, "i": i})


def test_two_collectors_writing_at_once_extend_one_chain(postgres_url, key):
    stores = [PostgresStore(postgres_url, site_key=key), PostgresStore(postgres_url, site_key=key)]
    errors: list[BaseException] = []
    numbers: list[int | None] = []

    def write(n: int) -> None:
        try:
            for i in range(15):
                numbers.append(stores[n].ingest([_obs(n, i * 10 + k) for k in range(10)],
                                                actor=f"collector{n}").ledger_seq)
                stores[n].ledger_append("user.action", f"collector{n}", {"i": i})
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors
        report = stores[0].verify_ledger()
        assert report.ok, report.problems
        # 30 actions and one seal of the 30 batches, numbered one after another whichever collector stored them
        assert report.head_seq == 31 and report.observations_checked == 300 and report.batches_checked == 30
        base = stores[0].batch_base()
        assert base is not None and sorted(n or 0 for n in numbers) == list(range(base + 1, base + 31))
        # each sees the other's writes
        assert set(stores[1].latest_all()) == {("host", "h0"), ("host", "h1")}
    finally:
        for s in stores:
            s.close()


def test_evidence_altered_or_missing_in_the_database_is_named(postgres_url, key):
    store = PostgresStore(postgres_url, site_key=key)
    try:
        a, b = store.put_evidence(b"scan one", "a.pdf"), store.put_evidence(b"scan two", "b.pdf")
        assert store.get_evidence(a.sha256) == b"scan one" and store.verify_ledger().ok
        store.read.execute("UPDATE evidence_blobs SET data = ? WHERE sha256 = ?", (b"scan 0ne", a.sha256))
        store.read.execute("DELETE FROM evidence_blobs WHERE sha256 = ?", (b.sha256,))
        texts = [p.text() for p in store.verify_ledger().problems]
        assert any(t.startswith(f"evidence: evidence {a.sha256}: altered") for t in texts), texts
        assert f"evidence: evidence {b.sha256}: missing from evidence_blobs" in texts
        with pytest.raises(EvidenceAltered):
            store.read_evidence(a.sha256)
        assert store.get_evidence(a.sha256) is None and store.get_evidence(b.sha256) is None
    finally:
        store.close()


def test_a_newer_schema_is_refused_and_left_alone(postgres_url, key):
    PostgresStore(postgres_url, site_key=key).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE clausewatch_schema SET version = %s", (PG_SCHEMA_VERSION + 1,))
    with pytest.raises(PgSchemaTooNew) as e:
        PostgresStore(postgres_url, site_key=key)
    assert f"version {PG_SCHEMA_VERSION + 1}" in str(e.value) and f"version {PG_SCHEMA_VERSION};" in str(e.value)
    r = _cli("ledger", "verify", "--db", postgres_url)
    assert r.returncode == 2 and f"schema is version {PG_SCHEMA_VERSION + 1}" in r.stderr, r.stderr
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT version FROM clausewatch_schema").fetchone()[0] == PG_SCHEMA_VERSION + 1


def test_commands_refuse_a_database_without_a_store_and_create_nothing(postgres_url):
    r = _cli("ledger", "verify", "--db", postgres_url)
    assert r.returncode == 2 and "without a clausewatch store" in r.stderr and "Traceback" not in r.stderr
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                            ).fetchone()[0] == 0


def test_an_unreachable_database_is_named_without_its_password(postgres_server):
    url = f"postgresql://cw:secret@127.0.0.1:{postgres_server.port}/no_such_database"
    r = _cli("findings", "--db", url)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert redacted(url) in r.stderr and "secret" not in r.stderr


@pytest.mark.parametrize("db", ["postgresql://", "postgres://", "postgresql:/"])
def test_a_url_without_host_or_database_is_taken_as_one_not_as_a_file(db, tmp_path):
    r = subprocess.run([str(BIN), "store", "stats", "--db", db], capture_output=True, text=True, timeout=120,
                       cwd=tmp_path, env={**os.environ, "PGHOST": "127.0.0.1", "PGPORT": "1"})
    assert r.returncode == 2 and "cannot connect to the database" in r.stderr, r.stderr
    assert "no such store" not in r.stderr
    assert "Traceback" not in r.stderr and not list(tmp_path.iterdir())


def test_store_stats_measure_the_database(postgres_url, key):
    store = PostgresStore(postgres_url, site_key=key)
    try:
        store.ingest([_obs(1, i) for i in range(20)], actor="t", received_at=datetime.now(UTC))
        store.put_evidence(b"x" * 5000, "x.bin")
    finally:
        store.close()
    r = _cli("store", "stats", "--db", postgres_url, "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    tables = {t["name"]: t for t in data["tables"]}
    assert tables["observations"]["rows"] == 20 and tables["observations"]["bytes"] > 0
    assert data["kinds"][0]["kind"] == "usb.devices" and data["kinds"][0]["rows"] == 20
    assert data["days"][-1]["rows"] == 20  # received today
    assert data["evidence_bytes"] > 0 and data["file_bytes"] > 0
    assert data["disk_free_bytes"] is None and data["disk_full_at"] is None  # the server's disk: not seen here
    assert "secret" not in data["db"] and data["db"].startswith("postgresql://")


@pytest.mark.parametrize("table", ["exceptions", "attestations"])
def test_waivers_and_attestations_cannot_be_edited_or_deleted(postgres_url, key, table):
    PostgresStore(postgres_url, site_key=key).close()
    row = {"exceptions": "(control, subject_kind, subject_id, site, reason, owner, approver, created_at, starts_at,"
                         " ends_at, ledger_seq) VALUES ('C', 'host', 'h', 's', 'r', 'o', 'a', 0, 0, 1, 1)",
           "attestations": '(period_start, period_end, "user", created_at, snapshot_hash, body, signature, key_id,'
                           " ledger_seq) VALUES (0, 1, 'u', 0, 'h', 'b', 's', 'k', 1)"}[table]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {table} {row}")
        for change in (f"UPDATE {table} SET created_at = 5", f"DELETE FROM {table}"):
            with pytest.raises(psycopg.errors.RaiseException, match="cannot be"):
                conn.execute(change)
        assert conn.execute(f"SELECT count(*), max(created_at) FROM {table}").fetchone() == (1, 0)


def test_sqlite_style_inserts_get_their_new_id_and_flags_as_integers(postgres_url, key):
    """`cursor.lastrowid` and True/False arguments, as code written for sqlite3 uses them."""
    store = PostgresStore(postgres_url, site_key=key)
    try:
        with store.write() as conn:
            first = conn.execute("INSERT INTO notifications (at, receiver, group_key, status, alerts, attempt, ok,"
                                 " fingerprints) VALUES (?,?,?,?,?,?,?,?)", (0, "r", "g", "firing", 1, 1, True, "[]"))
            second = conn.execute("INSERT INTO notifications (at, receiver, group_key, status, alerts, attempt, ok,"
                                  " fingerprints) VALUES (?,?,?,?,?,?,?,?)", (1, "r", "g", "firing", 1, 2, False, "[]"))
        assert (first.lastrowid, second.lastrowid) == (1, 2)
        assert store.read.execute("SELECT id, ok FROM notifications ORDER BY id").fetchall() == [(1, 1), (2, 0)]
    finally:
        store.close()


@pytest.mark.parametrize("command", [["store", "backup", "OUT"], ["store", "restore", "IN"]])
def test_backup_and_restore_of_a_database_that_cannot_be_reached_exit_2_in_one_line(tmp_path, command):
    r = _cli(*[str(tmp_path / c) if c in ("OUT", "IN") else c for c in command],
             "--db", "postgresql://cw@127.0.0.1:1/clausewatch")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert not list(tmp_path.iterdir())


def test_upserts_of_many_rows_end_as_one_statement_per_row_would(postgres_url, key):
    """Many rows go as one statement from a COPYed table; where two rows update one key, row by row."""
    store = PostgresStore(postgres_url, site_key=key)
    upsert = "INSERT INTO meta VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value"
    try:
        with store.write() as conn:
            conn.executemany(upsert, [(f"u{i}", "first") for i in range(100)])
            conn.executemany(upsert, [(f"u{i}", "second") for i in range(0, 100, 2)] * 2)  # each key twice
            conn.executemany(upsert, [(f"k{i % 50}", str(i)) for i in range(200)])  # the last row per key wins
            conn.executemany("INSERT INTO meta VALUES (?, ?) ON CONFLICT DO NOTHING",
                             [(f"n{i}", "kept") for i in range(100)] + [("n1", "ignored"), ("u1", "ignored")])
        meta = dict(store.read.execute("SELECT key, value FROM meta").fetchall())
        assert [meta[f"u{i}"] for i in range(4)] == ["second", "first", "second", "first"]
        assert (meta["k0"], meta["k49"]) == ("150", "199")
        assert (meta["n1"], meta["n99"], meta["u1"]) == ("kept", "kept", "first")
    finally:
        store.close()


def test_a_batch_of_hundreds_of_repeats_is_stored_once_and_reads_back_as_received(postgres_url, key):
    """Repeats (and the ids and latest rows a batch looks up) go to the database in bulk: a batch sent
    again is all duplicates, and every repeat reads back as the observation received."""
    store = PostgresStore(postgres_url, site_key=key)
    same = {"enforcement": "sysfs", "devices": []}
    batch = [Observation(source="t", subject_kind="host", subject_id=f"h{i % 3}", kind="usb.devices",
                         observed_at=T0 + timedelta(seconds=i), payload=same) for i in range(300)]
    try:
        first = store.ingest(batch, actor="test")
        again = store.ingest(batch, actor="test")
        repeats = store.read.execute("SELECT count(*) FROM observation_repeats").fetchone()[0]
        newest = store.latest_payloads("host", ["usb.devices"])
        report = store.verify_ledger()
    finally:
        store.close()
    assert (first.accepted, again.accepted, again.duplicates) == (300, 0, 300)
    assert repeats == 297  # one full row per host, the rest repeats of it
    assert {h: at for h, kinds in newest.items() for at, _ in kinds.values()} == {
        f"h{h}": (T0 + timedelta(seconds=297 + h)).timestamp() for h in range(3)}
    assert report.ok, report.problems


def test_latest_and_subjects_keep_room_for_updates_in_place(postgres_url, key):
    """Migration 10: `latest` has no index but its primary key, and both tables leave room on their pages,
    so that rewriting a key's row (each batch does) adds no index entry; the rows read as before."""
    store = PostgresStore(postgres_url, site_key=key)
    try:
        for i in range(3):
            store.ingest([_obs(1, 0).model_copy(update={"id": f"00000000-0000-0000-0000-00000000000{i}",
                                                        "observed_at": T0 + timedelta(seconds=i)})], actor="test")
        with psycopg.connect(postgres_url) as conn:
            indexes = [r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'latest'")]
            options = dict(conn.execute("SELECT relname, reloptions FROM pg_class"
                                        " WHERE relname IN ('latest', 'subjects')").fetchall())
        newest = store.latest_for("host", "h1")
    finally:
        store.close()
    assert indexes == ["latest_pkey"]
    assert options == {"latest": ["fillfactor=50"], "subjects": ["fillfactor=50"]}
    assert newest[("usb.devices", "0")].observed_at == T0 + timedelta(seconds=2)


def test_stored_ids_are_found_as_full_rows_and_as_repeats_as_id_key_reads_them(postgres_url, key):
    """One statement finds the ids stored as full rows and those stored as repeats (under their UUID's bytes,
    as repeats.id_key takes them: the lower-case canonical text only)."""
    from collector.store.numbering import stored_ids
    from collector.store.pgconn import PgConnection
    from collector.store.pgreads import stored_ids_any

    store = PostgresStore(postgres_url, site_key=key)
    same = {"enforcement": "sysfs", "devices": []}
    ids = ["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b", "not a uuid at all"]
    try:
        store.ingest([Observation(id=i, source="t", subject_kind="host", subject_id="h1", kind="usb.devices",
                                  observed_at=T0 + timedelta(seconds=n), payload=same) for n, i in enumerate(ids)],
                     actor="test")
        assert store.read.execute("SELECT count(*) FROM observation_repeats").fetchone()[0] == 1  # b
        asked = [*ids, ids[1].upper(), ids[1] + "\n", ids[1] + "\n\n", " " + ids[1],
                 "00000000-0000-4000-8000-0000000000ff", "0000000g-0000-4000-8000-00000000000b"]
        with store._pool.connection() as raw:
            conn = PgConnection(raw, store._catalog)
            assert stored_ids_any(conn, asked) == stored_ids(conn, asked) == set(ids)
            assert stored_ids_any(conn, []) == set()
    finally:
        store.close()


def _wait_until_only(admin: psycopg.Connection) -> None:
    """Until `admin` is the only connection to its database."""
    deadline = time.monotonic() + 20
    while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid()").fetchone()[0]:
        assert time.monotonic() < deadline, "terminated backends still there after 20 s"
        time.sleep(0.02)


def test_pooled_connections_the_server_ended_are_replaced_before_they_are_used(postgres_url, key):
    """The pool checks with a round trip only a connection on which something arrived while it was idle:
    one whose backend was ended (as a restart ends them all) is replaced, and no statement fails."""
    store = PostgresStore(postgres_url, site_key=key)
    try:
        with store._pool.connection() as a, store._pool.connection() as b:  # two idle connections after this
            assert a.execute("SELECT 1").fetchone() == b.execute("SELECT 1").fetchone() == (1,)
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                  " WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
            _wait_until_only(admin)  # the backends are gone, as after a restart (terminating only asks them to go)
        assert ended >= 2
        for _ in range(4):
            assert store.read.execute("SELECT 1").fetchone() == (1,)
        assert store.ingest([_obs(1, 0)], actor="test").accepted == 1
    finally:
        store.close()


def test_latest_rows_of_keys_read_with_one_are_updated_and_one_gone_meanwhile_is_written_again(postgres_url, key):
    """upsert_latest updates the keys planned with a stored row; should one of those rows be gone by then
    (compaction removes the rows of event keys it drops), every key is upserted instead."""
    from collector.store.batch_plan import KeyState
    from collector.store.pgwrites import upsert_latest

    store = PostgresStore(postgres_url, site_key=key)
    keys = [("host", f"h{i}", "usb.devices", "") for i in range(3)]
    columns = "subject_kind, subject_id, kind, key, obs_rowid, meaning, observed_at, num, repeat_id, repeats"

    def state(n: int) -> KeyState:
        return KeyState(n, bytes([n]) * 16, 100.0 + n, n + 1, bytes([n + 1]) * 16 if n % 2 else None, n)

    try:
        with store.write() as conn:
            upsert_latest(conn, {keys[0]: state(1), keys[1]: state(2)})  # none stored yet: inserted
            upsert_latest(conn, {keys[0]: state(3), keys[1]: state(4)}, {keys[0], keys[1]})  # both updated
            conn.execute("DELETE FROM latest WHERE subject_id = 'h1'")
            upsert_latest(conn, {keys[0]: state(5), keys[1]: state(6), keys[2]: state(7)}, {keys[0], keys[1]})
        rows = store.read.execute(f"SELECT {columns} FROM latest ORDER BY subject_id").fetchall()
    finally:
        store.close()
    assert [(tuple(r[:4]), r[4], bytes(r[5]), r[6], r[7], r[8] and bytes(r[8]), r[9]) for r in rows] == [
        (k, st.head, st.meaning, st.as_of, st.num, st.repeat_id, st.repeats)
        for k, st in zip(keys, (state(5), state(6), state(7)), strict=True)]


def test_subjects_known_stored_are_updated_only_when_seen_later_and_one_missing_is_written_after_all(postgres_url,
                                                                                                        key):
    """upsert_subjects updates the subjects of keys planned with a `latest` row (a later last_seen only);
    should one of them have no row, every subject is upserted instead, to the same rows."""
    from collector.store.pgwrites import upsert_subjects

    store = PostgresStore(postgres_url, site_key=key)
    subject = [("host", f"h{i}") for i in range(4)]

    def rows() -> list[tuple[object, ...]]:
        return [tuple(r) for r in store.read.execute(
            "SELECT kind, id, site, first_seen, last_seen, xmin::text FROM subjects ORDER BY id").fetchall()]

    try:
        with store.write() as conn:
            upsert_subjects(conn, {subject[0]: ("default", 10.0), subject[1]: ("default", 10.0)})
        before = rows()
        with store.write() as conn:  # h0 later, h1 earlier (no new row version), h2 new
            upsert_subjects(conn, {subject[0]: ("s2", 20.0), subject[1]: ("s2", 5.0), subject[2]: ("s2", 7.0)},
                            {subject[0], subject[1]})
        after = rows()
        with store.write() as conn:  # h3 said to be stored, but is not: every subject upserted
            upsert_subjects(conn, {subject[0]: ("s3", 30.0), subject[3]: ("s3", 8.0), subject[2]: ("s3", 1.0)},
                            {subject[0], subject[3]})
        last = rows()
    finally:
        store.close()
    assert [r[:5] for r in after] == [("host", "h0", "default", 10.0, 20.0), ("host", "h1", "default", 10.0, 10.0),
                                      ("host", "h2", "s2", 7.0, 7.0)]
    assert after[1][5] == before[1][5]  # h1 not rewritten
    assert [r[:5] for r in last] == [("host", "h0", "default", 10.0, 30.0), ("host", "h1", "default", 10.0, 10.0),
                                     ("host", "h2", "s2", 7.0, 7.0), ("host", "h3", "s3", 8.0, 8.0)]
    assert last[2][5] == after[2][5]


def test_repeats_are_written_the_same_whether_their_bytes_are_built_here_or_by_psycopg(postgres_url, key,
                                                                                     monkeypatch):
    """insert_rows builds a repeat's COPY bytes itself while observation_repeats' columns are of the types
    that encoding writes (as the catalog reads them); were a column changed, psycopg dumps each value to
    the catalog's types instead, into the same rows."""
    from collector.store import pgwrites

    store = PostgresStore(postgres_url, site_key=key)

    def rows(first: int) -> list[tuple[object, ...]]:
        return [(bytes([first + i]) * 16, first + i, 7, 1, 100.5 + i, i if i % 2 else None,
                 b"v" * i if i % 3 else None) for i in range(4)] + [
            (b"short" + bytes([first]), first + 9, 7, 1, 1.25, None, b"")]

    def stored(first: int) -> list[tuple[object, ...]]:
        got = store.read.execute("SELECT id, num, head, batch, observed_at, seq, volatile FROM observation_repeats"
                                 " WHERE num >= ? AND num < ? ORDER BY num", (first, first + 10)).fetchall()
        return [(bytes(r[0]), *r[1:6], r[6] if r[6] is None else bytes(r[6])) for r in got]

    try:
        with store.write() as conn:
            pgwrites.insert_rows(conn, [], rows(0), store._catalog)
        monkeypatch.setattr(pgwrites, "REPEAT_TYPES", ["bytea", "int8", "int8", "int8", "float8", "int8", "text"])
        with store.write() as conn:
            pgwrites.insert_rows(conn, [], rows(100), store._catalog)
        assert stored(0) == rows(0)
        assert stored(100) == rows(100)
    finally:
        store.close()


def test_key_states_read_in_binary_form_are_those_read_as_text(postgres_url, key):
    """key_states_unnest (one statement, rows in binary form) reads each key's `latest` row as
    batch_plan.key_states does: stored and missing keys, fractions of seconds, NULL columns."""
    from collector.store.batch_plan import key_states
    from collector.store.pgconn import PgConnection
    from collector.store.pgreads import key_states_unnest

    store = PostgresStore(postgres_url, site_key=key)
    try:
        store.ingest([Observation(source="t", subject_kind="host", subject_id=f"h{i % 2}", kind="usb.devices", key=k,
                                  observed_at=T0 + timedelta(seconds=i / 7), payload={"devices": [], "n": i // 7})
                      for i in range(8) for k in ("", "名 2")], actor="test")
        keys = [("host", f"h{h}", "usb.devices", k) for h in range(3) for k in ("", "名 2", "x")]
        with store._pool.connection() as raw:
            conn = PgConnection(raw, store._catalog)
            binary, text = key_states_unnest(conn, keys), key_states(conn, keys)
    finally:
        store.close()
    assert binary == text and sum(st is not None for st in binary.values()) == 4
    assert any(st is not None and st.repeat_id is None for st in binary.values())


def _finding(control: str, host: str, status: str) -> FindingChange:
    return FindingChange(StoredFinding(control, "host", host, "hq", status, T0, T0, {"v": 1}, "原因", "why", [],
                                       "high"), None, True)


def _index_scans(url: str, names: Sequence[str]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {r[0]: int(r[1]) for r in conn.execute(
            "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE indexrelname = ANY(%s)", (list(names),))}


def test_status_and_type_lookups_read_indexes_of_only_the_rows_they_ask_for(postgres_url, key):
    """Migrations 11 to 13: findings and intervals are indexed by status only where failing or unknown, events by
    type only where not a status change, and neither fi_time nor events_ts is left, a subject's intervals by the
    subject; the store's statements that look rows up by status, by type, by subject or for a page of recent events
    still find them through those indexes (table scans forbidden, so a statement that could not use its index would
    scan another and fail the count), with their arguments as placeholders."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE {postgres_url.rsplit('/', 1)[1]} SET enable_seqscan = off")
    store = PostgresStore(postgres_url, site_key=key)
    try:
        store.record_findings([_finding("C1", "h1", "fail"), _finding("C1", "h2", "pass"),
                               _finding("C2", "h1", "unknown")], T0)
        later = T0 + timedelta(minutes=1)
        store.record_findings([FindingChange(_finding("C1", "h2", "fail").finding, "pass", True)], later)
        with store.write() as conn:
            insert_event(conn, T0.timestamp(), "evidence.expiring", ("host", "h1"), "hq", "evidence x for C1; r", 1,
                         control="C1")
            insert_event(conn, later.timestamp() + 1, "alert.acked", ("host", "h1"), "hq", "acked", 1, control="C1")
        partial = ["findings_failing", "fi_failing_end", "events_other_type_ts", "events_changes", "fi_of_subject"]
        before = _index_scans(postgres_url, partial)
        failing = sorted((f.subject_id, f.status) for f in store.findings_in(statuses=["fail", "unknown"]))
        spans = store.status_spans("fail", T0.timestamp() - 86400, T0.timestamp() + 1)
        span_counts = store.status_span_counts("unknown", [T0.timestamp() - 86400, T0.timestamp() + 1])
        reminders = store.recent_events("evidence.expiring", 10)
        overall = store.host_statuses(["C1"], ["h1", "h2"])[1]
        recent = [(e.type, e.subject_id) for e in store.events(T0, types=["finding.changed", "alert.acked"])]
        history = [(iv.control, iv.status) for iv in store.intervals(subject=("host", "h1"), start=T0)]
    finally:
        store.close()  # a backend's scans are counted when it ends (else only after it idles a while, by a timer)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
            n > before[i] for i, n in _index_scans(postgres_url, partial).items()):
        time.sleep(0.2)
    after = _index_scans(postgres_url, partial)
    with psycopg.connect(postgres_url) as conn:
        indexes = dict(conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN"
                                    " ('findings', 'finding_intervals', 'events')").fetchall())
    assert failing == [("h1", "fail"), ("h1", "unknown"), ("h2", "fail")]
    assert spans == [("C1", T0.timestamp(), None)] * 2
    assert span_counts == [("C2", 1, 2, 1)]
    assert [r[3] for r in reminders] == ["evidence x for C1; r"]
    assert overall == {"h1": "fail", "h2": "fail"}
    assert recent == [("alert.acked", "h1"), ("finding.changed", "h2")]
    assert history == [("C1", "fail"), ("C2", "unknown")]
    assert all(after[i] > before[i] for i in partial), (before, after)
    assert sorted(indexes) == ["events_changes", "events_other_type_ts", "events_pkey", "fi_failing_end",
                               "fi_of_subject", "fi_subject", "finding_intervals_pkey", "findings_counts",
                               "findings_failing", "findings_pkey"]
    assert "WHERE (status = ANY (ARRAY['fail'::text, 'unknown'::text]))" in indexes["findings_failing"]
    # migration 12: the trends read the spans' controls and starts from it alone
    assert 'INCLUDE (control, start) WHERE (status = ANY' in indexes["fi_failing_end"]
    assert "WHERE (type <> 'finding.changed'::text)" in indexes["events_other_type_ts"]
