"""COPY of many rows on PostgreSQL: binary when every value is of its column's type, as text (what an
INSERT of the same values stores) when one is not, and nothing half-written either way."""
from __future__ import annotations

import psycopg
import pytest

from collector.store.pgconn import configure
from collector.store.pgcopy import copy_rows

COLUMNS, TYPES = 'name, n, at, body, "end"', ["text", "int8", "float8", "bytea", "float8"]


@pytest.fixture
def conn(postgres_url: str):
    with psycopg.connect(postgres_url) as c:
        configure(c)  # as the store's pool does
        c.execute('CREATE TABLE t (name TEXT, n BIGINT, at DOUBLE PRECISION, body BYTEA, "end" DOUBLE PRECISION)')
        c.commit()
        yield c


def stored(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute('SELECT name, n, at, body, "end" FROM t ORDER BY n').fetchall()


def test_rows_of_their_columns_types_are_stored_as_given(conn):
    rows = [(f"名 {i}\t\\\n", i, 1.7e9 + i / 8, bytes(range(256)), None) for i in range(100)]
    copy_rows(conn, "t", COLUMNS, TYPES, rows)
    assert stored(conn) == rows


def test_values_only_text_takes_are_stored_as_an_insert_would_store_them(conn):
    """An integer into a text column, a whole number into a float, a flag into an integer: sqlite3's values."""
    rows = [(i, True if i == 7 else i, 5, b"x", None) for i in range(100)]
    copy_rows(conn, "t", COLUMNS, TYPES, rows)
    assert stored(conn)[:2] == [("0", 0, 5.0, b"x", None), ("1", 1, 5.0, b"x", None)]
    assert len(stored(conn)) == 100 and ("7", 1, 5.0, b"x", None) in stored(conn)


def test_a_batch_the_column_types_refuse_leaves_no_row(conn):
    rows = [("a", 1, 1.0, b"x", None)] * 99 + [("a", "not a number", 1.0, b"x", None)]
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        copy_rows(conn, "t", COLUMNS, TYPES, rows)
    conn.rollback()
    assert stored(conn) == []
