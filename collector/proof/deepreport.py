"""What `ledger verify --deep` found: the rows it compared and the first differences, table by table."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_DIFFERENCES = 1000


@dataclass
class Difference:
    table: str
    key: str
    column: str
    stored: Any
    recomputed: Any

    def text(self) -> str:
        return f"{self.table} {self.key}: {self.column} stored {self.stored!r}, recomputed {self.recomputed!r}"

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "key": self.key, "column": self.column, "stored": self.stored,
                "recomputed": self.recomputed}


@dataclass
class DeepReport:
    checked: dict[str, int] = field(default_factory=dict)  # rows compared, per table
    unchecked: dict[str, int] = field(default_factory=dict)  # rows that could not be recomputed, and why
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def compare(self, table: str, key: str, columns: Iterable[tuple[str, Any, Any]]) -> None:
        """Record every (column, stored, recomputed) that differs."""
        for column, stored, recomputed in columns:
            if stored != recomputed and len(self.differences) < MAX_DIFFERENCES:
                self.differences.append(Difference(table, key, column, stored, recomputed))

    def count(self, table: str, n: int = 1) -> None:
        self.checked[table] = self.checked.get(table, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "unchecked": self.unchecked,
                "differences": [d.as_dict() for d in self.differences],
                "first_difference": self.differences[0].text() if self.differences else None}


# an observation as its body and its batch's ledger entry (or row) give it: (received_at, rowid, subject kind,
# subject id, kind, key, observed_at, where its batch stands in the ledger: below an entry's seq when stored
# before that entry (a batch's own entry's seq; for a sealed batch, the ledger head when stored + 0.5)
Replayed = tuple[float, int, str, str, str, str, float, float]
