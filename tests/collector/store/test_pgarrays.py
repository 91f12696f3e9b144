"""Array parameters built in PostgreSQL's binary form read back as the values given, NULLs and
characters COPY's text form escapes included."""
from __future__ import annotations

import psycopg
import pytest

from collector.store.pgarrays import bytea_array, float8_array, int8_array, text_array
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
])
def test_values_read_back_as_given(conn, build, sql_type, values):
    got = [r[0] for r in conn.execute(f"SELECT v FROM unnest(%b::{sql_type}[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
                                      (build(values),))]
    assert [bytes(v) if isinstance(v, memoryview) else v for v in got] == values


def test_arrays_of_several_columns_unnest_into_rows(conn):
    rows = conn.execute("SELECT * FROM unnest(%b::text[], %b::int8[])",
                        (text_array(["a", "b"]), int8_array([1, None]))).fetchall()
    assert rows == [("a", 1), ("b", None)]
