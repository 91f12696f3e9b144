"""The server store: the same tables and SQL as the embedded one, on PostgreSQL, for several
collectors at once (docs/postgresql.md).

It is the SQLite store with other connections: every query and every module mixed into
SqliteStore runs here through collector/store/pgconn.py, which rewrites the SQL where the two
dialects differ. What differs in kind lives here: a connection pool, migrations of its own, one
writer at a time across all collectors (an advisory lock held by each write transaction, so the
ledger stays one chain), evidence bytes in the database.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg_pool import PoolTimeout

from collector.inputs import StoreOpenError
from collector.proof.ledger import Problem, VerifyReport
from collector.proof.sitekey import SiteKey
from collector.store.drafts import DraftPolicy
from collector.store.integrity import EvidenceAltered, is_sha256_hex
from collector.store.ledger_table import Ledger
from collector.store.pgconn import PgCatalog, PgConnection, PooledReader, StorePool, configure
from collector.store.pgfindings import finding_rows_unnest, replace_findings_copying_new
from collector.store.pgreads import (
    key_states_unnest,
    kind_page_lateral,
    payload_means_query,
    span_counts_bucketed,
    stored_ids_any,
)
from collector.store.pgschema import WRITE_LOCK_KEY, migrate
from collector.store.pgstats import measure_database
from collector.store.pgwrites import insert_rows, upsert_latest, upsert_subjects
from collector.store.repeats import Heads
from collector.store.sqlite import SqliteStore
from collector.store.stats import StoreStats

log = logging.getLogger(__name__)
DatabaseError = psycopg.Error  # what the database server refused, for callers that do not import psycopg
# the site key of the default SQLite store, so that moving it to PostgreSQL keeps signing with it
DEFAULT_SITE_KEY = "var/clausewatch.site-key.pem"
POOL_MAX = 20  # connections per collector: the web's threads read, one writes at a time
# how long a request waits for a connection before answering 503: short, since while the database is
# away every request waits this long (below an agent's default 10 s timeout), and agents retry anyway
POOL_WAIT_S = 3.0
RECONNECT_GIVE_UP_S = 30.0  # a failed reconnection is given up after this; the next request starts another


def redacted(url: str) -> str:
    """The URL with its password left out, for messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def site_key_path() -> Path:
    return Path(os.environ.get("CLAUSEWATCH_SITE_KEY", DEFAULT_SITE_KEY))


