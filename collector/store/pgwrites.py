"""The PostgreSQL forms of ingest's writes: a batch's rows by COPY; the last number, its `latest` rows and
its subjects in one statement, whose values come as one binary array per column (collector/store/pgarrays.py).

Row by row (pipelined), or COPYed into a temporary table and inserted from it, an importer's batch of
500 keys cost seven statements and a temporary table written and emptied per upsert; a plan holds
each key and each subject once, so one INSERT ... ON CONFLICT takes each table's rows, and the three
tables' writes go as parts of one statement."""
from __future__ import annotations

from typing import Any

from collector.store.batch_plan import Key, KeyState
from collector.store.numbering import LAST_NUM
from collector.store.pgarrays import bytea_array, float8_array, int8_array, text_array
from collector.store.pgcopy import copy_binary

# a plan's rows, each value of its column's type (collector/store/batch_plan.py): binary COPY takes them all
_FULL = ("observations", "rowid, id, source, site, subject_kind, subject_id, kind, key, observed_at, received_at,"
         " seq, batch, body", ["int8", "text", "text", "text", "text", "text", "text", "text", "float8", "float8",
                              "int8", "int8", "bytea"])
_REPEATS = ("observation_repeats", "id, num, head, batch, observed_at, seq, volatile",
            ["bytea", "int8", "int8", "int8", "float8", "int8", "bytea"])

# SqliteObservations._write_state: a subject seen again gets a later last_seen, and no new row version
# when it was seen later already
_STATE = ("WITH last_num AS (INSERT INTO meta (key, value) VALUES (%(meta_key)s, %(last_num)s)"
          " ON CONFLICT (key) DO UPDATE SET value = excluded.value),"
          " latest_rows AS (INSERT INTO latest (subject_kind, subject_id, kind, key, obs_rowid, observed_at, num,"
          " repeat_id, meaning, repeats) SELECT * FROM unnest(%(l_subject_kind)b::text[], %(l_subject_id)b::text[],"
          " %(l_kind)b::text[], %(l_key)b::text[], %(l_head)b::int8[], %(l_as_of)b::float8[], %(l_num)b::int8[],"
          " %(l_repeat_id)b::bytea[], %(l_meaning)b::bytea[], %(l_repeats)b::int8[])"
          " ON CONFLICT (subject_kind, subject_id, kind, key) DO UPDATE SET obs_rowid = excluded.obs_rowid,"
          " observed_at = excluded.observed_at, num = excluded.num, repeat_id = excluded.repeat_id,"
          " meaning = excluded.meaning, repeats = excluded.repeats)"
          " INSERT INTO subjects (kind, id, site, first_seen, last_seen) SELECT k, i, s, t, t FROM"
          " unnest(%(s_kind)b::text[], %(s_id)b::text[], %(s_site)b::text[], %(s_seen)b::float8[]) AS r(k, i, s, t)"
          " ON CONFLICT (kind, id) DO UPDATE SET last_seen = excluded.last_seen"
          " WHERE subjects.last_seen < excluded.last_seen")


def insert_rows(conn: Any, full: list[tuple[Any, ...]], repeats: list[tuple[Any, ...]]) -> None:
    """SqliteObservations._insert_rows: each table's rows by one binary COPY, however few (a statement per
    row below COPY_FROM_ROWS cost more round trips than the rows), without the savepoint that a retry as
    text needs: these values are of their columns' types by construction."""
    for (table, columns, types), rows in ((_FULL, full), (_REPEATS, repeats)):
        if rows:
            copy_binary(conn.raw, table, columns, types, rows)


def write_state(conn: Any, last_num: int, latest: dict[Key, KeyState],
                subjects: dict[tuple[str, str], tuple[str, float]]) -> None:
    """SqliteObservations._write_state in one statement."""
    keys, states = list(latest), list(latest.values())
    named, seen = list(subjects), list(subjects.values())
    conn.raw.execute(_STATE, {
        "meta_key": LAST_NUM, "last_num": str(last_num),
        "l_subject_kind": text_array([k[0] for k in keys]), "l_subject_id": text_array([k[1] for k in keys]),
        "l_kind": text_array([k[2] for k in keys]), "l_key": text_array([k[3] for k in keys]),
        "l_head": int8_array([st.head for st in states]), "l_as_of": float8_array([st.as_of for st in states]),
        "l_num": int8_array([st.num for st in states]), "l_repeat_id": bytea_array([st.repeat_id for st in states]),
        "l_meaning": bytea_array([st.meaning for st in states]),
        "l_repeats": int8_array([st.repeats for st in states]),
        "s_kind": text_array([s[0] for s in named]), "s_id": text_array([s[1] for s in named]),
        "s_site": text_array([v[0] for v in seen]), "s_seen": float8_array([v[1] for v in seen])})
