"""The PostgreSQL forms of ingest's writes: a batch's rows by COPY, its `latest` rows and its subjects
each in one statement whose values come as one binary array per column (collector/store/pgarrays.py).

Row by row (pipelined), or COPYed into a temporary table and inserted from it, an importer's batch of
500 keys cost seven statements and a temporary table written and emptied per upsert; a plan holds
each key and each subject once, so one INSERT ... ON CONFLICT takes them all."""
from __future__ import annotations

from collections.abc import Container
from typing import Any

from collector.store.batch_plan import Key, KeyState
from collector.store.pgarrays import (
    REPEAT_TYPES,
    BinaryArray,
    bytea_array,
    float8_array,
    int8_array,
    repeat_rows_copy,
    text_array,
)
from collector.store.pgconn import PgCatalog
from collector.store.pgcopy import copy_binary

# a plan's rows, each a row of these columns in order (collector/store/batch_plan.py); their types are
# read from the database (PgCatalog.types), so that binary COPY takes each value as its column's type
FULL_COLUMNS = ("observations", "rowid, id, source, site, subject_kind, subject_id, kind, key, observed_at,"
                " received_at, seq, batch, body")
REPEAT_COLUMNS = ("observation_repeats", "id, num, head, batch, observed_at, seq, volatile")

# a key's `latest` row: its four key columns, then the six the plan sets, each with the type of the array
# that _latest_columns sends for it
_LATEST_KEY = (("subject_kind", "text"), ("subject_id", "text"), ("kind", "text"), ("key", "text"))
_LATEST_SET = (("obs_rowid", "int8"), ("observed_at", "float8"), ("num", "int8"), ("repeat_id", "bytea"),
               ("meaning", "bytea"), ("repeats", "int8"))


def _latest_statements() -> tuple[str, str]:
    """The upsert and the update of `latest` rows from one array per column, both from the one column list."""
    columns = _LATEST_KEY + _LATEST_SET
    names = ", ".join(c for c, _ in columns)
    arrays = ", ".join(f"%b::{t}[]" for _, t in columns)
    upsert = (f"INSERT INTO latest ({names}) SELECT * FROM unnest({arrays}) ON CONFLICT"
              f" ({', '.join(c for c, _ in _LATEST_KEY)}) DO UPDATE SET "
              + ", ".join(f"{c} = excluded.{c}" for c, _ in _LATEST_SET))
    update = ("UPDATE latest SET " + ", ".join(f"{c} = u.{c}" for c, _ in _LATEST_SET)
              + f" FROM unnest({arrays}) AS u({names}) WHERE "
              + " AND ".join(f"latest.{c} = u.{c}" for c, _ in _LATEST_KEY))
    return upsert, update


_LATEST, _UPDATE_LATEST = _latest_statements()
# a subject seen again gets a later last_seen, and no new row version when it was seen later already
# (subjects known to be stored: the update, then how many of them it found, stored or not later)
_UPDATE_SUBJECTS = ("WITH u AS (SELECT * FROM unnest(%b::text[], %b::text[], %b::float8[]) AS u(k, i, t)),"
                    " seen AS (UPDATE subjects SET last_seen = u.t FROM u WHERE subjects.kind = u.k"
                    " AND subjects.id = u.i AND subjects.last_seen < u.t)"
                    " SELECT count(*) FROM subjects JOIN u ON subjects.kind = u.k AND subjects.id = u.i")
_SUBJECTS = ("INSERT INTO subjects (kind, id, site, first_seen, last_seen) SELECT k, i, s, t, t FROM"
             " unnest(%b::text[], %b::text[], %b::text[], %b::float8[]) AS r(k, i, s, t) ON CONFLICT (kind, id)"
             " DO UPDATE SET last_seen = excluded.last_seen WHERE subjects.last_seen < excluded.last_seen")


def insert_rows(conn: Any, full: list[tuple[Any, ...]], repeats: list[tuple[Any, ...]], catalog: PgCatalog) -> None:
    """SqliteObservations._insert_rows: each table's rows by one binary COPY, however few (a statement per
    row below COPY_FROM_ROWS cost more round trips than the rows), without the savepoint that a retry as
    text needs: these values are of their columns' types by construction. Repeats, most of what ingest
    writes, go as bytes built here in one pass while their columns are of the types those bytes encode
    (`catalog`: the store's, which reads each table's types once)."""
    if full:
        table, columns = FULL_COLUMNS
        copy_binary(conn.raw, table, columns, catalog.types(table, columns), full)
    if repeats:
        table, columns = REPEAT_COLUMNS
        types = catalog.types(table, columns)
        if types != REPEAT_TYPES:  # a column changed since repeat_rows_copy was written: psycopg dumps each value
            copy_binary(conn.raw, table, columns, types, repeats)
            return
        with conn.raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(repeat_rows_copy(repeats))


def upsert_latest(conn: Any, latest: dict[Key, KeyState], stored: Container[Key] = ()) -> None:
    """Each key's `latest` row as the plan left it, inserted or replacing the row there. The keys `stored`
    (read with a row when planned) are updated, which costs the database less per row than an upsert
    (that locks the row it conflicts with before updating it: 4.4 -> 2.8 us per row of 500 keys); should
    any of them have lost its row meanwhile (compaction), every key is upserted after all, the updated
    ones to the same values."""
    if not latest:
        return
    keys = list(latest)
    known = [k for k in keys if k in stored]
    if known and conn.raw.execute(_UPDATE_LATEST, _latest_columns(known, latest)).rowcount == len(known):
        keys = [k for k in keys if k not in stored]
    if keys:
        conn.raw.execute(_LATEST, _latest_columns(keys, latest))


def _latest_columns(keys: list[Key], latest: dict[Key, KeyState]) -> tuple[BinaryArray, ...]:
    states = [latest[k] for k in keys]
    return (text_array([k[0] for k in keys]), text_array([k[1] for k in keys]), text_array([k[2] for k in keys]),
            text_array([k[3] for k in keys]), int8_array([st.head for st in states]),
            float8_array([st.as_of for st in states]), int8_array([st.num for st in states]),
            bytea_array([st.repeat_id for st in states]), bytea_array([st.meaning for st in states]),
            int8_array([st.repeats for st in states]))


def upsert_subjects(conn: Any, subjects: dict[tuple[str, str], tuple[str, float]],
                    stored: Container[tuple[str, str]] = ()) -> None:
    """SqliteObservations._upsert_subjects: new subjects added, those seen again seen later. The subjects
    `stored` (of keys read with a `latest` row when planned) are updated, which costs the database less
    than an upsert (6.7 -> 3.1 us per subject of 500); should any of them have no row (never so as the
    store writes them), every subject is upserted after all, the updated ones left as they are now."""
    if not subjects:
        return
    named = list(subjects)
    known = [s for s in named if s in stored]
    if known:
        found = conn.raw.execute(_UPDATE_SUBJECTS, (text_array([s[0] for s in known]), text_array(
            [s[1] for s in known]), float8_array([subjects[s][1] for s in known]))).fetchone()[0]
        if found == len(known):
            named = [s for s in named if s not in stored]
    if named:
        seen = [subjects[s] for s in named]
        conn.raw.execute(_SUBJECTS, (text_array([s[0] for s in named]), text_array([s[1] for s in named]),
                                     text_array([v[0] for v in seen]), float8_array([v[1] for v in seen])))