class PostgresStore(SqliteStore):
    """Thread-safe; several processes on one database extend one ledger chain."""

    _payload_means_query = staticmethod(payload_means_query)
    _stored_ids = staticmethod(stored_ids_any)
    _key_states = staticmethod(key_states_unnest)
    _kind_page = staticmethod(kind_page_lateral)
    _finding_rows_of = staticmethod(finding_rows_unnest)
    _replace_findings = staticmethod(replace_findings_copying_new)
    _span_counts = staticmethod(span_counts_bucketed)
    # the engine's writer waits on the server about 25 times per part; with the interpreter's 5 ms it took
    # the interpreter back from the judging thread up to 5 ms late each time (collector/part_recorder.py)
    record_switch_s = 0.0005
    _chains_ahead = True  # a part's ledger rows made while the part before is written (Ledger.chain_ahead)
    _upsert_latest = staticmethod(upsert_latest)
    _upsert_subjects = staticmethod(upsert_subjects)
    _by_code_point = ' COLLATE "C"'  # the database's own collation may order by language
    _changes_index = ""  # its planner weighs the indexes by their statistics
    _holds_needle = "position(? in text) > 0"  # bytes in bytes (PostgreSQL has no instr)

    def __init__(self, url: str, *, site_key: SiteKey | None = None, pool_max: int = POOL_MAX, create: bool = True):
        self.url, self.where = url, redacted(url)
        self._local = threading.local()
        self._lock = threading.RLock()
        self._altered_noted: set[tuple[str, str]] = set()
        self.max_bytes = None  # the database's own limits hold
        self._received: dict[int, float] = {}
        self._heads: Heads = {}
        self._drafts = DraftPolicy()  # batches read and planned before the writers' lock, unless it says not
        self._pool = open_pool(url, pool_max)
        try:
            self._open(site_key, create)
        except BaseException:
            self._pool.close()
            raise

    def _insert_rows(self, conn: sqlite3.Connection, full: list[tuple[Any, ...]],
                     repeats: list[tuple[Any, ...]]) -> None:
        """A batch's rows by binary COPY, of the column types this store's catalog read once."""
        insert_rows(conn, full, repeats, self._catalog)

    def _open(self, site_key: SiteKey | None, create: bool) -> None:
        with self._pool.connection() as conn:
            migrate(conn, self.where, create=create)
        self._catalog = PgCatalog(self._pool)
        self._reader = PooledReader(self._pool, self._catalog)
        with self._pool.connection() as conn:
            self.ledger = Ledger(cast(sqlite3.Connection, PgConnection(conn, self._catalog)))
        self.site_key = site_key or SiteKey.load_or_create(site_key_path())
        with self.write() as wconn:
            wconn.execute("INSERT OR IGNORE INTO public_keys VALUES (?, ?, ?)",
                          (self.site_key.key_id, self.site_key.public_pem().decode(), datetime.now(UTC).timestamp()))
        self.seal_batches()  # what a collector killed before its seal left

    @property
    def read(self) -> sqlite3.Connection:
        return cast(sqlite3.Connection, self._reader)

    def _store_clock(self, conn: sqlite3.Connection) -> float:
        """The database server's clock: collectors on several machines judge leases by one clock."""
        return float(conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()[0])

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the lock every collector's writer takes: the ledger head is
        read inside it, so appends from all collectors form one chain."""
        with self._lock, self._pool.connection() as raw:
            conn = cast(sqlite3.Connection, PgConnection(raw, self._catalog))
            try:
                with raw.transaction():
                    raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                    self.ledger.rollback_to(conn)
                    yield conn
            except BaseException:
                self._heads.clear()  # rows of the batch undone may be among them
                if not raw.closed and raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    self.ledger.rollback_to(conn)
                raise

    @contextmanager
    def write_unledgered(self) -> Iterator[sqlite3.Connection]:
        """A write transaction without the writers' lock: sign-in counts and notification claims, each one
        atomic statement, need not wait behind ingest."""
        with self._pool.connection() as raw, raw.transaction():
            yield cast(sqlite3.Connection, PgConnection(raw, self._catalog))

    @contextmanager
    def _lease_write(self) -> Iterator[sqlite3.Connection]:
        """A lease's transaction under the writers' lock, without queueing behind this collector's own
        writers first: the database queues lock waiters in turn, so a renewal waits for a write or two,
        not for every batch this collector has in hand."""
        with self._pool.connection() as raw, raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            yield cast(sqlite3.Connection, PgConnection(raw, self._catalog))

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """One pooled connection for a few reads in turn (each statement its own, as `read` has them)."""
        with self._pool.connection() as raw:
            yield cast(sqlite3.Connection, PgConnection(raw, self._catalog))

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A connection that sees one consistent state of the store until the block ends."""
        with self._pool.connection() as raw, raw.transaction():
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield cast(sqlite3.Connection, PgConnection(raw, self._catalog, stream=True))

    _one_state = snapshot  # a page's few statements see one state of the store

    def close(self) -> None:
        self._pool.close()

    def table_layout(self) -> dict[str, tuple[list[str], list[str]]]:
        """table -> (primary key columns, columns), for `store copy`."""
        with self._pool.connection() as conn:
            tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE"
                                                 " table_schema = current_schema() AND table_type = 'BASE TABLE'")]
        return {t: self._catalog(t) for t in tables}

    def measure_size(self, now: datetime, days: int = 7) -> StoreStats:
        """`store stats` of this database (collector/store/pgstats.py)."""
        tables = [t for t in self.table_layout() if t != "clausewatch_schema"]
        with self.snapshot() as conn:
            return measure_database(conn, tables, self.where, now, days)

    def align_identities(self) -> None:
        """After rows were written with their ids (a copy), let the next generated id follow the highest."""
        with self.write() as conn:
            for table, column in conn.execute(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE"
                    " table_schema = current_schema() AND is_identity = 'YES'").fetchall():
                conn.execute(f'SELECT setval(pg_get_serial_sequence(?, ?), coalesce(max("{column}"), 0) + 1, false)'
                             f" FROM {table}", (table, column))

    # -- evidence bytes: in the database, where every collector finds them -----------------------
    def keep_evidence_bytes(self, digest: str, data: bytes) -> None:
        with self._pool.connection() as conn:
            conn.execute("INSERT INTO evidence_blobs VALUES (%s, %s) ON CONFLICT DO NOTHING", (digest, data))

    def checked_evidence_bytes(self, sha256: str) -> bytes | None:
        if not is_sha256_hex(sha256):
            return None
        with self._pool.connection() as conn:
            row = conn.execute("SELECT data FROM evidence_blobs WHERE sha256 = %s", (sha256,)).fetchone()
        if row is None:
            return None
        data = bytes(row[0])
        found = hashlib.sha256(data).hexdigest()
        if found != sha256:
            raise EvidenceAltered(sha256, found)
        return data

    def drop_evidence_bytes(self, digests: Sequence[str]) -> None:
        with self._pool.connection() as conn:
            conn.execute("DELETE FROM evidence_blobs WHERE sha256 = ANY(%s)", (list(digests),))

    def _verify_evidence(self, conn: sqlite3.Connection, report: VerifyReport) -> None:
        """Re-hash every evidence file the store lists, inside the database."""
        for sha256, found in conn.execute(
                "SELECT e.sha256, encode(sha256(b.data), 'hex') FROM evidence e"
                " LEFT JOIN evidence_blobs b ON b.sha256 = e.sha256 ORDER BY e.sha256"):
            report.evidence_checked += 1
            if found is None:
                report.problems.append(Problem(0, "evidence", f"evidence {sha256}: missing from evidence_blobs"))
            elif found != sha256:
                report.problems.append(Problem(0, "evidence", f"evidence {sha256}: altered (its bytes hash to"
                                                              f" {found})"))


def open_pool(url: str, pool_max: int) -> StorePool:
    """A pool whose connections commit each statement unless a transaction is opened; refused with
    one line naming the database when it cannot be reached within 10 s."""
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as e:
        raise StoreOpenError(f"{redacted(url)}: not a PostgreSQL URL ({e})") from None
    try:  # once directly: the pool would retry a wrong name or password until its timeout
        psycopg.connect(url, connect_timeout=10).close()
    except psycopg.Error as e:
        reason = " ".join(str(e).split())
        raise StoreOpenError(f"{redacted(url)}: cannot connect to the database ({reason})") from None
    pool = StorePool(url, min_size=1, max_size=pool_max, kwargs={"autocommit": True}, open=True,
                     name="clausewatch", configure=configure, check=StorePool.check_quietly, timeout=POOL_WAIT_S,
                     reconnect_timeout=RECONNECT_GIVE_UP_S)
    try:
        pool.wait(timeout=10)
    except PoolTimeout:
        pool.close()
        raise StoreOpenError(f"{redacted(url)}: cannot connect to the database (within 10 s)") from None
    return pool
