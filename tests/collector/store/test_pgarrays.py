"""Array parameters built in PostgreSQL's binary form read back as the values given, NULLs and
characters COPY's text form escapes included."""
from __future__ import annotations

import psycopg
import pytest

from collector.store.pgarrays import bytea_array, float8_array, int8_array, repeat_rows_copy, text_array
from collector.store.pgconn import configure


@pytest.fixture
def conn(postgres_url: str):
    with psycopg.connect(postgres_url, autocommit=True) as c:
        configure(c)  # as the store's pool does
        yield c


@pytest.mark.parametrize(("build", "sql_type", "values"), [
    (text_array, "text", ["名 1\t\\\n", "", None, "x" * 70000, "'\"{},NULL"]),
    (bytea_array, "bytea", [bytes(range(256)), b"", None, b"\x00" * 16]),
    (int8_array, "int8", [0, -1, 2**63 - 1, -(2**63), None]),
    (float8_array, "float8", [1.7e9 + 0.125, -0.0, 1e-300, None, 5]),
    (text_array, "text", []),
    (text_array, "text", ["usb.devices"] * 3),  # one value throughout: encoded once
    (text_array, "text", ["名"]),
    (text_array, "text", [None, None]),
    (text_array, "text", ["a", "a", None]),
])
def test_values_read_back_as_given(conn, build, sql_type, values):
    got = [r[0] for r in conn.execute(f"SELECT v FROM unnest(%b::{sql_type}[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
                                      (build(values),))]
    assert [bytes(v) if isinstance(v, memoryview) else v for v in got] == values


@pytest.mark.parametrize("values", [["host"] * 500, ["名 2"] * 2, [""] * 3, ["a"], ["a", "a", "b"], ["a", None, "a"],
                                    [None, "a"]])
def test_a_text_column_of_one_value_is_the_bytes_of_one_built_value_by_value(values):
    from collector.store.pgarrays import TEXT_OID, TextArray, _array

    by_value = [b"\xff\xff\xff\xff" if v is None else len(v.encode()).to_bytes(4, "big") + v.encode() for v in values]
    assert text_array(values) == _array(TextArray, TEXT_OID, by_value, None in values)


def test_arrays_of_several_columns_unnest_into_rows(conn):
    rows = conn.execute("SELECT * FROM unnest(%b::text[], %b::int8[])",
                        (text_array(["a", "b"]), int8_array([1, None]))).fetchall()
    assert rows == [("a", 1), ("b", None)]


def test_repeat_rows_copied_as_built_here_read_back_as_written_row_by_row(conn):
    """The bytes built for a COPY of repeats are those psycopg writes value by value: the same rows back,
    NULL sequence numbers and volatile values, any id length and numbers at their limits included."""
    rows = [(bytes(range(16)), 1, 2, 3, 1.7e9 + 0.125, None, None),
            (b"\xff" * 16, 2**63 - 1, -(2**63), 0, -0.0, -(2**63), b""),
            (b"short", 7, 7, 7, 1e-300, 42, b'[[0,"x\\u0000"]]'),
            (b"\x00" * 16, 8, 1, 1, 5, 2**63 - 1, bytes(range(256)))]
    types = "id bytea, num int8, head int8, batch int8, observed_at float8, seq int8, volatile bytea"
    conn.execute(f"CREATE TEMPORARY TABLE built ({types})")
    conn.execute(f"CREATE TEMPORARY TABLE written ({types})")
    with conn.cursor() as cur, cur.copy("COPY built FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(repeat_rows_copy(rows))
    with conn.cursor() as cur, cur.copy("COPY written FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["bytea", "int8", "int8", "int8", "float8", "int8", "bytea"])
        for row in rows:
            copy.write_row(row)
    built, written = (conn.execute(f"SELECT * FROM {t} ORDER BY num").fetchall() for t in ("built", "written"))
    assert built == written and len(built) == len(rows)
    assert [bytes(r[0]) for r in built] == [r[0] for r in sorted(rows, key=lambda r: r[1])]


def test_no_repeat_rows_copy_as_an_empty_table(conn):
    conn.execute("CREATE TEMPORARY TABLE none_built (id bytea, num int8, head int8, batch int8, observed_at float8,"
                 " seq int8, volatile bytea)")
    with conn.cursor() as cur, cur.copy("COPY none_built FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(repeat_rows_copy([]))
    assert conn.execute("SELECT count(*) FROM none_built").fetchone()[0] == 0
