"""The PostgreSQL forms of the store's reads that have no SQL both databases accept."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
