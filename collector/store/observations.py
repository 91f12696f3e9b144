"""Observations in the SQLite store: ingest (full rows and repeats, one `batches` row per batch with its
Merkle root, sealed into the ledger with the batches around it: collector/store/batches.py) and the
reads of what is stored."""
from __future__ import annotations

import logging
import operator
import sqlite3
from collections.abc import Container, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from functools import partial
from typing import Any

from collector import seqgaps
from collector.proof.merkle import leaf_hash, root_of_leaves
from collector.store.base import IngestResult, ObservationRow
from collector.store.batch_plan import BatchPlan, Key, KeyState, key_states
from collector.store.batches import SqliteBatches, seal, store_batch
from collector.store.drafts import DraftPolicy, confirmed, draft_batch, extended
from collector.store.kind_pages import kind_page
from collector.store.numbering import (
    LAST_NUM,
    LATEST_COLUMNS,
    LATEST_JOINS,
    REPEAT_COLUMNS,
    batch_received_at,
    last_number,
    stored_ids,
)
from collector.store.observation_rows import observation_row, readable_observations
from collector.store.repeats import Heads, id_key, id_text, rebuild
from collector.store.sqlite_parts import where_clause
from collector.store.working_state import save_sequence_state, sequence_state
from rules.model import Observation

log = logging.getLogger(__name__)
_OBS_COLS = "id, source, site, subject_kind, subject_id, kind, key, observed_at, received_at, seq, batch, body"


def batch_subjects(new: Sequence[ObservationRow], recv: float) -> dict[tuple[str, str], tuple[str, float]]:
    """(subject kind, id) -> (site, last seen) of a batch's rows: last seen is the latest observed time,
    capped at the batch's arrival, and the site that of the first row seen then."""
    subjects: dict[tuple[str, str], tuple[str, float]] = {}
    for r in new:
        sub, ts = (r[3], r[4]), min(r[7], recv)
        if sub not in subjects or ts > subjects[sub][1]:
            subjects[sub] = (r[2], ts)
    return subjects


def merkle_leaves(rows: Sequence[ObservationRow], hashed: Sequence[ObservationRow],
                  leaves: list[bytes]) -> list[bytes]:
    """The Merkle leaves of `rows`' bodies. `leaves`: those of the rows `hashed` (before the writers' lock),
    taken when `rows` begins with those very rows (no other writer stored any of them meanwhile); the rest
    are hashed here."""
    if len(rows) >= len(hashed) and all(map(operator.is_, rows, hashed)):
        return leaves + [leaf_hash(r[9]) for r in rows[len(hashed):]]
    return [leaf_hash(r[9]) for r in rows]


