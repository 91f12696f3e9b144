"""The PostgreSQL forms of the store's reads that have no SQL both databases accept."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from collector.store import kind_pages
from collector.store.batch_plan import LATEST_STATE, Key, KeyState
from collector.store.kind_pages import FULL_ROW_COLUMNS, full_rows, period_bounds, subject_filter
from collector.store.pgarrays import bytea_array, text_array
from collector.store.repeats import IdKey, id_key
from collector.store.sqlite_parts import where_clause
from collector.store.web_reads import spans_of

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


# Each id looked up by its index, one probe per id: given the ids as one array, the planner would
# rather scan a table it thinks small (under about a million rows), which costs more as it grows. Full
# rows and repeats in one statement: a round trip per table costs both sides more than the lookups.
_STORED = ("SELECT o.id, NULL::bytea FROM unnest(%b::text[]) AS k(id)"
           " CROSS JOIN LATERAL (SELECT id FROM observations WHERE id = k.id OFFSET 0) AS o"
           " UNION ALL SELECT NULL, r.id FROM unnest(%b::bytea[]) AS k(id)"
           " CROSS JOIN LATERAL (SELECT id FROM observation_repeats WHERE id = k.id OFFSET 0) AS r")
_KEY_STATES = (f"SELECT {LATEST_STATE} FROM latest JOIN unnest(%b::text[], %b::text[], %b::text[], %b::text[])"
               " AS k(k_subject_kind, k_subject_id, k_kind, k_key) ON subject_kind = k_subject_kind"
               " AND subject_id = k_subject_id AND kind = k_kind AND key = k_key")


def stored_ids_any(conn: Any, ids: Sequence[str], key_of: Callable[[str], IdKey | None] = id_key) -> set[str]:
    """numbering.stored_ids in one statement, the ids as arrays in binary form (a list of hundreds of
    placeholders is parsed and planned anew for every batch, and an array in text form costs more to
    write than the lookup). `key_of`: repeats.id_key, or a memo of it that the batch's plan reads again."""
    keys = {k: x for x in ids if (k := key_of(x)) is not None}
    found: set[str] = set()
    for full, repeat in conn.raw.execute(_STORED, (text_array(ids), bytea_array(list(keys)))):
        found.add(full if repeat is None else keys[bytes(repeat)])
    return found


def key_states_unnest(conn: Any, keys: list[Key]) -> dict[Key, KeyState | None]:
    """repeats.key_states joining `latest` to the keys as four text arrays (binary), one statement per batch;
    the rows come back in binary form too (numbers and bytes as they are: a fifth less of this process's
    CPU per key than parsing their text)."""
    out: dict[Key, KeyState | None] = dict.fromkeys(keys)
    if not keys:
        return out
    for r in conn.raw.execute(_KEY_STATES, [text_array([k[c] for k in keys]) for c in range(4)], binary=True):
        out[(r[0], r[1], r[2], r[3])] = KeyState(*r[4:])
    return out


def recent_numbers_counted(conn: Any, kind: str, subject_kind: str | None, subject_id: str | None,
                           start: float, end: float, limit: int) -> list[int] | None:
    """kind_pages.recent_numbers with the rows filtered by the server, which stops at the page's last; the
    rows looked through are counted (in obs_time alone) only when they did not fill the page."""
    recent = min(kind_pages.RECENT_PER_ROW * limit, kind_pages.RECENT_MAX)
    where, args = where_clause([("w.kind = ?", kind), ("w.subject_kind = ?", subject_kind),
                                ("w.subject_id = ?", subject_id)])
    page = [r[0] for r in conn.execute(
        "SELECT w.rowid FROM (SELECT rowid, observed_at, kind, subject_kind, subject_id FROM observations"
        " WHERE observed_at >= ? AND observed_at < ? ORDER BY observed_at DESC, rowid DESC LIMIT ?) AS w"
        f" {where} ORDER BY w.observed_at DESC, w.rowid DESC LIMIT ?", [start, end, recent, *args, limit])]
    if len(page) >= limit:
        return page
    seen = conn.execute("SELECT count(*) FROM (SELECT 1 FROM observations WHERE observed_at >= ? AND observed_at < ?"
                        " ORDER BY observed_at DESC LIMIT ?) AS w", [start, end, recent]).fetchone()[0]
    return page if seen < recent else None  # these were all the observations of the period


