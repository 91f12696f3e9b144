"""The PostgreSQL form of reading the findings of many subjects."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from collector.store.findings import FINDING_COLUMNS
from collector.store.pgarrays import text_array

# the subjects as two text arrays in binary form, one statement however many: a list of hundreds of
# placeholders costs the driver more to parse, at every call, than the rows cost to read
_FINDINGS_OF = (f"SELECT {FINDING_COLUMNS} FROM findings WHERE (subject_kind, subject_id) IN"
                " (SELECT * FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[])))")


def finding_rows_unnest(read: Any, pairs: Sequence[tuple[str, str]]) -> list[Sequence[Any]]:
    """SqliteFindings._finding_rows_of on PostgreSQL: the subjects as two text arrays, in one statement."""
    return read.execute(_FINDINGS_OF, [text_array([p[0] for p in pairs]), text_array([p[1] for p in pairs])]
                        ).fetchall()
