"""Rows into a table by COPY: in PostgreSQL's binary format when every value is of its column's type,
else as text.

Binary rows cost the database no parsing and this process about a third of the CPU per row (a bytea
value goes as its bytes, not twice as many hex digits: the ledger's bodies). Store modules pass the
values sqlite3 takes, which text COPY converts as an INSERT would (an integer into a text column, a
numeric string into a number); binary COPY refuses those, so such a batch is written again as text."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

# the exceptions a value that does not fit its column's binary form raises as the row is written
_NOT_BINARY = (TypeError, ValueError, OverflowError, psycopg.DataError)


def copy_binary(conn: psycopg.Connection[Any], table: str, columns: str, types: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """COPY `rows` in binary form, each value of its column's type (else the COPY, and the caller's
    transaction, fails)."""
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def copy_rows(conn: psycopg.Connection[Any], table: str, columns: str, types: Sequence[str],
              rows: Sequence[Sequence[Any]]) -> None:
    """COPY `rows` into `table` (`columns`: the column list as SQL; `types`: their type names, in order)
    inside the caller's transaction."""
    try:
        with conn.transaction():  # a savepoint: a refused binary batch leaves nothing
            copy_binary(conn, table, columns, types, rows)
        return
    except _NOT_BINARY:
        pass
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