# kind_pages.kind_page in one statement: each subject's newest observation of the kind (a LATERAL probe of
# obs_subject_kind_time per subject); the `limit`-th newest of those times is a bound no row of the page is
# older than (that many rows are at least as new), so each subject at least that new is read back to it,
# at most `limit` rows each and those of the last one's time (read in the index's order, which stops there,
# where ordering by number too would read and sort every row back to the bound); then the page's bodies
_KIND_PAGE = (
    "WITH newest AS MATERIALIZED (SELECT s.kind AS sk, s.id AS sid, n.observed_at AS t FROM subjects s"
    " CROSS JOIN LATERAL (SELECT o.observed_at FROM observations o WHERE o.subject_kind = s.kind"
    " AND o.subject_id = s.id AND o.kind = ? AND o.observed_at >= ? AND o.observed_at < ?"
    " ORDER BY o.observed_at DESC LIMIT 1) AS n {subjects}),"
    " cut AS MATERIALIZED (SELECT coalesce((SELECT t FROM newest ORDER BY t DESC OFFSET ? LIMIT 1), ?) AS t),"
    " page AS MATERIALIZED (SELECT p.observed_at, p.rowid FROM newest CROSS JOIN cut CROSS JOIN LATERAL"
    " (SELECT o.observed_at, o.rowid FROM observations o WHERE o.subject_kind = newest.sk"
    " AND o.subject_id = newest.sid AND o.kind = ? AND o.observed_at >= cut.t AND o.observed_at < ?"
    " ORDER BY o.observed_at DESC FETCH FIRST ? ROWS WITH TIES) AS p WHERE newest.t >= cut.t"
    " ORDER BY p.observed_at DESC, p.rowid DESC LIMIT ?)"
    f" SELECT {FULL_ROW_COLUMNS} FROM page JOIN observations USING (rowid)"
    " ORDER BY page.observed_at DESC, page.rowid DESC")


def kind_page_lateral(conn: Any, kind: str, subject_kind: str | None, subject_id: str | None,
                      since: datetime | None, until: datetime | None, limit: int) -> list[tuple[Any, ...]]:
    """kind_pages.kind_page, its walk per subject in one statement (a round trip per subject would cost
    more than its probe)."""
    start, end = period_bounds(since, until)
    numbers = recent_numbers_counted(conn, kind, subject_kind, subject_id, start, end, limit)
    if numbers is not None:
        return list(full_rows(conn, numbers))
    where, args = subject_filter(subject_kind, subject_id)
    return conn.execute(_KIND_PAGE.format(subjects=where),
                        [kind, start, end, *args, limit - 1, start, kind, end, limit, limit]).fetchall()


# first: the samples before the span's start, as the samples at or after it (their negatives, ascending, at or
# below its negative) taken from all; stop: the samples at or before its end less a microsecond, or all of them
# while it is open. width_bucket counts the array's elements at or below a value, in the same float8 arithmetic
_SPAN_COUNTS = ("SELECT control, ? - width_bucket(-start, CAST(? AS DOUBLE PRECISION[])),"
                " coalesce(width_bucket(end - 1e-6, CAST(? AS DOUBLE PRECISION[])), ?), count(*) FROM ({})"
                " AS spans GROUP BY 1, 2, 3")


def span_counts_bucketed(conn: Any, status: str, samples: Sequence[float]) -> list[tuple[str, int, int, int]]:
    """status_span_counts counted by the server: a bad month has tens of thousands of failing spans in the last
    30 days, which cost more to send and count one by one than the few hundred (control, first, stop) rows."""
    days, ascending = len(samples), [float(s) for s in samples]
    negated = [-s for s in reversed(ascending)]
    args = (days, negated, ascending, days, status, ascending[-1], status, ascending[0], ascending[-1])
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(_SPAN_COUNTS.format(spans_of(status)), args)]
