"""The PostgreSQL forms of reading the findings of many subjects and of writing a part of them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from collector.store.findings import FINDING_COLUMNS, REPLACE_FINDINGS
from collector.store.pgarrays import text_array

# the subjects as two text arrays in binary form, one statement however many: a list of hundreds of
# placeholders costs the driver more to parse, at every call, than the rows cost to read
_FINDINGS_OF = (f"SELECT {FINDING_COLUMNS} FROM findings WHERE (subject_kind, subject_id) IN"
                " (SELECT * FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[])))")

_INSERT_FINDINGS = REPLACE_FINDINGS.replace("INSERT OR REPLACE", "INSERT")  # by COPY (collector/store/pgconn.py)


def finding_rows_unnest(read: Any, pairs: Sequence[tuple[str, str]]) -> list[Sequence[Any]]:
    """SqliteFindings._finding_rows_of on PostgreSQL: the subjects as two text arrays, in one statement."""
    return read.execute(_FINDINGS_OF, [text_array([p[0] for p in pairs]), text_array([p[1] for p in pairs])]
                        ).fetchall()


def replace_findings_copying_new(conn: Any, rows: Sequence[Sequence[Any]], new: bool) -> None:
    """SqliteFindings._replace_findings on PostgreSQL: a part whose keys the engine knew no finding of (every
    part of a new site's first round) COPYed straight into `findings`, any other replaced through the staging
    table. Staged, each row was written twice and looked up again by the upsert: in a new site's first round
    that was the longest of its statements. Should a key taken for new be stored after all (another
    collector's finding), or come twice, the COPY is undone and the rows replaced as before."""
    if new and rows:
        try:
            with conn.raw.transaction():  # a savepoint: a refused COPY leaves nothing
                conn.executemany(_INSERT_FINDINGS, rows)
            return
        except psycopg.errors.UniqueViolation:
            pass
    conn.executemany(REPLACE_FINDINGS, rows)
