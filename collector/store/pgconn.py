"""psycopg connections that take the store's sqlite3-style calls: `execute(sql, args)` with `?`
placeholders (translated by collector/store/pgdialect.py), `executemany`, rows as tuples."""
from __future__ import annotations

import re
import select
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg_pool import ConnectionPool, PoolTimeout

from collector.store.base import StoreFull, StoreUnavailable
from collector.store.pgarrays import register_arrays
from collector.store.pgcopy import copy_rows
from collector.store.pgdialect import translate

# a plain insert, each value given as a placeholder: rows that COPY can carry (every column of the
# table, in its order, when none are listed)
_PLAIN_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)\s*(?:\(([^)]*)\))?\s*VALUES\s*\((\s*\?\s*,?)+\)\s*;?\s*$",
                           re.IGNORECASE)
COPY_FROM_ROWS = 64  # fewer rows go as one pipelined statement each
_UPSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)\s*(\(([^)]*)\))?\s*VALUES\s*\((\s*\?\s*,?)+\)\s*ON\s+CONFLICT\b.*$",
                     re.IGNORECASE | re.DOTALL)
# sqlite3's replace of placeholder rows, which pgdialect.py turns into an upsert on the primary key
_OR_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+(\w+)\s*(\(([^)]*)\))?\s*"
                         r"VALUES\s*\((\s*\?\s*,?)+\)\s*;?\s*$", re.IGNORECASE)
_PLACEHOLDER_ROW = re.compile(r"VALUES\s*\((\s*%s\s*,?)+\)", re.IGNORECASE)
_INSERT_TABLE = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+(\w+)", re.IGNORECASE)
INT8_OID = 20


class BoolAsInteger(Dumper):
    """True and False as 1 and 0, as sqlite3 stores them: the flag columns are integers."""

    oid = INT8_OID

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


def configure(conn: psycopg.Connection) -> None:
    """What every pooled connection needs to take the store's sqlite3-style arguments."""
    conn.adapters.register_dumper(bool, BoolAsInteger)
    register_arrays(conn)


class StorePool(ConnectionPool):
    """The store's connections. Each is checked as it is handed out, so after a server restart the
    stale ones are replaced instead of failing a request each; a database that cannot be reached
    within the pool's timeout, or a connection lost midway, is StoreUnavailable (the API's 503)."""

    @staticmethod
    def check_quietly(conn: psycopg.Connection[Any]) -> None:
        """The pool's check (a round trip), asked only of a connection on whose socket something arrived while
        it sat idle: a server that ends a connection (a restart, a terminated backend, a crash) says so there or
        closes it, either of which makes it readable. An ingested batch takes two connections in turn, and
        the round trip of each check cost both sides more than a few of the batch's statements."""
        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE or \
                select.select([conn.fileno()], [], [], 0)[0]:
            ConnectionPool.check_connection(conn)

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection[Any]]:
        try:
            with super().connection(timeout) as conn:
                yield conn
        except PoolTimeout as e:
            raise StoreUnavailable(f"{self.name}: no database connection ({e})") from e
        except psycopg.errors.DiskFull as e:
            # the server's disk has no room: as a full SQLite disk, the write is undone and the StoreFull alert
            # fires; the sender is asked back in minutes, not seconds (collector/api/errors.py)
            raise StoreFull(f"{self.name}: {' '.join(str(e).split())[:300]}") from e
        except psycopg.OperationalError as e:
            # the server went away, was shut down or refused for now (too many clients, a restart)
            raise StoreUnavailable(f"{self.name}: {' '.join(str(e).split())[:300]}") from e


class PgCatalog:
    """Primary keys, columns, their types and generated id column per table, read once from the database."""

    def __init__(self, pool: ConnectionPool):
        self._pool = pool
        self._tables: dict[str, tuple[list[str], list[str]]] = {}
        self._identities: dict[str, str | None] = {}
        self._types: dict[tuple[str, str], list[str]] = {}

    def __call__(self, table: str) -> tuple[list[str], list[str]]:
        if table not in self._tables:
            with self._pool.connection() as conn:
                self._tables[table] = (primary_key(conn, table), table_columns(conn, table))
        return self._tables[table]

    def types(self, table: str, columns: str) -> list[str]:
        """The type names of `columns` (a column list as SQL, names quoted or not) of `table`, in order."""
        key = (table, columns)
        if key not in self._types:
            with self._pool.connection() as conn:
                named: dict[str, str] = dict(conn.execute(
                    "SELECT column_name, udt_name FROM information_schema.columns WHERE table_schema = current_schema()"
                    " AND table_name = %s", (table,)).fetchall())
            self._types[key] = [named[c.strip().strip('"')] for c in columns.split(",")]
        return self._types[key]

    def identity(self, table: str) -> str | None:
        """The column whose value the database generates (sqlite3's rowid alias), if any."""
        if table not in self._identities:
            with self._pool.connection() as conn:
                row = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema ="
                                   " current_schema() AND table_name = %s AND is_identity = 'YES'", (table,)).fetchone()
            self._identities[table] = row[0] if row else None
        return self._identities[table]


