"""Schema migrations for the SQLite store; each runs once, in order, recorded in user_version."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from collector.inputs import StoreOpenError

MIGRATIONS: list[str] = [
    # 1: observations, latest index, subjects, evidence, findings with history, ledger, accounts
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE observations (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        site TEXT NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL DEFAULT '',
        observed_at REAL NOT NULL,
        received_at REAL NOT NULL,
        seq INTEGER,
        batch INTEGER NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX obs_subject_kind_time ON observations (subject_kind, subject_id, kind, observed_at);
    CREATE INDEX obs_time ON observations (observed_at);
    CREATE INDEX obs_kind_time ON observations (kind, observed_at);
    CREATE TABLE latest (
        subject_kind TEXT NOT NULL, subject_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
        obs_rowid INTEGER NOT NULL, observed_at REAL NOT NULL,
        PRIMARY KEY (subject_kind, subject_id, kind, key)
    ) WITHOUT ROWID;
    CREATE TABLE subjects (
        kind TEXT NOT NULL, id TEXT NOT NULL, site TEXT NOT NULL,
        first_seen REAL NOT NULL, last_seen REAL NOT NULL, label TEXT,
        PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    CREATE TABLE evidence (
        sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, media_type TEXT NOT NULL,
        size INTEGER NOT NULL, stored_at REAL NOT NULL
    );
    CREATE TABLE findings (
        control TEXT NOT NULL, subject_kind TEXT NOT NULL, subject_id TEXT NOT NULL, site TEXT NOT NULL,
        status TEXT NOT NULL, since REAL NOT NULL, evaluated_at REAL NOT NULL,
        value TEXT NOT NULL, reason_zh TEXT NOT NULL, reason_en TEXT NOT NULL, evidence TEXT NOT NULL,
        severity TEXT NOT NULL,
        PRIMARY KEY (control, subject_kind, subject_id)
    ) WITHOUT ROWID;
    CREATE INDEX findings_status ON findings (status);
    CREATE TABLE finding_intervals (
        id INTEGER PRIMARY KEY,
        control TEXT NOT NULL, subject_kind TEXT NOT NULL, subject_id TEXT NOT NULL, site TEXT NOT NULL,
        status TEXT NOT NULL, start REAL NOT NULL, end REAL,
        value TEXT NOT NULL, reason_zh TEXT NOT NULL, reason_en TEXT NOT NULL, evidence TEXT NOT NULL,
        ledger_seq INTEGER
    );
    CREATE INDEX fi_subject ON finding_intervals (control, subject_kind, subject_id, start);
    CREATE INDEX fi_time ON finding_intervals (start, end);
    CREATE TABLE ledger (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, body BLOB NOT NULL);
    CREATE TABLE checkpoints (
        seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, ts TEXT NOT NULL, signature TEXT NOT NULL,
        key_id TEXT NOT NULL
    );
    CREATE TABLE public_keys (key_id TEXT PRIMARY KEY, pem TEXT NOT NULL, created_at REAL NOT NULL);
    CREATE TABLE users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, lang TEXT NOT NULL DEFAULT 'zh',
        created_at REAL NOT NULL, disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name), kind TEXT NOT NULL,
        csrf TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL
    );
    CREATE TABLE agents (
        host_id TEXT PRIMARY KEY, site TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, hostname TEXT,
        enrolled_at REAL NOT NULL, last_seen REAL, last_seq INTEGER, revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE source_tokens (
        name TEXT PRIMARY KEY, site TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
        subject_kinds TEXT NOT NULL, created_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE enroll_secrets (
        id TEXT PRIMARY KEY, site TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE, created_at REAL NOT NULL,
        expires_at REAL, uses INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY, ts REAL NOT NULL, type TEXT NOT NULL, control TEXT, subject_kind TEXT,
        subject_id TEXT, site TEXT, from_status TEXT, to_status TEXT, detail TEXT NOT NULL,
        ledger_seq INTEGER
    );
    CREATE INDEX events_ts ON events (ts);
    """,
    # 2: dashboard reads: acknowledgements by type, failing intervals by their end (30-day trends)
    """
    CREATE INDEX events_type_ts ON events (type, ts);
    CREATE INDEX fi_status_end ON finding_intervals (status, end);
    """,
    # 3: attestations and exceptions (waivers): append-only, triggers refuse edits and deletes
    """
    CREATE TABLE IF NOT EXISTS attestations (
        id INTEGER PRIMARY KEY, period_start REAL NOT NULL, period_end REAL NOT NULL, user TEXT NOT NULL,
        created_at REAL NOT NULL, corrects INTEGER REFERENCES attestations(id), snapshot_hash TEXT NOT NULL,
        body BLOB NOT NULL, signature TEXT NOT NULL, key_id TEXT NOT NULL, ledger_seq INTEGER NOT NULL
    );
    CREATE TRIGGER IF NOT EXISTS attestations_no_update BEFORE UPDATE ON attestations
    BEGIN SELECT RAISE(ABORT, 'attestations cannot be edited; attest again with a correction'); END;
    CREATE TRIGGER IF NOT EXISTS attestations_no_delete BEFORE DELETE ON attestations
    BEGIN SELECT RAISE(ABORT, 'attestations cannot be deleted'); END;
    CREATE TABLE IF NOT EXISTS exceptions (
        id INTEGER PRIMARY KEY, control TEXT NOT NULL, subject_kind TEXT NOT NULL, subject_id TEXT NOT NULL,
        site TEXT NOT NULL, reason TEXT NOT NULL, owner TEXT NOT NULL, approver TEXT NOT NULL,
        created_at REAL NOT NULL, starts_at REAL NOT NULL, ends_at REAL NOT NULL, ledger_seq INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS exceptions_time ON exceptions (starts_at, ends_at);
    CREATE TRIGGER IF NOT EXISTS exceptions_no_update BEFORE UPDATE ON exceptions
    BEGIN SELECT RAISE(ABORT, 'exceptions cannot be edited'); END;
    CREATE TRIGGER IF NOT EXISTS exceptions_no_delete BEFORE DELETE ON exceptions
    BEGIN SELECT RAISE(ABORT, 'exceptions cannot be deleted'); END;
    """,
    # 4: the built-in notifier's delivery log (IF NOT EXISTS: older notifiers created it themselves)
    """
    CREATE TABLE IF NOT EXISTS notifications (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL, receiver TEXT NOT NULL, group_key TEXT NOT NULL, status TEXT NOT NULL,
        alerts INTEGER NOT NULL, attempt INTEGER NOT NULL, ok INTEGER NOT NULL, error TEXT,
        fingerprints TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS notifications_at ON notifications (at);
    """,
    # 5: access events pushed by integrations, kept for a day so each push is audited with the recent ones
    """
    CREATE TABLE access_pushes (
        id INTEGER PRIMARY KEY, site TEXT NOT NULL, received_at REAL NOT NULL,
        first_ts REAL NOT NULL, last_ts REAL NOT NULL, badges_sha256 TEXT NOT NULL, body BLOB NOT NULL
    );
    CREATE INDEX access_pushes_site_last ON access_pushes (site, last_ts);
    CREATE TABLE access_badge_lists (sha256 TEXT PRIMARY KEY, body BLOB NOT NULL);  -- pushes repeat one list
    """,
    # 6: per agent, the sequence numbers received (collector/seqgaps.py), kept at ingest
    """
    CREATE TABLE agent_sequences (host TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;
    """,
    # 7: `latest` orders by the observed time capped at arrival (Observation.as_of). Earlier versions
    # took a sender's future date as is, and such a row held its key against everything newer: re-decide
    # the keys whose latest observation is dated after it arrived.
    """
    UPDATE latest SET (obs_rowid, observed_at) = (
        SELECT o.rowid, min(o.observed_at, o.received_at) FROM observations o
        WHERE o.subject_kind = latest.subject_kind AND o.subject_id = latest.subject_id AND o.kind = latest.kind
          AND o.key = latest.key
        ORDER BY min(o.observed_at, o.received_at) DESC, o.rowid DESC LIMIT 1)
    WHERE EXISTS (SELECT 1 FROM observations o WHERE o.rowid = latest.obs_rowid AND o.observed_at > o.received_at);
    UPDATE subjects SET last_seen = coalesce((SELECT max(l.observed_at) FROM latest l
                                              WHERE l.subject_kind = subjects.kind AND l.subject_id = subjects.id),
                                             first_seen)
    WHERE last_seen > CAST(strftime('%s', 'now') AS REAL);
    """,
    # 8: one-time codes that let an enrolled host enroll again (its token lost or revoked), hashed
    """
    CREATE TABLE reenroll_codes (
        host_id TEXT PRIMARY KEY, code_hash TEXT NOT NULL, issued_by TEXT NOT NULL,
        created_at REAL NOT NULL, expires_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # 9: repeated observations kept compactly (collector/store/repeats.py). A repeat's number (`num`) and
    # a full row's rowid count in one sequence, in the order observations were received (the counter
    # `observations.last_num` in meta holds where it is). `latest` names the full row holding the current
    # meaning (obs_rowid), and the newest observation when it is a repeat of that row (repeat_id, num).
    """
    CREATE TABLE observation_repeats (
        id BLOB PRIMARY KEY,
        num INTEGER NOT NULL,
        head INTEGER NOT NULL,
        batch INTEGER NOT NULL,
        observed_at REAL NOT NULL,
        seq INTEGER,
        volatile BLOB
    ) WITHOUT ROWID;
    ALTER TABLE latest ADD COLUMN num INTEGER;
    ALTER TABLE latest ADD COLUMN repeat_id BLOB;
    ALTER TABLE latest ADD COLUMN meaning BLOB;
    ALTER TABLE latest ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;
    """,
    # 10: compaction (collector/store/compaction.py): per compacted batch, what proves its kept observations
    # against the batch's Merkle root; a run of batches compaction emptied is one row (last_batch > batch)
    """
    CREATE TABLE IF NOT EXISTS pruned_batches (
        batch INTEGER NOT NULL, compaction INTEGER NOT NULL, last_batch INTEGER NOT NULL,
        first_rowid INTEGER NOT NULL, size INTEGER NOT NULL, kept BLOB NOT NULL, hashes BLOB NOT NULL,
        sites TEXT NOT NULL,
        PRIMARY KEY (batch, compaction)
    ) WITHOUT ROWID;
    """,
    # 11: leases (collector/store/leases.py): which process leads a job that one process at a time does
    # (the engine's rounds when several collectors share a store), until when, in which term
    """
    CREATE TABLE IF NOT EXISTS leases (
        name TEXT PRIMARY KEY, holder TEXT NOT NULL, term INTEGER NOT NULL,
        taken_at REAL NOT NULL, expires_at REAL NOT NULL
    ) WITHOUT ROWID;
    """,
    # 12: what collectors sharing one store must agree on (collector/store/coordination.py): sign-in
    # failures per (address, name) and the times of the recent ones over all; per receiver and alert
    # group, the last notification claimed for sending, by whom and until when
    """
    CREATE TABLE IF NOT EXISTS login_failures (
        key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_s REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS login_failures_last ON login_failures (last_s);
    CREATE TABLE IF NOT EXISTS login_failure_times (id INTEGER PRIMARY KEY, at REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS login_failure_times_at ON login_failure_times (at);
    CREATE TABLE IF NOT EXISTS notification_claims (
        receiver TEXT NOT NULL, group_key TEXT NOT NULL, state TEXT NOT NULL, owner TEXT NOT NULL,
        claimed_at REAL NOT NULL, expires_at REAL NOT NULL, done INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (receiver, group_key)
    ) WITHOUT ROWID;
    """,
    # 13: ingested batches (collector/store/batches.py), numbered above the batch base: count, Merkle root, arrival
    # (epoch microseconds) and the ledger head when stored; `seal` is the ledger entry that sealed it, NULL
    # until a seal covers it (collector/proof/seal.py); per seal whose batches compaction emptied, the places of
    # the rows kept and the roots of the subtrees of the rows removed (collector/store/sealprune.py)
    """
    CREATE TABLE IF NOT EXISTS batches (
        batch INTEGER PRIMARY KEY, n INTEGER NOT NULL, root BLOB NOT NULL, received_us INTEGER NOT NULL,
        after_seq INTEGER NOT NULL, seal INTEGER
    );
    CREATE INDEX IF NOT EXISTS batches_unsealed ON batches (batch) WHERE seal IS NULL;
    CREATE TABLE IF NOT EXISTS pruned_seals (
        seal INTEGER NOT NULL, compaction INTEGER NOT NULL, kept BLOB NOT NULL, hashes BLOB NOT NULL,
        PRIMARY KEY (seal, compaction)
    ) WITHOUT ROWID;
    """,
    # 14: pages that show a few rows of many (collector/store/web_reads.py, host_search.py): finding counts
    # from an index, the recent status changes by time without first findings, and per host the lower-cased
    # texts the terminal search matches (UTF-8)
    """
    CREATE INDEX IF NOT EXISTS findings_counts ON findings (control, site, status);
    CREATE INDEX IF NOT EXISTS events_changes ON events (ts, id)
        WHERE type = 'finding.changed' AND from_status IS NOT NULL;
    CREATE TABLE IF NOT EXISTS host_search (
        host TEXT NOT NULL, part INTEGER NOT NULL, text BLOB NOT NULL,
        PRIMARY KEY (host, part)
    ) WITHOUT ROWID;
    """,
    # 15: per subject, event kind (rules/kinds.yaml `event`) and UTC day of arrival, how many events
    # compaction dropped (collector/store/compaction.py), so that a page still says how many a day had.
    # obs_kind_time goes: a kind's observations are found by subject (obs_subject_kind_time, every reader of
    # one kind names its subject kind) or by time (obs_time); it took ~14 KB per terminal-day of the raw window
    """
    DROP INDEX IF EXISTS obs_kind_time;
    CREATE TABLE IF NOT EXISTS event_days (
        subject_kind TEXT NOT NULL, subject_id TEXT NOT NULL, kind TEXT NOT NULL, day TEXT NOT NULL,
        dropped INTEGER NOT NULL,
        PRIMARY KEY (subject_kind, subject_id, kind, day)
    ) WITHOUT ROWID;
    """,
    # 16: no events_ts, which every event written entered: a page of recent events reads each kind's newest from
    # the index of that kind (status changes: events_changes, other types: events_type_ts; web_reads.py), and no
    # other statement reads events by time alone
    """
    DROP INDEX IF EXISTS events_ts;
    """,
    # 17: PostgreSQL's 11 and 12, the posture page's trends (the failing and unknown spans of the last 30 days,
    # by control and start) read from an index of the failing and unknown spans alone, not a row of the table
    # for each span; no statement looks intervals up by another status, so the others are not indexed by it
    """
    DROP INDEX IF EXISTS fi_status_end;
    CREATE INDEX IF NOT EXISTS fi_failing_end ON finding_intervals (status, end, control, start)
        WHERE status IN ('fail', 'unknown');
    """,
    # 18: PostgreSQL's 13, a subject's intervals (its page's history, of every control) by subject first, not
    # every interval of the site read through fi_subject, which leads with the control
    """
    CREATE INDEX IF NOT EXISTS fi_of_subject ON finding_intervals (subject_kind, subject_id, control, start);
    """,
]


SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(StoreOpenError):
    """A store written by a newer program: an older one must not read it, let alone migrate it."""

    def __init__(self, path: Path | str, version: int):
        self.version = version
        super().__init__(f"{path}: the store's schema is version {version}, newer than this program's "
                         f"version {SCHEMA_VERSION}; run the clausewatch that wrote it, or a newer one")


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def refuse_newer(path: Path | str, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(path, version)


def refuse_newer_file(path: Path) -> None:
    """Refuse a newer program's store before anything in it, even its journal mode, is changed."""
    if not path.is_file():
        return
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        version = schema_version(conn)
    finally:
        conn.close()
    refuse_newer(path, version)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the schema version now in force."""
    version = schema_version(conn)
    for i, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript("BEGIN IMMEDIATE;\n" + script + f"\nPRAGMA user_version = {i};\nCOMMIT;")
    return len(MIGRATIONS)
