"""A PostgreSQL 15 for the benchmarks: the tests' own server (tests/postgres_server.py), on 127.0.0.1,
durability off, removed at the end. Benchmarks compare against a baseline on the same server."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postgres_server import PostgresServer, available, running  # noqa: E402

DURABILITY = "fsync, synchronous_commit and full_page_writes off, as in the tests"


@contextmanager
def local_postgres() -> Iterator[PostgresServer]:
    if not available():
        raise SystemExit("PostgreSQL 15 is not installed (deploy/apt/postgres.txt)")
    with running() as server:
        yield server