def primary_key(conn: psycopg.Connection, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
        " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(%s) AND i.indisprimary"
        " ORDER BY array_position(i.indkey, a.attnum)", (table,))]


def table_columns(conn: psycopg.Connection, table: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = %s ORDER BY ordinal_position", (table,))]


class PgConnection:
    """One psycopg connection (inside the caller's transaction, if any). `stream` (inside a
    transaction only): a SELECT's rows come from the server as they are read, not all at once, so
    that walking every observation (`ledger verify`) holds a few thousand rows in memory."""

    def __init__(self, conn: psycopg.Connection, catalog: PgCatalog, *, stream: bool = False):
        self.raw = conn
        self._catalog = catalog
        self._stream = stream
        self._cursors = 0

    def execute(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor[Any] | psycopg.ServerCursor[Any] | Rows:
        if self._stream and sql.lstrip()[:6].upper() == "SELECT":
            self._cursors += 1
            cur = self.raw.cursor(name=f"clausewatch_{self._cursors}")
            cur.itersize = 5000
            cur.execute(translate(sql, self._catalog), tuple(args))
            return cur
        insert = _INSERT_TABLE.match(sql)
        if insert and "RETURNING" not in sql.upper() and (ident := self._catalog.identity(insert.group(1))):
            return _with_lastrowid(self.raw.execute(f'{translate(sql, self._catalog)} RETURNING "{ident}"',
                                                    tuple(args)))
        return self.raw.execute(translate(sql, self._catalog), tuple(args))

    def executemany(self, sql: str, rows: Any) -> psycopg.Cursor:
        """Many rows of one statement; a plain insert of many rows goes by COPY (bulk ingest)."""
        cur = self.raw.cursor()
        plain = _PLAIN_INSERT.match(sql)
        if plain and isinstance(rows, Sequence) and len(rows) >= COPY_FROM_ROWS:
            columns = translate(plain.group(2), self._catalog) if plain.group(2) else \
                ", ".join(f'"{c}"' for c in self._catalog(plain.group(1))[1])  # quotes end and user
            copy_rows(self.raw, plain.group(1), columns, self._catalog.types(plain.group(1), columns), rows)
            return cur
        upsert = _UPSERT.match(sql) or _OR_REPLACE.match(sql)
        if upsert and isinstance(rows, Sequence) and len(rows) >= COPY_FROM_ROWS and self._staged(upsert, rows):
            return cur
        cur.executemany(translate(sql, self._catalog), rows)
        return cur

    def _staged(self, upsert: re.Match[str], rows: Sequence[Any]) -> bool:
        """An upsert (or replace) of many rows as one statement: the rows COPYed into a temporary table, then
        inserted from it. False (nothing changed) when two rows update one key, which only one
        statement per row does as sqlite3 would."""
        table = upsert.group(1)
        columns = translate(upsert.group(3), self._catalog) if upsert.group(3) else \
            ", ".join(f'"{c}"' for c in self._catalog(table)[1])
        # one staging table per session and column list, emptied at each commit: creating and dropping
        # one per batch writes the system catalog twice per batch
        stage = f"clausewatch_stage_{table}_{zlib.crc32(columns.encode()):08x}"
        statement = _PLACEHOLDER_ROW.sub(f"SELECT {columns} FROM {stage}", translate(upsert.group(0), self._catalog),
                                         count=1)
        try:
            with self.raw.transaction(), self.raw.cursor() as cur:  # a savepoint inside the caller's transaction
                cur.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS SELECT {columns}"
                            f" FROM {table} WITH NO DATA")
                copy_rows(self.raw, stage, columns, self._catalog.types(table, columns), rows)
                cur.execute(statement)
                cur.execute(f"DELETE FROM {stage}")  # the next upsert of this transaction starts empty
        except psycopg.errors.CardinalityViolation:
            return False
        return True


def _with_lastrowid(cur: psycopg.Cursor[Any]) -> Rows:
    """An insert's result as sqlite3 gives it: no rows, and the new row's id as `lastrowid`."""
    row = cur.fetchone()
    out = Rows([], cur.rowcount)
    out.lastrowid = row[0] if row else None
    return out


class Rows:
    """A statement's rows, fetched before its connection went back to the pool."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int):
        self._rows, self.rowcount = rows, rowcount
        self._next = 0
        self.lastrowid: int | None = None

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rest, self._next = self._rows[self._next:], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


class PooledReader:
    """`store.read`: each statement on a pooled connection in autocommit, so that a reading thread
    holds no connection between statements."""

    def __init__(self, pool: ConnectionPool, catalog: PgCatalog):
        self._pool, self._catalog = pool, catalog

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        with self._pool.connection() as conn:
            cur = PgConnection(conn, self._catalog).execute(sql, args)
            if isinstance(cur, Rows):
                return cur
            return Rows(cur.fetchall() if cur.description else [], cur.rowcount)

    def executemany(self, sql: str, rows: Any) -> Rows:
        with self._pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(translate(sql, self._catalog), rows)
            return Rows([], cur.rowcount)
