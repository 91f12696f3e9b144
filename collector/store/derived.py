"""Reads for `ledger verify --deep`: the derived tables as stored, and the ledger entries and
observation columns they are recomputed from (collector/proof/deepverify.py compares them)."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from collector.proof.canonical import loads
from collector.store.areas import ObservationColumns
from collector.store.numbering import REPEAT_COLUMNS, RebuiltRepeat, batch_received_at, rebuilt_repeats
from collector.store.repeats import id_key, id_text, rebuild
from collector.store.sqlite_parts import SqliteParts


class DerivedRows:
    """The tables as one consistent snapshot holds them (`SqliteStore.derived_rows`)."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def _all(self, sql: str) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql).fetchall()

    def observation_columns(self) -> Iterator[ObservationColumns]:
        """Every observation's index columns with its body, in the order they were stored."""
        yield from self._conn.execute("SELECT rowid, id, source, site, subject_kind, subject_id, kind, key,"
                                      " observed_at, received_at, seq, batch, body FROM observations ORDER BY rowid")

    def ledger_entries(self, types: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
        """(seq, parsed body) of the entries of these types, in seq order."""
        wanted = set(types)
        like = " OR ".join("CAST(body AS TEXT) LIKE ?" for _ in wanted)
        for seq, body in self._conn.execute(f"SELECT seq, body FROM ledger WHERE {like} ORDER BY seq",  # noqa: S608
                                            [f'%"type":"{t}"%' for t in sorted(wanted)]):
            try:
                entry = loads(body)
            except ValueError:  # an altered body: the chain check names it
                continue
            if isinstance(entry, dict) and entry.get("type") in wanted:
                yield seq, entry

    def batch_rows(self) -> Iterator[tuple[int, int, int]]:
        """(batch, arrival in epoch microseconds, the ledger head when it was stored) of every batch row."""
        yield from self._conn.execute("SELECT batch, received_us, after_seq FROM batches ORDER BY batch")

    def latest_rows(self) -> dict[tuple[str, str, str, str], tuple[int, float, int]]:
        """(subject kind, subject id, kind, key) -> the full row of the current meaning, the newest's time
        and number (the full row's, or its newest repeat's)."""
        return {(r[0], r[1], r[2], r[3]): (r[4], r[5], r[6]) for r in self._conn.execute(
            "SELECT subject_kind, subject_id, kind, key, obs_rowid, observed_at, coalesce(num, obs_rowid)"
            " FROM latest")}

    def rebuilt_repeats(self) -> Iterator[RebuiltRepeat]:
        """Every repeat in number order, its body rebuilt from its head's as it was received."""
        return rebuilt_repeats(self._conn)

    def bodies(self, rowids: list[int], repeats: Mapping[int, str] | None = None) -> dict[int, tuple[bytes, float]]:
        """rowid -> (body, received_at); the numbers in `repeats` (-> their ids) are repeats, rebuilt."""
        out: dict[int, tuple[bytes, float]] = {}
        if repeats:
            for num in [r for r in rowids if r in repeats]:
                found = self.repeat_body(repeats[num])
                if found is not None:
                    out[num] = found
            rowids = [r for r in rowids if r not in repeats]
        for i in range(0, len(rowids), 900):
            chunk = rowids[i:i + 900]
            out.update((r, (b, recv)) for r, b, recv in self._conn.execute(
                f"SELECT rowid, body, received_at FROM observations WHERE rowid IN ({','.join('?' * len(chunk))})",
                chunk))
        return out

    def finding_rows(self) -> list[tuple[Any, ...]]:
        """control, subject_kind, subject_id, site, status, since, evaluated_at, value, reason_zh, reason_en,
        evidence, severity."""
        return self._all("SELECT control, subject_kind, subject_id, site, status, since, evaluated_at, value,"
                         " reason_zh, reason_en, evidence, severity FROM findings")

    def interval_rows(self) -> list[tuple[Any, ...]]:
        """id, control, subject_kind, subject_id, site, status, start, end, value, reason_en, evidence, ledger_seq."""
        return self._all("SELECT id, control, subject_kind, subject_id, site, status, start, end, value, reason_en,"
                         " evidence, ledger_seq FROM finding_intervals ORDER BY id")

    def event_day_rows(self) -> dict[tuple[str, ...], int]:
        return {(str(sk), str(sid), str(kind), str(day)): int(n) for sk, sid, kind, day, n in self._all(
            "SELECT subject_kind, subject_id, kind, day, dropped FROM event_days")}

    def exception_rows(self) -> list[tuple[Any, ...]]:
        """id, control, subject_kind, subject_id, site, reason, owner, approver, created_at, starts_at, ends_at,
        ledger_seq."""
        return self._all("SELECT id, control, subject_kind, subject_id, site, reason, owner, approver, created_at,"
                         " starts_at, ends_at, ledger_seq FROM exceptions ORDER BY id")

    def attestation_rows(self) -> list[tuple[Any, ...]]:
        """id, period_start, period_end, user, created_at, corrects, snapshot_hash, body, signature, key_id,
        ledger_seq."""
        return self._all("SELECT id, period_start, period_end, user, created_at, corrects, snapshot_hash, body,"
                         " signature, key_id, ledger_seq FROM attestations ORDER BY id")

    def public_keys(self) -> dict[str, str]:
        """key id -> PEM of every site key the store has used."""
        return dict(self._conn.execute("SELECT key_id, pem FROM public_keys").fetchall())

    def repeat_body(self, obs_id: str) -> tuple[bytes, float] | None:
        """A repeat's body rebuilt from its head's, and when its batch arrived."""
        key = id_key(obs_id)
        row = None if key is None else self._conn.execute(
            f"SELECT {REPEAT_COLUMNS} FROM observation_repeats r JOIN observations o ON o.rowid = r.head"
            " WHERE r.id = ?", (key,)).fetchone()
        if row is None:
            return None
        body, received_at, rid, observed_at, seq, volatile, batch = row
        try:
            return (rebuild(body, id_text(rid), observed_at, seq, volatile),
                    batch_received_at(self._conn, batch, received_at))
        except (ValueError, TypeError, KeyError, OverflowError):
            return None


class SqliteDerived(SqliteParts):
    @contextmanager
    def derived_rows(self) -> Iterator[DerivedRows]:
        with self.snapshot() as conn:
            yield DerivedRows(conn)
