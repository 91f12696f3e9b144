"""`store stats` and the store's /metrics for a PostgreSQL store: the database's own sizes.

The database's disk belongs to the server, out of the collector's sight: its free bytes and the
day it is full are not reported (the server's own monitoring watches them); growth per day is.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime

from collector.store.stats import StoreStats, TableSize, day_sizes, growth_per_day, kind_sizes, ledger_growth

PG_UTC_DAY = "to_char(to_timestamp(received_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def measure_database(conn: sqlite3.Connection, tables: list[str], where: str, now: datetime,
                     days: int = 7) -> StoreStats:
    """The store's sizes read through `conn` (a PostgreSQL store's snapshot): evidence is its table."""
    total, evidence = conn.execute("SELECT pg_database_size(current_database()),"
                                   " pg_total_relation_size('evidence_blobs')").fetchone()
    stats = StoreStats(where, now.isoformat(), int(total) - int(evidence), int(evidence), disk_free_bytes=None)
    stats.tables = [TableSize(t, *conn.execute(f'SELECT count(*), pg_total_relation_size(?) FROM "{t}"',  # noqa: S608
                                               (t,)).fetchone()) for t in sorted(tables)]
    stats.kinds = kind_sizes(conn)
    stats.days = day_sizes(conn, now, days, PG_UTC_DAY)
    stats.growth_bytes_per_day = growth_per_day(stats.days, stats.file_bytes, sum(k.bytes for k in stats.kinds),
                                                ledger_growth(conn, now))
    return stats
