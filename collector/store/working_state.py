"""Working state that sources and outputs keep between runs: the recent door-access pushes an
audit merges with the next one, the notifier's delivery log, the agents' received sequence numbers."""
from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

import orjson

from collector.store.areas import AccessPush
from collector.store.sqlite_parts import SqliteParts, marks, where_clause

_NOTIFICATION_COLS = "at, receiver, group_key, status, alerts, attempt, ok, error"


class SqliteWorkingState(SqliteParts):
    # -- door-access pushes --------------------------------------------------------------------------
    def access_pushes(self, site: str, since_ts: float) -> tuple[list[AccessPush], dict[str, bytes]]:
        rows = [AccessPush(*r) for r in self._rows(
            "SELECT body, last_ts, badges_sha256 FROM access_pushes WHERE site = ? AND last_ts >= ? ORDER BY id",
            (site, since_ts))]
        shas = sorted({r.badges_sha256 for r in rows})
        lists = dict(self._rows(f"SELECT sha256, body FROM access_badge_lists WHERE sha256 IN ({marks(len(shas))})",
                                shas)) if shas else {}
        return rows, lists

    def remember_access_push(self, site: str, received_at: float, first_ts: float, last_ts: float,
                             badges_sha256: str, badges: bytes, body: bytes, window_s: float) -> None:
        with self.write() as conn:
            conn.execute("INSERT INTO access_badge_lists (sha256, body) VALUES (?, ?) ON CONFLICT DO NOTHING",
                         (badges_sha256, badges))
            conn.execute("INSERT INTO access_pushes (site, received_at, first_ts, last_ts, badges_sha256, body)"
                         " VALUES (?,?,?,?,?,?)", (site, received_at, first_ts, last_ts, badges_sha256, body))
            newest = conn.execute("SELECT max(last_ts) FROM access_pushes WHERE site = ?", (site,)).fetchone()[0]
            conn.execute("DELETE FROM access_pushes WHERE site = ? AND last_ts < ?", (site, newest - window_s))
            conn.execute("DELETE FROM access_badge_lists WHERE sha256 NOT IN (SELECT badges_sha256 FROM access_pushes)")

    # -- notifications ---------------------------------------------------------------------------------
    def record_notification(self, at: datetime, receiver: str, group_key: str, status: str,
                            fingerprints: list[str], attempt: int, error: str | None) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO notifications (at, receiver, group_key, status, alerts, attempt, ok, error, fingerprints)"
                " VALUES (?,?,?,?,?,?,?,?,?)", (at.timestamp(), receiver, group_key, status, len(fingerprints),
                                                attempt, error is None, error, orjson.dumps(fingerprints).decode()))

    def notifications(self, limit: int, receiver: str | None = None) -> list[tuple[Any, ...]]:
        where, args = where_clause([("receiver = ?", receiver)])
        return self._rows(f"SELECT {_NOTIFICATION_COLS} FROM notifications {where} ORDER BY id DESC LIMIT ?",
                          [*args, limit])

    def notifications_since(self, since: datetime, limit: int) -> list[tuple[float, str, bool, str | None, list[str]]]:
        rows = self._rows("SELECT at, receiver, ok, error, fingerprints FROM notifications WHERE at >= ?"
                          " ORDER BY at DESC LIMIT ?", (since.timestamp(), limit))
        return [(at, receiver, bool(ok), error, orjson.loads(fps)) for at, receiver, ok, error, fps in rows]

    # -- agents' sequence numbers ------------------------------------------------------------------------
    def agent_sequences(self, host: str | None = None) -> list[tuple[str, str]]:
        where, args = where_clause([("host = ?", host)])
        return self._rows(f"SELECT host, state FROM agent_sequences {where} ORDER BY host", args)


def sequence_state(conn: sqlite3.Connection, host: str) -> str | None:
    """A host's received sequence numbers as stored, read inside the ingest transaction."""
    row = conn.execute("SELECT state FROM agent_sequences WHERE host = ?", (host,)).fetchone()
    return row[0] if row else None


def save_sequence_state(conn: sqlite3.Connection, host: str, state: str) -> None:
    conn.execute("INSERT INTO agent_sequences (host, state) VALUES (?, ?)"
                 " ON CONFLICT(host) DO UPDATE SET state = excluded.state", (host, state))
