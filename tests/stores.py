"""What tests do to a store from outside its own API, the same way on every backend: open it again as
another process would, name it on the command line, or alter its rows as someone with access to the
database could."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from collector.store.base import Store

if TYPE_CHECKING:  # PostgresStore is one too: the same tables behind the same connection API
    from collector.store.sqlite import SqliteStore


def db_arg(store: Store) -> str:
    """What `--db` names this store by: its file, or its PostgreSQL URL."""
    url = getattr(store, "url", None)
    return url if url else str(getattr(store, "path"))  # noqa: B009 - a SQLite store's attribute only


def another_process(store: Store) -> Store:
    """The same store opened again: its own connections, engine and ledger head, as a command-line import
    next to the running service has."""
    url = getattr(store, "url", None)
    if url:
        from collector.store.postgres import PostgresStore

        return PostgresStore(url, site_key=store.site_key)
    from collector.store.sqlite import SqliteStore

    return SqliteStore(getattr(store, "path"), site_key=store.site_key)  # noqa: B009


def refusals() -> tuple[type[Exception], ...]:
    """What the backends raise when their schema refuses a change (a trigger on a table kept as written)."""
    try:
        from collector.store.postgres import DatabaseError
    except ImportError:  # psycopg is an extra
        return (sqlite3.IntegrityError,)
    return (sqlite3.IntegrityError, DatabaseError)


def tamper(store: SqliteStore, sql: str, *args: Any) -> None:
    """Run one statement behind the store's back (its ledger is not told), as an intruder would."""
    with store.write() as conn:
        conn.execute(sql, args)


def rewrite_bodies(store: SqliteStore, table: str, where: str, change: Callable[[bytes], bytes], *args: Any) -> int:
    """Replace the stored body of the rows of `table` matching `where` by `change(body)`; how many rows."""
    key = "seq" if table == "ledger" else "rowid"
    with store.write() as conn:
        rows = conn.execute(f"SELECT {key}, body FROM {table} WHERE {where}", args).fetchall()
        for k, body in rows:
            conn.execute(f"UPDATE {table} SET body = ? WHERE {key} = ?", (change(bytes(body)), k))
    return len(rows)
