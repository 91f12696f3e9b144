"""Shared fixtures: paths to the tender index, a temporary store, a clock."""
from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the project's copy of the tender: the catalog is checked against it, never against files beside the checkout
TENDER = ROOT / "rules" / "tender"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CLAUSEWATCH_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set CLAUSEWATCH_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def store(tmp_path: Path):
    from collector.store.sqlite import SqliteStore

    s = SqliteStore(tmp_path / "cw.db")
    yield s
    s.close()


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