class SqliteObservations(SqliteBatches):
    _received: dict[int, float]  # batch -> its arrival time, for repeats
    _heads: Heads  # full rows that repeats are compared with, read or written by this store
    # PostgresStore: read and plan a batch before taking the writers' lock, and when not to; a file store
    # plans inside its write transaction (None)
    _drafts: DraftPolicy | None = None
    # PostgresStore asks for these with one array per column instead
    _stored_ids = staticmethod(lambda conn, ids, key_of: stored_ids(conn, ids))  # it reads the ids' keys itself
    _key_states = staticmethod(key_states)
    _kind_page = staticmethod(kind_page)  # PostgresStore: the same page in one statement

    def ingest(self, observations: Sequence[Observation], *, actor: str,
               received_at: datetime | None = None) -> IngestResult:
        """Store a batch atomically; observations already stored (same id) are skipped.

        New observations are stored as one batch holding their Merkle root, which a seal entry commits to the
        ledger with the batches around it; `actor` is who sent them (agents and sources are their
        observations' `source`)."""
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
        recv = now.timestamp()
        # on a server database what only reads is done before the writers' lock, and under it what others
        # stored meanwhile is checked; a file store drafts inside its write transaction, where nothing else
        # can have been stored since (its repeats carry no index by number to look that up with)
        draft, hashed, leaves, drafts = None, [], [], self._drafts
        if drafts is not None:
            with self._reading() as reader:
                draft = draft_batch(reader, batch, recv, self._heads, self._stored_ids, self._key_states,
                                    plan=drafts.plan_first(), key_heads=drafts.key_heads)
            hashed, leaves = draft.rows, [leaf_hash(r[9]) for r in draft.rows]  # while others hold the lock
        with self.write() as conn:
            if draft is None:
                draft = draft_batch(conn, batch, recv, self._heads, self._stored_ids, self._key_states)
            draft, first = confirmed(conn, draft, self._heads, self._key_states)
            if drafts is not None:
                drafts.note(draft)
            if not draft.rows:
                return IngestResult(0, len(rows), None)
            # the agents' sequence tallies, stored with the batch
            derived = seqgaps.track(partial(sequence_state, conn), partial(save_sequence_state, conn), draft.rows, now)
            received = len(draft.rows)
            draft = extended(conn, draft, [observation_row(d) for d in derived], self._heads, self._key_states)
            new = draft.rows
            root = root_of_leaves(merkle_leaves(new, hashed, leaves)).hex()
            number = store_batch(conn, len(new), root, now, self.ledger.last_seq)
            # a repeat of the current meaning of its (subject, kind, key) is a compact row; numbers (full
            # rows' rowids, repeats' num) follow the batch's order, as the Merkle leaves do
            plan = draft.plan.numbered(first, number)
            subjects = self._store_plan(conn, plan, new, first, recv, draft.states)
            seal(conn, self.ledger, due_us=self.seal_due_us(now))  # when the oldest unsealed batch is due
        self._heads.update(plan.heads)
        if drafts is not None:
            drafts.note_heads(plan.latest.items())
        return IngestResult(received, len(rows) - received, number, root, set(subjects), {r[5] for r in new},
                            [(k, ts, num, new[i][9], recv) for k, (num, ts, i) in plan.newest.items()],
                            derived)

    @contextmanager
    def _one_state(self) -> Iterator[sqlite3.Connection]:
        """This thread's reading connection, its statements in one read transaction (they see one state of
        the store, as one statement does) unless it is in one already."""
        conn = self.read
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def _reading(self) -> AbstractContextManager[sqlite3.Connection]:
        """A connection for a few reads outside any write transaction."""
        return nullcontext(self.read)

    def _store_plan(self, conn: sqlite3.Connection, plan: BatchPlan, new: Sequence[ObservationRow], first: int,
                    recv: float, states: dict[Key, KeyState | None]) -> dict[tuple[str, str], tuple[str, float]]:
        """Write a numbered batch: its rows, the last number, its keys' latest and its subjects (returned).
        `states`: the keys' `latest` rows the batch was planned with (None: none stored)."""
        self._insert_rows(conn, plan.full, plan.repeats)
        conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (LAST_NUM, str(first + len(new) - 1)))
        self._upsert_latest(conn, plan.latest, {k for k in plan.latest if states.get(k) is not None})
        subjects = batch_subjects(new, recv)
        # a key's `latest` row is written with its subject's row, and subjects are never removed
        self._upsert_subjects(conn, subjects, {(k[0], k[1]) for k, st in states.items() if st is not None})
        return subjects

    def _insert_rows(self, conn: sqlite3.Connection, full: list[tuple[Any, ...]],
                     repeats: list[tuple[Any, ...]]) -> None:
        """A batch's full rows and repeats, each a row of its table's columns in order."""
        conn.executemany(f"INSERT INTO observations (rowid, {_OBS_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", full)
        conn.executemany("INSERT INTO observation_repeats VALUES (?,?,?,?,?,?,?)", repeats)

    @staticmethod
    def _upsert_latest(conn: sqlite3.Connection, latest: dict[Key, KeyState], stored: Container[Key] = ()) -> None:
        """Each key's `latest` row as the plan left it; `stored`: the keys read with a row (the PostgreSQL
        store updates those, which costs its database less than an upsert)."""
        conn.executemany(
            "INSERT INTO latest (subject_kind, subject_id, kind, key, obs_rowid, observed_at, num, repeat_id,"
            " meaning, repeats) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET"
            " obs_rowid = excluded.obs_rowid, observed_at = excluded.observed_at, num = excluded.num,"
            " repeat_id = excluded.repeat_id, meaning = excluded.meaning, repeats = excluded.repeats",
            [(*k, st.head, st.as_of, st.num, st.repeat_id, st.meaning, st.repeats) for k, st in latest.items()])

    @staticmethod
    def _upsert_subjects(conn: sqlite3.Connection, subjects: dict[tuple[str, str], tuple[str, float]],
                         stored: Container[tuple[str, str]] = ()) -> None:
        """A subject seen for the first time is added; one seen again gets a later last_seen, and is left as it
        is when it was seen later already (no row version written for nothing). `stored`: the subjects known
        to have a row (the PostgreSQL store updates those, which costs its database less than an upsert)."""
        conn.executemany(
            "INSERT INTO subjects (kind, id, site, first_seen, last_seen) VALUES (?,?,?,?,?) ON CONFLICT"
            " DO UPDATE SET last_seen = max(subjects.last_seen, excluded.last_seen)"
            " WHERE subjects.last_seen < excluded.last_seen",
            [(k, i, site, ts, ts) for (k, i), (site, ts) in subjects.items()])

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
        every repeat stored: for a period's export, not for a page). Of one kind without one subject, the
        rows of a time come highest number first (collector/store/kind_pages.py)."""
        if kind is not None and not repeats and limit > 0 and (subject_kind is None or subject_id is None):
            with self._one_state() as conn:
                rows = self._kind_page(conn, kind, subject_kind, subject_id, since, until, limit)
            return readable_observations(self._rebuilt(rows))

        def conditions(table: str, time: str) -> tuple[str, list[Any]]:
            return where_clause([(f"{table}subject_kind = ?", subject_kind), (f"{table}subject_id = ?", subject_id),
                                 (f"{table}kind = ?", kind), (f"{time} >= ?", since.timestamp() if since else None),
                                 (f"{time} < ?", until.timestamp() if until else None)])

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
