"""The running service's /metrics carries the store's size, free disk and growth."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_the_service_exports_the_store_size(collector):
    from prometheus_client.parser import text_string_to_metric_families

    collector.login("security")
    text = collector.client("security").get("/metrics").text
    got = {(s.name, tuple(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert got[("clausewatch_store_bytes", (("part", "database"),))] == pytest.approx(
        collector.db.stat().st_size + collector.db.with_name("cw.db-wal").stat().st_size, rel=0.5)
    assert got[("clausewatch_store_disk_free_bytes", ())] > 0
    assert got[("clausewatch_store_growth_bytes_per_day", ())] == 0  # a new store has no complete day yet
    assert ("clausewatch_store_disk_full_forecast_days", ()) not in got
