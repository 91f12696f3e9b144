"""The SQLite store's SQL as PostgreSQL takes it: placeholders, upserts, reserved column names."""
from __future__ import annotations

import pytest

from collector.store.pgdialect import translate

TABLES = {"checkpoints": (["seq"], ["seq", "hash", "ts", "signature", "key_id"]),
          "latest": (["subject_kind", "subject_id", "kind", "key"],
                     ["subject_kind", "subject_id", "kind", "key", "obs_rowid", "observed_at"]),
          "meta": (["key"], ["key", "value"])}


def catalog(table: str) -> tuple[list[str], list[str]]:
    return TABLES[table]


@pytest.mark.parametrize(("sqlite", "postgres"), [
    pytest.param("SELECT body FROM ledger WHERE seq = ? AND hash = '?'",
                 "SELECT body FROM ledger WHERE seq = %s AND hash = '?'", id="placeholders-not-in-strings"),
    pytest.param("SELECT 1 FROM ledger WHERE CAST(body AS TEXT) LIKE '%\"type\"%'",
                 "SELECT 1 FROM ledger WHERE body LIKE convert_to('%%\"type\"%%', 'UTF8')", id="bytea-like"),
    pytest.param("SELECT CAST(o.body AS TEXT) FROM o WHERE CAST(o.body AS TEXT) LIKE ? OR x = 1",
                 "SELECT convert_from(o.body, 'UTF8') FROM o WHERE o.body LIKE convert_to(%s, 'UTF8') OR x = 1",
                 id="bytea-as-text"),
    pytest.param("INSERT OR IGNORE INTO evidence VALUES (?,?)",
                 "INSERT INTO evidence VALUES (%s,%s) ON CONFLICT DO NOTHING", id="insert-or-ignore"),
    pytest.param("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                 'INSERT INTO meta VALUES (%s, %s) ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value"',
                 id="insert-or-replace"),
    pytest.param("INSERT OR REPLACE INTO checkpoints(seq, hash) VALUES (?, ?)",
                 'INSERT INTO checkpoints(seq, hash) VALUES (%s, %s) ON CONFLICT ("seq") DO UPDATE SET'
                 ' "hash" = EXCLUDED."hash"', id="insert-or-replace-named-columns"),
    pytest.param("INSERT INTO latest VALUES (?) ON CONFLICT DO UPDATE SET obs_rowid=excluded.obs_rowid",
                 'INSERT INTO latest VALUES (%s) ON CONFLICT ("subject_kind", "subject_id", "kind", "key") DO UPDATE'
                 " SET obs_rowid=excluded.obs_rowid", id="upsert-gets-its-target"),
    pytest.param("UPDATE finding_intervals SET end = ? WHERE end IS NULL AND fi.end > 0",
                 'UPDATE finding_intervals SET "end" = %s WHERE "end" IS NULL AND fi."end" > 0', id="end-quoted"),
    pytest.param("SELECT user FROM sessions WHERE user = ? AND users_count = 0",
                 'SELECT "user" FROM sessions WHERE "user" = %s AND users_count = 0', id="user-quoted"),
    pytest.param("SELECT CASE WHEN a THEN 1 END FROM t", "SELECT CASE WHEN a THEN 1 END FROM t", id="case-end-kept"),
    pytest.param("SET last_seen = max(subjects.last_seen, min(a, b)), n = max(n)",
                 "SET last_seen = greatest(subjects.last_seen, least(a, b)), n = max(n)", id="scalar-max-min"),
    pytest.param("SELECT last_insert_rowid()", "SELECT lastval()", id="last-rowid"),
    pytest.param("INSERT OR IGNORE INTO meta VALUES (?, ?) RETURNING key",
                 "INSERT INTO meta VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING key",
                 id="conflict-before-returning"),
])
def test_translate(sqlite: str, postgres: str):
    assert translate(sqlite, catalog) == postgres
