"""The embedded store: one SQLite file in WAL mode, evidence files beside it by SHA-256."""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector.proof.ledger import VerifyReport, verify_chain, verify_checkpoints
from collector.proof.sitekey import SiteKey, load_public_pem
from collector.store import compaction
from collector.store.accounts import SqliteAccounts
from collector.store.base import StoreFull
from collector.store.batches import seal
from collector.store.compaction import CompactionResult
from collector.store.coordination import SqliteCoordination
from collector.store.copies import migrate_with_backup
from collector.store.derived import SqliteDerived
from collector.store.evidence_files import SqliteEvidence
from collector.store.files import evidence_dir_of, site_key_path_of
from collector.store.findings import SqliteFindings
from collector.store.host_search import SqliteHostSearch
from collector.store.host_table import SqliteHostTable
from collector.store.integrity import verify_batches, verify_tail
from collector.store.leases import SqliteLeases
from collector.store.ledger_rows import SqliteLedgerRows
from collector.store.ledger_table import Ledger, iter_rows
from collector.store.observation_rows import (
    observation_body,
    observation_from_body,
    observation_row,
    readable_observations,
)
from collector.store.observations import SqliteObservations
from collector.store.people import SqlitePeople
from collector.store.repeats import Heads
from collector.store.retention import RetentionPolicy
from collector.store.schema import refuse_newer_file
from collector.store.sizes import SqliteSizes
from collector.store.web_reads import SqliteReadModel
from collector.store.working_state import SqliteWorkingState
from rules.model import Control

log = logging.getLogger(__name__)
# the rows' encoding is part of this module's surface: ingest's preparation processes and the engine use it
__all__ = ["SqliteStore", "observation_body", "observation_from_body", "observation_row", "readable_observations"]


class SqliteStore(SqliteObservations, SqliteEvidence, SqliteFindings, SqliteAccounts, SqliteLedgerRows,
                  SqliteReadModel, SqliteHostTable, SqlitePeople, SqliteWorkingState, SqliteCoordination,
                  SqliteDerived, SqliteSizes, SqliteLeases, SqliteHostSearch):
    """Thread-safe: one writer at a time under a lock, readers on their own connections."""

    def __init__(self, path: str | os.PathLike[str], *, site_key: SiteKey | None = None,
                 max_bytes: int | None = None):
        """`max_bytes`: the database file grows no further (writes raise StoreFull), as on a full disk."""
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.evidence_dir = evidence_dir_of(self.path)
        self._local = threading.local()
        self._lock = threading.RLock()
        self._altered_noted: set[tuple[str, str]] = set()
        self._received: dict[int, float] = {}  # batch -> its arrival time, for repeats
        self._heads: Heads = {}  # full rows that repeats are compared with, read or written by this store
        refuse_newer_file(self.path)
        self._wconn = self._connect()
        migrate_with_backup(self._wconn, self.path, datetime.now(UTC))
        self.ledger = Ledger(self._wconn)
        self.site_key = site_key or SiteKey.load_or_create(site_key_path_of(self.path))
        self._wconn.execute("INSERT OR IGNORE INTO public_keys VALUES (?, ?, ?)",
                            (self.site_key.key_id, self.site_key.public_pem().decode(), datetime.now(UTC).timestamp()))
        self.seal_batches()  # what a process killed before its seal left

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed transaction survives a process crash (kill -9);
        # only an OS crash or power loss can lose the last commits.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages of a busy day stay in memory
        # Copy the write-ahead log back into the database every ~40 MB rather than every 4 MB: the hot
        # index pages that each batch rewrites are copied once per checkpoint, not ten times (ingest
        # ~20 % faster; the checkpoint runs inside a commit, on the ingest path).
        conn.execute("PRAGMA wal_autocheckpoint=10000")
        if self.max_bytes:
            page = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(1, int(self.max_bytes) // page)}")
        return conn

    @property
    def read(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction. The ledger head is read inside it, so that other processes writing
        to the same file (a CLI import next to the running service) extend one chain."""
        with self._lock:
            conn = self._wconn
            conn.execute("BEGIN IMMEDIATE")
            self.ledger.rollback_to(conn)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:  # SQLite may have rolled back already (a full disk can)
                    conn.execute("ROLLBACK")
                self.ledger.rollback_to(conn)
                self._heads.clear()  # rows of the batch undone may be among them
                if isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                    raise StoreFull(f"{self.path}: {e}") from e
                raise

    def write_unledgered(self) -> AbstractContextManager[sqlite3.Connection]:
        """One file has one writer at a time anyway."""
        return self.write()

    def close(self) -> None:
        with self._lock:
            self._wconn.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()

    # -- ledger ---------------------------------------------------------------------------------
    def ledger_append(self, type_: str, actor: str, data: dict[str, Any], ts: datetime | None = None) -> int:
        with self.write() as conn:
            return self.ledger.append(conn, type_, actor, data, ts).seq

    def checkpoint(self, ts: datetime | None = None) -> dict | None:
        """Sign the chain's head, after sealing the batches due for it (the service's rounds call this)."""
        with self.write() as conn:
            seal(conn, self.ledger, due_us=self.seal_due_us(datetime.fromtimestamp(self._store_clock(conn), UTC)))
            return self.ledger.checkpoint(conn, self.site_key, ts)

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own that sees one consistent state of the store until the block ends."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            yield conn
            conn.execute("COMMIT")
        finally:
            conn.close()

    def verify_ledger(self, *, observations: bool = True, evidence: bool = True) -> VerifyReport:
        """Check the chain, every checkpoint signature, that the chain's tail was not cut off, and (by
        default) that the observations of each batch still hash to the Merkle root its ledger entry
        holds and that every evidence file still hashes to its name. Batches not yet sealed are sealed first."""
        self.seal_batches()
        with self.snapshot() as conn:
            report = VerifyReport()
            hashes = verify_chain(iter_rows(conn), report)
            keys = {k: load_public_pem(p.encode()) for k, p in conn.execute("SELECT key_id, pem FROM public_keys")}
            verify_checkpoints(conn.execute("SELECT seq, hash, ts, signature, key_id FROM checkpoints ORDER BY seq"),
                               hashes, keys, report)
            batch_max = verify_batches(conn, report) if observations else None
            verify_tail(conn, report, batch_max)
            if evidence:
                self._verify_evidence(conn, report)
        report.problems.sort(key=lambda p: p.seq)
        report.ok = not report.problems
        return report

    def compact(self, policy: RetentionPolicy, controls: Sequence[Control], now: datetime, *,
                actor: str = "collector", progress: Callable[[str], None] | None = None) -> CompactionResult:
        return compaction.compact(self, policy, controls, now, actor=actor, progress=progress)

    # -- small key/value settings ---------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.read.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
