"""The store's size, growth and disk-full forecast on /metrics, measured at most once per period."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collector.metrics_store import StoreSizeCollector
from collector.store.sqlite import SqliteStore
from rules.model import Observation

NOW = datetime.now(UTC)


def _obs(day: int, n: int) -> list[Observation]:
    return [Observation(source="agent:h", subject_kind="host", subject_id=f"h{i}", kind="av.status",
                        observed_at=NOW - timedelta(days=day), payload={"note": "x" * 300}) for i in range(n)]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _samples(collector: StoreSizeCollector) -> dict[tuple[str, tuple], float]:
    registry = CollectorRegistry()
    registry.register(collector)  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


@pytest.fixture
def store(tmp_path):
    """Always SQLite: the bytes on disk and the disk's free space are the file's (PostgreSQL keeps its own)."""
    s = SqliteStore(tmp_path / "cw.db")
    yield s
    s.close()


@pytest.mark.sqlite_file  # the size of the SQLite file and its write-ahead log
def test_a_growing_store_has_a_forecast(store):
    for day in (3, 2, 1):
        store.ingest(_obs(day, 50), actor="agent:h", received_at=NOW - timedelta(days=day))
    got = _samples(StoreSizeCollector(store, now=lambda: NOW))
    size = got[("clausewatch_store_bytes", (("part", "database"),))]
    assert size == store.path.stat().st_size + (store.path.with_name("cw.db-wal").stat().st_size
                                                if store.path.with_name("cw.db-wal").exists() else 0)
    growth = got[("clausewatch_store_growth_bytes_per_day", ())]
    assert 50 * 300 < growth < size
    free = got[("clausewatch_store_disk_free_bytes", ())]
    assert got[("clausewatch_store_disk_full_forecast_days", ())] == pytest.approx(free / growth, rel=0.01)


def test_a_store_that_does_not_grow_has_no_forecast(store):
    got = _samples(StoreSizeCollector(store, now=lambda: NOW))
    assert got[("clausewatch_store_growth_bytes_per_day", ())] == 0
    assert ("clausewatch_store_disk_full_forecast_days", ()) not in got
    assert ("clausewatch_store_disk_free_bytes", ()) in got


def test_measured_once_per_refresh_period(store):
    clock = Clock()
    collector = StoreSizeCollector(store, refresh_s=600, clock=clock, now=lambda: NOW)
    first = collector.current()
    store.ingest(_obs(1, 200), actor="agent:h", received_at=NOW - timedelta(days=1))
    clock.t += 599
    assert collector.current() is first
    clock.t += 1
    again = collector.current()
    assert again is not first and again.growth_bytes_per_day > first.growth_bytes_per_day == 0


@pytest.mark.sqlite_file
def test_a_capped_store_is_full_at_its_cap_not_at_the_disks_end(tmp_path):
    """CLAUSEWATCH_STORE_MAX_BYTES: writes are refused at the cap, so the forecast counts the room below it."""
    capped = SqliteStore(tmp_path / "cw.db", max_bytes=64 * 1024 * 1024)
    try:
        for day in (3, 2, 1):
            capped.ingest(_obs(day, 50), actor="agent:h", received_at=NOW - timedelta(days=day))
        got = _samples(StoreSizeCollector(capped, now=lambda: NOW))
    finally:
        capped.close()
    size = got[("clausewatch_store_bytes", (("part", "database"),))]
    growth = got[("clausewatch_store_growth_bytes_per_day", ())]
    free = got[("clausewatch_store_disk_free_bytes", ())]
    if free <= 64 * 1024 * 1024:
        pytest.skip("the test disk has less room than the cap")
    assert got[("clausewatch_store_disk_full_forecast_days", ())] == pytest.approx(
        (64 * 1024 * 1024 - size) / growth, rel=0.01)
