"""The embedded store: one SQLite file in WAL mode, evidence files beside it by SHA-256."""
from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from collector import seqgaps
from collector.canonical import loads, stored_json
from collector.ledger import VerifyReport, verify_chain, verify_checkpoints
from collector.merkle import merkle_root
from collector.sitekey import SiteKey, load_public_pem
from collector.store.accounts import SqliteAccounts
from collector.store.areas import Fence
from collector.store.base import FindingChange, IngestResult, Interval, ObservationRow, StoredFinding, StoreFull
from collector.store.copies import migrate_with_backup
from collector.store.derived import SqliteDerived
from collector.store.files import evidence_dir_of, site_key_path_of
from collector.store.integrity import EvidenceAltered, read_checked, verify_batches, verify_evidence, verify_tail
from collector.store.leases import SqliteLeases, hold_fence
from collector.store.ledger_rows import SqliteLedgerRows
from collector.store.ledger_table import Ledger, iter_rows
from collector.store.numbering import (
    LAST_NUM,
    LATEST_COLUMNS,
    LATEST_JOINS,
    REPEAT_COLUMNS,
    batch_received_at,
    last_number,
    next_number,
    stored_ids,
)
from collector.store.people import SqlitePeople
from collector.store.repeats import Heads, id_key, id_text, plan_batch, rebuild
from collector.store.schema import refuse_newer_file
from collector.store.sizes import SqliteSizes
from collector.store.sqlite_parts import where_clause
from collector.store.web_reads import SqliteReadModel
from collector.store.working_state import SqliteWorkingState, save_sequence_state, sequence_state
from rules.model import STORED, EvidenceRef, Observation

log = logging.getLogger(__name__)
_OBS_COLS = "id, source, site, subject_kind, subject_id, kind, key, observed_at, received_at, seq, batch, body"


def _ts(dt: datetime) -> float:
    return dt.timestamp()


def _dt(x: float) -> datetime:
    return datetime.fromtimestamp(x, UTC)


def observation_body(o: Observation) -> bytes:
    """The canonical bytes stored, hashed into the batch's Merkle root and read back.

    Built field by field: pydantic's generic dump costs more than the rest of ingest."""
    return stored_json({
        "id": o.id, "source": o.source, "site": o.site, "subject_kind": o.subject_kind, "subject_id": o.subject_id,
        "kind": o.kind, "key": o.key, "observed_at": o.observed_at.isoformat(), "seq": o.seq, "payload": o.payload,
        "evidence": [e.model_dump() for e in o.evidence]})


def observation_row(o: Observation) -> ObservationRow:
    return (o.id, o.source, o.site, o.subject_kind, o.subject_id, o.kind, o.key, _ts(o.observed_at), o.seq,
            observation_body(o))


def observation_from_body(body: bytes, received_at: float) -> Observation:
    data = loads(body)
    data["received_at"] = _dt(received_at)
    return Observation.model_validate(data, context=STORED)


def readable_observations(rows: Iterable[tuple[bytes, float]]) -> list[Observation]:
    """The observations of (body, received_at) rows, leaving out (and logging) any row that cannot be
    read: one damaged row must cost its own line, not every page and evaluation that lists it."""
    out = []
    for body, received_at in rows:
        try:
            out.append(observation_from_body(body, received_at))
        except (ValueError, TypeError, OverflowError) as e:  # ValidationError and orjson's errors are ValueErrors
            log.warning("unreadable stored observation skipped (%s): %.200r", type(e).__name__, body)
    return out


