"""The ledger as the store protocol offers it: entries and checkpoints read back, events recorded."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from collector.store.ledger_table import iter_rows
from collector.store.sqlite_parts import SqliteParts, insert_event


class SqliteLedgerRows(SqliteParts):
    def ledger_head(self) -> int:
        return self.ledger.last_seq

    def ledger_head_stored(self) -> int:
        return int(self._one("SELECT COALESCE(MAX(seq), 0) FROM ledger")[0])

    def ledger_entry(self, seq: int) -> tuple[str, bytes] | None:
        row = self._one("SELECT hash, body FROM ledger WHERE seq = ?", (seq,))
        return (row[0], row[1]) if row else None

    def ledger_entries(self, first: int, last: int) -> Iterator[tuple[int, str, bytes]]:
        return iter_rows(self.read, first, last)

    def checkpoint_at_or_after(self, seq: int) -> int | None:
        return self._one("SELECT MIN(seq) FROM checkpoints WHERE seq >= ?", (seq,))[0]

    def checkpoints_between(self, first: int, last: int) -> list[tuple[int, str, str, str, str]]:
        return self._rows("SELECT seq, hash, ts, signature, key_id FROM checkpoints WHERE seq BETWEEN ? AND ?"
                          " ORDER BY seq", (first, last))

    def checkpoint_summary(self) -> tuple[int, str | None]:
        count, newest = self._one("SELECT count(*), max(ts) FROM checkpoints")
        return count, newest

    def record_event(self, type_: str, actor: str, data: dict[str, Any], *, ts: datetime, subject: tuple[str, str],
                     site: str, detail: str, control: str | None = None, status: str | None = None) -> int:
        with self.write() as conn:
            entry = self.ledger.append(conn, type_, actor, data, ts=ts)
            insert_event(conn, ts.timestamp(), type_, subject, site, detail, entry.seq, control=control,
                         status=status)
        return entry.seq
