"""Shared fixtures: paths to the tender index, a temporary store, a clock."""
from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the project's copy of the tender: the catalog is checked against it, never against files beside the checkout
TENDER = ROOT / "rules" / "tender"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow = os.environ.get("CLAUSEWATCH_SLOW") != "1"
    # the SQLite file behind the store has no counterpart on the server backend
    sqlite_file = os.environ.get("CLAUSEWATCH_TEST_STORE") == "postgresql"
    for item in items:
        if slow and "slow" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="slow: set CLAUSEWATCH_SLOW=1 to run"))
        if sqlite_file and "sqlite_file" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="about the SQLite file itself: CLAUSEWATCH_TEST_STORE=sqlite"))


@pytest.fixture(scope="session", autouse=True)
def _password_hashed_once_per_run() -> Iterator[None]:
    """Accounts set up in the tests' own process take their password's Argon2 hash from the first hash of that
    password this run (the same parameters, a salt of that first hash) instead of hashing again: each hash
    costs 64 MiB and a fifth of a second of both cores, and most fixtures add five accounts. What the service
    stores and verifies is still a real hash of the password; collectors started as processes hash as ever."""
    from argon2 import PasswordHasher

    from collector import auth

    class HashOncePerPassword(PasswordHasher):
        __slots__ = ("_hashes",)

        def __init__(self) -> None:
            super().__init__()
            self._hashes: dict[str | bytes, str] = {}

        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            if salt is not None:
                return super().hash(password, salt=salt)
            if password not in self._hashes:
                self._hashes[password] = super().hash(password)
            return self._hashes[password]

    real = auth._hasher
    auth._hasher = HashOncePerPassword()
    yield
    auth._hasher = real


@pytest.fixture
def store(tmp_path: Path, request: pytest.FixtureRequest):
    """A new store; CLAUSEWATCH_TEST_STORE=postgresql makes it a database on the test PostgreSQL
    (to run any test module against that backend)."""
    if os.environ.get("CLAUSEWATCH_TEST_STORE") == "postgresql":
        from collector.proof.sitekey import SiteKey
        from collector.store.postgres import PostgresStore

        key = SiteKey.load_or_create(tmp_path / "site-key.pem")
        s = PostgresStore(request.getfixturevalue("postgres_url"), site_key=key)
    else:
        from collector.store.sqlite import SqliteStore

        s = SqliteStore(tmp_path / "cw.db")
    yield s
    s.close()


@pytest.fixture
def same_store_elsewhere(store: Any) -> Iterator[Any]:
    """The test's store opened a second time, as another process (a second collector) opens it."""
    from collector.store.sqlite import SqliteStore

    if type(store) is SqliteStore:
        other: Any = SqliteStore(store.path)
    else:
        from collector.store.postgres import PostgresStore

        assert isinstance(store, PostgresStore)
        other = PostgresStore(store.url, site_key=store.site_key)
    yield other
    other.close()


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL 15 for the whole run (tests/postgres_server.py), stopped and removed at the end."""
    from tests.postgres_server import available, running

    if not available():
        pytest.skip("PostgreSQL 15 not installed (deploy/apt/postgres.txt)")
    with running() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The URL of an empty database of this test's own, dropped after it. A PostgreSQL store's site
    key is a file of its own (CLAUSEWATCH_SITE_KEY): this test's, for the commands it runs too."""
    monkeypatch.setenv("CLAUSEWATCH_SITE_KEY", str(tmp_path / "site-key.pem"))
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