class SqliteStore(SqliteAccounts, SqliteLedgerRows, SqliteReadModel, SqlitePeople, SqliteWorkingState,
                  SqliteDerived, SqliteSizes, SqliteLeases):
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
                            (self.site_key.key_id, self.site_key.public_pem().decode(), _ts(datetime.now(UTC))))

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

    def close(self) -> None:
        with self._lock:
            self._wconn.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()

    # -- observations ---------------------------------------------------------------------------
    def ingest(self, observations: Sequence[Observation], *, actor: str,
               received_at: datetime | None = None) -> IngestResult:
        """Store a batch atomically; observations already stored (same id) are skipped.

        New observations are committed to the ledger by one entry holding their Merkle root."""
        return self.ingest_rows([observation_row(o) for o in observations], actor=actor, received_at=received_at)

    def ingest_rows(self, rows: Sequence[ObservationRow], *, actor: str,
                    received_at: datetime | None = None) -> IngestResult:
        """`ingest` for observations already validated and encoded (`observation_row`), e.g. by
        the collector's preparation processes."""
        now = received_at or datetime.now(UTC)
        seen: set[str] = set()
        batch: list[ObservationRow] = []
        for r in rows:
            if r[0] not in seen:
                seen.add(r[0])
                batch.append(r)
        with self.write() as conn:
            existing = stored_ids(conn, [r[0] for r in batch])
            new = [r for r in batch if r[0] not in existing] if existing else batch
            dups = len(rows) - len(new)
            if not new:
                return IngestResult(0, dups, None)
            # the agents' sequence tallies, stored with the batch
            derived = seqgaps.track(partial(sequence_state, conn), partial(save_sequence_state, conn), new, now)
            new = [*new, *(observation_row(d) for d in derived)]
            root = merkle_root([r[9] for r in new]).hex()
            kinds: dict[str, int] = {}
            for r in new:
                kinds[r[5]] = kinds.get(r[5], 0) + 1
            entry = self.ledger.append(conn, "observations", actor, {
                "count": len(new), "merkle_root": root, "first": new[0][0], "last": new[-1][0],
                "kinds": kinds}, ts=now)
            recv = _ts(now)
            # a repeat of the current meaning of its (subject, kind, key) becomes a compact row; numbers
            # (full rows' rowids, repeats' num) follow the batch's order, as the Merkle leaves do
            first = next_number(conn)
            plan = plan_batch(conn, new, first, recv, entry.seq, self._heads)
            conn.executemany(f"INSERT INTO observations (rowid, {_OBS_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                             plan.full)
            conn.executemany("INSERT INTO observation_repeats VALUES (?,?,?,?,?,?,?)", plan.repeats)
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (LAST_NUM, str(first + len(new) - 1)))
            conn.executemany(
                "INSERT INTO latest (subject_kind, subject_id, kind, key, obs_rowid, observed_at, num, repeat_id,"
                " meaning, repeats) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET"
                " obs_rowid = excluded.obs_rowid, observed_at = excluded.observed_at, num = excluded.num,"
                " repeat_id = excluded.repeat_id, meaning = excluded.meaning, repeats = excluded.repeats",
                [(*k, st.head, st.as_of, st.num, st.repeat_id, st.meaning, st.repeats)
                 for k, st in plan.latest.items()])
            subjects: dict[tuple[str, str], tuple[str, float]] = {}
            for r in new:
                sub, ts = (r[3], r[4]), min(r[7], recv)
                if sub not in subjects or ts > subjects[sub][1]:
                    subjects[sub] = (r[2], ts)
            conn.executemany(
                "INSERT INTO subjects (kind, id, site, first_seen, last_seen) VALUES (?,?,?,?,?) ON CONFLICT"
                " DO UPDATE SET last_seen = max(subjects.last_seen, excluded.last_seen)",
                [(k, i, site, ts, ts) for (k, i), (site, ts) in subjects.items()])
        return IngestResult(len(new) - len(derived), dups, entry.seq, root, set(subjects), set(kinds),
                            [(k, ts, num, new[i][9], recv) for k, (num, ts, i) in plan.newest.items()],
                            derived)

    def _latest_rows(self, where: str, args: Sequence[Any]) -> list[tuple[bytes, float]]:
        rows = self.read.execute(f"SELECT {LATEST_COLUMNS} FROM latest l {LATEST_JOINS} {where}", args).fetchall()
        return self._rebuilt(rows)

    def _rebuilt(self, rows: Iterable[Sequence[Any]]) -> list[tuple[bytes, float]]:
        """(body, received_at) of rows read with LATEST_COLUMNS (or the same shape): a repeat's body
        rebuilt from its head's, its arrival time that of its batch."""
        out = []
        for body, received_at, rid, observed_at, seq, volatile, batch in rows:
            if rid is None:
                out.append((body, received_at))
                continue
            try:
                out.append((rebuild(body, id_text(rid), observed_at, seq, volatile),
                            self._batch_received_at(batch, received_at)))
            except (ValueError, TypeError, KeyError, OverflowError) as e:
                log.warning("repeat %s of a damaged observation skipped (%s)", id_text(rid), type(e).__name__)
        return out

    def _batch_received_at(self, batch: int, fallback: float) -> float:
        if batch not in self._received:
            if len(self._received) > 10000:
                self._received.clear()
            self._received[batch] = batch_received_at(self.read, batch, fallback)
        return self._received[batch]

    def max_observation_rowid(self) -> int:
        """The number of the newest observation stored (full row or repeat)."""
        return last_number(self.read)

    def latest_since(self, rowid: int, skip: Container[int] = (), upto: int | None = None
                     ) -> tuple[int, list[Observation]]:
        """The current latest observations (per subject, kind, key) stored after number `rowid` (and
        up to `upto`) by this or any other process, but those in `skip`; and the number looked up to."""
        top = self.max_observation_rowid() if upto is None else min(upto, self.max_observation_rowid())
        if top <= rowid:  # the usual answer
            return rowid, []
        rows = self.read.execute(
            f"SELECT coalesce(l.num, l.obs_rowid), {LATEST_COLUMNS} FROM latest l {LATEST_JOINS}"
            " WHERE coalesce(l.num, l.obs_rowid) > ? AND coalesce(l.num, l.obs_rowid) <= ?", (rowid, top)).fetchall()
        return top, readable_observations(self._rebuilt(r[1:] for r in rows if r[0] not in skip))

    def latest_all(self, subject_kind: str | None = None
                   ) -> dict[tuple[str, str], dict[tuple[str, str], Observation]]:
        rows = self._latest_rows("WHERE l.subject_kind = ?", [subject_kind]) if subject_kind else \
            self._latest_rows("", [])
        out: dict[tuple[str, str], dict[tuple[str, str], Observation]] = {}
        for o in readable_observations(rows):
            out.setdefault(o.subject, {})[(o.kind, o.key)] = o
        return out

    def latest_for(self, subject_kind: str, subject_id: str) -> dict[tuple[str, str], Observation]:
        rows = self._latest_rows("WHERE l.subject_kind = ? AND l.subject_id = ?", [subject_kind, subject_id])
        return {(o.kind, o.key): o for o in readable_observations(rows)}

    def observations(self, *, subject_kind: str | None = None, subject_id: str | None = None,
                     kind: str | None = None, since: datetime | None = None, until: datetime | None = None,
                     limit: int = 1000, repeats: bool = False) -> list[Observation]:
        """Full rows, newest first: each observation that changed the meaning of its (subject, kind,
        key), standing for the repeats that followed it. With `repeats`, those too, rebuilt (this reads
        every repeat stored: for a period's export, not for a page)."""
        def conditions(table: str, time: str) -> tuple[str, list[Any]]:
            return where_clause([(f"{table}subject_kind = ?", subject_kind), (f"{table}subject_id = ?", subject_id),
                                 (f"{table}kind = ?", kind), (f"{time} >= ?", _ts(since) if since else None),
                                 (f"{time} < ?", _ts(until) if until else None)])

        where, args = conditions("", "observed_at")
        sql = f"SELECT body, received_at, NULL, NULL, NULL, NULL, NULL, observed_at FROM observations {where}"
        if repeats:
            more, more_args = conditions("o.", "r.observed_at")
            sql += (f" UNION ALL SELECT {REPEAT_COLUMNS}, r.observed_at FROM observation_repeats r"
                    f" JOIN observations o ON o.rowid = r.head {more}")
            args += more_args
        rows = self.read.execute(sql + " ORDER BY 8 DESC LIMIT ?", [*args, limit]).fetchall()
        return readable_observations(self._rebuilt(r[:7] for r in rows))

    def payload_series(self, kind: str, start: datetime, end: datetime, site: str | None = None
                       ) -> list[tuple[str, float, dict[str, Any]]]:
        """Every observation of `kind` received in the period, repeats of an unchanged one included."""
        rows = self.observations(kind=kind, since=start, until=end, limit=2**62, repeats=True)
        return [(o.subject_id, o.observed_at.timestamp(), o.payload)
                for o in sorted(rows, key=lambda o: o.observed_at) if site is None or o.site == site]

    def get_observation(self, obs_id: str) -> Observation | None:
        row = self.read.execute("SELECT body, received_at, NULL, NULL, NULL, NULL, NULL FROM observations"
                                " WHERE id = ?", (obs_id,)).fetchone()
        key = id_key(obs_id)
        if row is None and key is not None:
            row = self.read.execute(f"SELECT {REPEAT_COLUMNS} FROM observation_repeats r"
                                    " JOIN observations o ON o.rowid = r.head WHERE r.id = ?", (key,)).fetchone()
        found = readable_observations(self._rebuilt([row] if row else []))
        return found[0] if found else None

    def count_observations(self) -> int:
        """Observations received and kept, repeats included."""
        return self.read.execute("SELECT (SELECT count(*) FROM observations)"
                                 " + (SELECT count(*) FROM observation_repeats)").fetchone()[0]

    def subjects(self, kind: str | None = None) -> list[tuple[str, str, str]]:
        q = "SELECT kind, id, site FROM subjects" + (" WHERE kind = ?" if kind else "") + " ORDER BY kind, id"
        return [tuple(r) for r in self.read.execute(q, [kind] if kind else [])]

    # -- evidence files -------------------------------------------------------------------------
    def put_evidence(self, data: bytes, name: str, media_type: str = "application/octet-stream") -> EvidenceRef:
        digest = hashlib.sha256(data).hexdigest()
        self.keep_evidence_bytes(digest, data)
        with self.write() as conn:
            conn.execute("INSERT OR IGNORE INTO evidence VALUES (?,?,?,?,?)",
                         (digest, name, media_type, len(data), _ts(datetime.now(UTC))))
        return EvidenceRef(sha256=digest, name=name, media_type=media_type, size=len(data))

    def keep_evidence_bytes(self, digest: str, data: bytes) -> None:
        """Keep `data` under its SHA-256 `digest` (the caller hashed it), durably, once."""
        target = self.evidence_dir / digest[:2] / digest
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)

    def checked_evidence_bytes(self, sha256: str) -> bytes | None:
        """The bytes kept under `sha256`; None when none; raises EvidenceAltered when they no longer match."""
        return read_checked(self.evidence_dir, sha256)

    def drop_evidence_bytes(self, digests: Sequence[str]) -> None:
        """Remove the bytes kept under `digests` (compaction, once no row lists them)."""
        for digest in digests:
            (self.evidence_dir / digest[:2] / digest).unlink(missing_ok=True)

    def _verify_evidence(self, conn: sqlite3.Connection, report: VerifyReport) -> None:
        verify_evidence(conn, self.evidence_dir, report)

    def get_evidence(self, sha256: str) -> bytes | None:
        """The file's bytes; None when there is none or when it no longer matches its SHA-256."""
        try:
            return self.read_evidence(sha256)
        except EvidenceAltered:
            return None

    def read_evidence(self, sha256: str) -> bytes | None:
        """The file's bytes, re-hashed on every read: raises EvidenceAltered (and notes it in the log
        and, once per process, in the ledger) rather than hand out altered bytes."""
        try:
            return self.checked_evidence_bytes(sha256)
        except EvidenceAltered as e:
            log.error("%s: not served", e)
            if (e.sha256, e.found) not in self._altered_noted:
                self._altered_noted.add((e.sha256, e.found))
                self.ledger_append("evidence.altered", "collector", {"sha256": e.sha256, "found_sha256": e.found})
            raise

    # -- findings -------------------------------------------------------------------------------
    def current_findings(self, *, control: str | None = None, subject_kind: str | None = None,
                         subject_id: str | None = None, status: str | None = None,
                         site: str | None = None) -> list[StoredFinding]:
        where, args = where_clause([("control = ?", control), ("subject_kind = ?", subject_kind),
                                    ("subject_id = ?", subject_id), ("status = ?", status), ("site = ?", site)])
        rows = self.read.execute(
            "SELECT control, subject_kind, subject_id, site, status, since, evaluated_at, value, reason_zh,"
            f" reason_en, evidence, severity FROM findings {where} ORDER BY control, subject_kind, subject_id",
            args).fetchall()
        return [StoredFinding(r[0], r[1], r[2], r[3], r[4], _dt(r[5]), _dt(r[6]), loads(r[7]), r[8], r[9],
                              loads(r[10]), r[11]) for r in rows]

    def record_findings(self, changes: Sequence[FindingChange], now: datetime, *, fence: Fence | None = None) -> int:
        """Upsert findings; for each status change close the open interval, open a new one, and
        append the change to the ledger and the event log. Returns the number of status changes.
        With a `fence`, only while that lease term runs (else LeaseLost, and nothing recorded)."""
        rows, moved = [], []
        for ch in changes:
            f = ch.finding
            value, evidence = stored_json(f.value), stored_json(f.evidence)
            rows.append((f.control, f.subject_kind, f.subject_id, f.site, f.status, _ts(f.since), _ts(f.evaluated_at),
                         value.decode(), f.reason_zh, f.reason_en, evidence.decode(), f.severity))
            if ch.status_changed:
                # the ledger entry embeds the JSON just made rather than encoding it again
                moved.append((ch, rows[-1], orjson.Fragment(value),
                              orjson.Fragment(evidence) if len(f.evidence) <= 20 else f.evidence[:20]))
        with self.write() as conn:
            if fence is not None:
                hold_fence(conn, fence)
            conn.executemany("INSERT OR REPLACE INTO findings VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            if not moved:
                return 0
            entries = self.ledger.append_many(conn, [("finding.changed", "engine", {
                "control": ch.finding.control, "subject_kind": ch.finding.subject_kind,
                "subject_id": ch.finding.subject_id, "site": ch.finding.site, "from": ch.previous_status,
                "to": ch.finding.status, "since": ch.finding.since.isoformat(), "value": value,
                "reason": ch.finding.reason_en, "evidence": evidence}) for ch, _, value, evidence in moved], ts=now)
            conn.executemany("UPDATE finding_intervals SET end = ? WHERE control = ? AND subject_kind = ? AND"
                             " subject_id = ? AND end IS NULL",
                             [(r[5], r[0], r[1], r[2]) for ch, r, *_ in moved if ch.previous_status is not None])
            conn.executemany("INSERT INTO finding_intervals (control, subject_kind, subject_id, site, status,"
                             " start, end, value, reason_zh, reason_en, evidence, ledger_seq)"
                             " VALUES (?,?,?,?,?,?,NULL,?,?,?,?,?)",
                             [(*r[:6], r[7], r[8], r[9], r[10], e.seq)
                              for (_, r, *_), e in zip(moved, entries, strict=True)])
            conn.executemany("INSERT INTO events (ts, type, control, subject_kind, subject_id, site, from_status,"
                             " to_status, detail, ledger_seq) VALUES (?,?,?,?,?,?,?,?,?,?)",
                             [(_ts(now), "finding.changed", r[0], r[1], r[2], r[3], ch.previous_status, r[4], r[9],
                               e.seq) for (ch, r, *_), e in zip(moved, entries, strict=True)])
        return len(moved)

    def intervals(self, *, control: str | None = None, subject: tuple[str, str] | None = None,
                  start: datetime | None = None, end: datetime | None = None) -> list[Interval]:
        where, args = where_clause([("control = ?", control), ("subject_kind = ?", subject[0] if subject else None),
                                    ("subject_id = ?", subject[1] if subject else None),
                                    ("start < ?", _ts(end) if end else None),
                                    ("(end IS NULL OR end > ?)", _ts(start) if start else None)])
        return self._intervals(where, args)

    def posture_at(self, at: datetime) -> list[Interval]:
        t = _ts(at)
        return self._intervals("WHERE start <= ? AND (end IS NULL OR end > ?)", [t, t])

    def _intervals(self, where: str, args: Sequence[Any]) -> list[Interval]:
        rows = self.read.execute(
            "SELECT control, subject_kind, subject_id, site, status, start, end, value, reason_zh, reason_en,"
            f" evidence FROM finding_intervals {where} ORDER BY control, subject_kind, subject_id, start",
            args).fetchall()
        return [Interval(r[0], r[1], r[2], r[3], r[4], _dt(r[5]), _dt(r[6]) if r[6] is not None else None,
                         loads(r[7]), r[8], r[9], loads(r[10])) for r in rows]

    # -- ledger ---------------------------------------------------------------------------------
    def ledger_append(self, type_: str, actor: str, data: dict[str, Any], ts: datetime | None = None) -> int:
        with self.write() as conn:
            return self.ledger.append(conn, type_, actor, data, ts).seq

    def checkpoint(self, ts: datetime | None = None) -> dict | None:
        with self.write() as conn:
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
        holds and that every evidence file still hashes to its name."""
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

    # -- small key/value settings ---------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.read.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
