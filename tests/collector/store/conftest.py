"""The store the contract tests run against: every backend named in BACKENDS, one test run each."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.store.base import Store, StoredFinding
from rules.model import EvidenceRef, Observation


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    from collector.store.sqlite import SqliteStore

    return SqliteStore(tmp_path / "cw.db")


def _postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A new database on the session's PostgreSQL server (tests/postgres_server.py)."""
    from collector.proof.sitekey import SiteKey
    from collector.store.postgres import PostgresStore

    key = SiteKey.load_or_create(tmp_path / "site-key.pem")
    return PostgresStore(request.getfixturevalue("postgres_url"), site_key=key)


# backend name -> a new, empty store for one test
BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Store]] = {"sqlite": _sqlite, "postgresql": _postgresql}


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = BACKENDS[request.param](request, tmp_path)
    yield s
    s.close()


@pytest.fixture
def backend_store(store: Store) -> Store:
    """The same store under the name the integrity tests use."""
    return store


T0 = datetime(2026, 11, 1, tzinfo=UTC)
EPOCH = datetime.fromtimestamp(0, UTC)


def obs(i: int, subject: str = "h1", kind: str = "usb.devices", t: datetime = T0, key: str = "", *,
        subject_kind: str = "host", site: str = "default", payload: dict[str, Any] | None = None,
        source: str = "t", seq: int | None = None, evidence: list[EvidenceRef] | None = None) -> Observation:
    return Observation(id=f"00000000-0000-0000-0000-{i:012d}", source=source, site=site, subject_kind=subject_kind,
                       subject_id=subject, kind=kind, key=key, observed_at=t, seq=seq,
                       payload={"i": i} if payload is None else payload, evidence=evidence or [])


def finding(status: str, since: datetime, *, control: str = "USB-BLOCK", subject: str = "h1",
            subject_kind: str = "host", site: str = "default") -> StoredFinding:
    return StoredFinding(control, subject_kind, subject, site, status, since, since, {"v": status},
                         f"zh {status}", f"en {status}", ["obs-1"], "critical")


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A small site's day in an SQLite file: terminals and a camera every two hours, evaluated, with a user,
    an evidence file and a checkpoint (`store copy`, `store backup`)."""
    from collector import auth
    from collector.demo import SimSite
    from collector.demo.run import write_history
    from collector.engine import Engine
    from collector.store.sqlite import SqliteStore
    from rules.catalog import default_catalog

    db = tmp_path / "site.db"
    store = SqliteStore(db)
    end = datetime.now(UTC).replace(microsecond=0)
    site = SimSite(terminals=3, cameras=1, start=end - timedelta(hours=12))
    write_history(store, Engine(store, list(default_catalog())), site, end, step=timedelta(hours=2))
    auth.add_user(store, "auditor", "auditor", "a long enough password 1", actor="test")
    store.put_evidence(b"signed visit log", "visit.pdf", "application/pdf")
    store.checkpoint()
    store.close()
    return db
