"""What people put in: waivers (table `exceptions`) and signed attestations. Rows are only added,
each after the ledger entry that records it."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from collector.store.areas import AttestationRow, WaiverRow
from collector.store.sqlite_parts import SqliteParts, where_clause

_WAIVER_COLS = ("id, control, subject_kind, subject_id, site, reason, owner, approver, created_at, starts_at, ends_at,"
                " ledger_seq")
_ATTESTATION_COLS = "id, body, signature, key_id, ledger_seq"


class SqlitePeople(SqliteParts):
    def _add_after_entry(self, type_: str, actor: str, ledger_data: dict[str, Any], ts: datetime, insert: str,
                         values: tuple[Any, ...]) -> tuple[int, int]:
        """(row id, ledger seq): the ledger entry, then the row naming it (its last column), in one transaction."""
        with self.write() as conn:
            entry = self.ledger.append(conn, type_, actor, ledger_data, ts=ts)
            (row_id,) = conn.execute(insert, (*values, entry.seq)).fetchone()
        return row_id, entry.seq

    # -- waivers ------------------------------------------------------------------------------------
    def add_waiver(self, control: str, subject_kind: str, subject_id: str, site: str, reason: str, owner: str,
                   approver: str, starts_at: datetime, ends_at: datetime, ledger_data: dict[str, Any]
                   ) -> tuple[int, int]:
        return self._add_after_entry(
            "exception.approved", f"user:{approver}", ledger_data, starts_at,
            "INSERT INTO exceptions (control, subject_kind, subject_id, site, reason, owner, approver, created_at,"
            " starts_at, ends_at, ledger_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (control, subject_kind, subject_id, site, reason, owner, approver, starts_at.timestamp(),
             starts_at.timestamp(), ends_at.timestamp()))

    def waiver_rows(self, *, start: datetime | None = None, end: datetime | None = None,
                    site: str | None = None) -> list[WaiverRow]:
        where, args = where_clause([("starts_at < ?", end.timestamp() if end else None),
                                    ("ends_at > ?", start.timestamp() if start else None), ("site = ?", site)])
        return [WaiverRow(*r) for r in self._rows(f"SELECT {_WAIVER_COLS} FROM exceptions {where} ORDER BY id", args)]

    def waivers_at(self, at: datetime) -> list[WaiverRow]:
        t = at.timestamp()
        return [WaiverRow(*r) for r in self._rows(
            f"SELECT {_WAIVER_COLS} FROM exceptions WHERE starts_at <= ? AND ends_at > ? ORDER BY id", (t, t))]

    # -- attestations -------------------------------------------------------------------------------
    def add_attestation(self, start: datetime, end: datetime, user: str, created_at: datetime, corrects: int | None,
                        snapshot_hash: str, body: bytes, signature: str, ledger_data: dict[str, Any]
                        ) -> tuple[int, int]:
        return self._add_after_entry(
            "attestation", f"user:{user}", ledger_data, created_at,
            "INSERT INTO attestations (period_start, period_end, user, created_at, corrects, snapshot_hash, body,"
            " signature, key_id, ledger_seq) VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (start.timestamp(), end.timestamp(), user, created_at.timestamp(), corrects, snapshot_hash, body,
             signature, self.site_key.key_id))

    def attestation(self, attestation_id: int) -> AttestationRow | None:
        row = self._one(f"SELECT {_ATTESTATION_COLS} FROM attestations WHERE id = ?", (attestation_id,))
        return AttestationRow(*row) if row else None

    def attestations(self, *, start: datetime | None = None, end: datetime | None = None) -> list[AttestationRow]:
        where, args = where_clause([("period_start < ?", end.timestamp() if end else None),
                                    ("period_end > ?", start.timestamp() if start else None)])
        return [AttestationRow(*r) for r in
                self._rows(f"SELECT {_ATTESTATION_COLS} FROM attestations {where} ORDER BY id", args)]
