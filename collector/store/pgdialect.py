"""The SQL the SQLite store speaks, as PostgreSQL accepts it.

Store modules write their SQL once, for sqlite3: `?` placeholders and, where portable, `ON CONFLICT`
and `RETURNING`. This module rewrites such a statement for psycopg, once per distinct text:

- `?` becomes `%s` and a literal `%` becomes `%%` (outside quoted strings for `?`);
- `INSERT OR IGNORE` becomes `ON CONFLICT DO NOTHING`; `INSERT OR REPLACE` and an `ON CONFLICT DO
  UPDATE` without a target get the table's primary key as their target (PostgreSQL requires one);
- the column names `end` and `user`, reserved words in PostgreSQL, are quoted (SQL that also uses
  `CASE ... END` must quote them itself: `"end"`, which SQLite accepts too);
- two-argument `max(a, b)` / `min(a, b)` become `greatest` / `least`;
- `CAST(body AS TEXT)` (every `body` column is bytea here) becomes `convert_from(body, 'UTF8')`, and
  `CAST(body AS TEXT) LIKE pattern` a LIKE on the bytes (`body LIKE convert_to(pattern, 'UTF8')`);
- `last_insert_rowid()` becomes `lastval()`.

Not rewritten, so not portable: PRAGMA, executescript, cursor.lastrowid (use RETURNING), strftime.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

# a quoted string or identifier, or one character of anything else
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[\s\S]")
_RESERVED_COLUMNS = re.compile(r"(?<![\w\"])(end|user)(?![\w\"(])", re.IGNORECASE)
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\s+", re.IGNORECASE)
_OR_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*(\(([^)]*)\))?", re.IGNORECASE)
_INSERT_INTO = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)
_UNTARGETED_UPSERT = re.compile(r"ON\s+CONFLICT\s+DO\s+UPDATE", re.IGNORECASE)
_CAST_BODY = re.compile(r"CAST\((\w+\.)?body AS TEXT\)", re.IGNORECASE)
# matched after the placeholders are rewritten: the pattern is a string literal or %s
_CAST_BODY_LIKE = re.compile(r"CAST\((\w+\.)?body AS TEXT\)\s+LIKE\s+('(?:[^']|'')*'|%s)", re.IGNORECASE)
_MINMAX = re.compile(r"\b(max|min)\(", re.IGNORECASE)

# table -> (primary key columns, every column), read from the database's catalog
Catalog = Callable[[str], tuple[list[str], list[str]]]


def translate(sql: str, catalog: Catalog) -> str:
    return _translate(sql, catalog)


@lru_cache(maxsize=2048)
def _translate(sql: str, catalog: Catalog) -> str:
    quote = "CASE" not in sql.upper()
    out = _outside_strings(sql, lambda text: _plain_part(text, quote))
    # a filter compares bytes, so that a body altered into invalid UTF-8 is read (and named by ledger
    # verify) rather than failing the statement as convert_from would
    out = _CAST_BODY_LIKE.sub(lambda m: f"{m.group(1) or ''}body LIKE convert_to({m.group(2)}, 'UTF8')", out)
    out = _CAST_BODY.sub(lambda m: f"convert_from({m.group(1) or ''}body, 'UTF8')", out)
    out = _scalar_minmax(out)
    out = out.replace("last_insert_rowid()", "lastval()")
    if _OR_IGNORE.match(out):
        out = _append_conflict(_OR_IGNORE.sub("INSERT INTO ", out, count=1), "ON CONFLICT DO NOTHING")
    elif m := _OR_REPLACE.match(out):
        table = m.group(1)
        keys, columns = catalog(table)
        named = [c.strip().strip('"') for c in m.group(3).split(",")] if m.group(3) else columns
        sets = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in named if c not in keys)
        action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
        out = _append_conflict("INSERT INTO " + out[m.start(1):], f"ON CONFLICT ({_quoted(keys)}) {action}")
    elif _UNTARGETED_UPSERT.search(out) and (ins := _INSERT_INTO.match(out)):
        keys, _ = catalog(ins.group(1))
        out = _UNTARGETED_UPSERT.sub(f"ON CONFLICT ({_quoted(keys)}) DO UPDATE", out, count=1)
    return out


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _plain_part(text: str, quote_reserved: bool) -> str:
    """A stretch of SQL outside quotes."""
    if quote_reserved:
        text = _RESERVED_COLUMNS.sub(lambda m: f'"{m.group(1).lower()}"', text)
    return text.replace("%", "%%").replace("?", "%s")


def _outside_strings(sql: str, change: Callable[[str], str]) -> str:
    parts: list[str] = []
    plain: list[str] = []
    for tok in _TOKENS.findall(sql):
        if len(tok) > 1:  # a quoted string or identifier: only % is escaped
            parts.append(change("".join(plain)))
            plain = []
            parts.append(tok.replace("%", "%%"))
        else:
            plain.append(tok)
    parts.append(change("".join(plain)))
    return "".join(parts)


def _append_conflict(sql: str, clause: str) -> str:
    at = re.search(r"\bRETURNING\b", sql, re.IGNORECASE)
    if at:
        return f"{sql[:at.start()]}{clause} {sql[at.start():]}"
    return f"{sql.rstrip().rstrip(';')} {clause}"


def _scalar_minmax(sql: str) -> str:
    """max(a, b) -> greatest(a, b); the aggregate max(a) stays."""
    out, pos = [], 0
    for m in _MINMAX.finditer(sql):
        if m.start() < pos:
            continue
        depth, i, comma = 1, m.end(), False
        while i < len(sql) and depth:
            c = sql[i]
            depth += (c == "(") - (c == ")")
            comma = comma or (c == "," and depth == 1)
            i += 1
        if comma:
            out.append(sql[pos:m.start()])
            out.append("greatest(" if m.group(1).lower() == "max" else "least(")
            pos = m.end()
    out.append(sql[pos:])
    return "".join(out)
