"""The PostgreSQL forms of the store's reads that have no SQL both databases accept."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from collector.store.repeats import LATEST_STATE, Key, KeyState, id_key

# A body's payload as JSON. PostgreSQL's JSON refuses an escaped NUL (`\u0000`), which a sender may
# put in any string: it reads as U+FFFD instead (where `\u0000` follows an escaped backslash, the text
# stays valid JSON too), so that one forged observation cannot take every sensor's chart with it.
_PAYLOAD = "CAST(replace(CAST(body AS TEXT), '\\u0000', '\\ufffd') AS JSONB) -> 'payload'"


def payload_means_query(fields: Sequence[str]) -> tuple[str, list[Any]]:
    """SqliteReadModel.payload_means's query: the mean of each field's numbers per subject and bucket (a
    value that is not a JSON number counts as missing), averaged as numeric so that no sum overflows."""
    cols = ", ".join("avg(CASE WHEN jsonb_typeof(p -> CAST(? AS TEXT)) = 'number'"
                     " THEN CAST(p ->> CAST(? AS TEXT) AS NUMERIC) END)" for _ in fields)
    sql = (f"SELECT subject_id, b, {cols} FROM (SELECT subject_id, CAST(floor(observed_at / ?) AS BIGINT) AS b,"
           f" {_PAYLOAD} AS p FROM observations WHERE kind = ? AND observed_at >= ? AND subject_kind = ?) AS rows"
           " GROUP BY subject_id, b ORDER BY subject_id, b")
    return sql, [name for f in fields for name in (f, f)]


def stored_ids_any(conn: Any, ids: Sequence[str]) -> set[str]:
    """numbering.stored_ids with each table asked once, the ids as one array: a list of hundreds of
    placeholders is parsed and planned anew for every batch, an array parameter is not."""
    found = {r[0] for r in conn.execute("SELECT id FROM observations WHERE id = ANY(?)", (list(ids),))}
    keys = {k: x for x in ids if (k := id_key(x)) is not None}
    if keys:
        found.update(keys[bytes(r[0])] for r in conn.execute(
            "SELECT id FROM observation_repeats WHERE id = ANY(?)", (list(keys),)))
    return found


def key_states_unnest(conn: Any, keys: list[Key]) -> dict[Key, KeyState | None]:
    """repeats.key_states joining `latest` to the keys as four text arrays, one statement per batch."""
    out: dict[Key, KeyState | None] = dict.fromkeys(keys)
    if not keys:
        return out
    columns = [list(c) for c in zip(*keys, strict=True)]
    for r in conn.execute(
            f"SELECT {LATEST_STATE} FROM latest JOIN unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]),"
            " CAST(? AS TEXT[])) AS k(k_subject_kind, k_subject_id, k_kind, k_key) ON subject_kind = k_subject_kind"
            " AND subject_id = k_subject_id AND kind = k_kind AND key = k_key", columns):
        out[(r[0], r[1], r[2], r[3])] = KeyState(*r[4:])
    return out
