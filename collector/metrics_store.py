"""The store's size, growth per day and the days until its disk is full, for Prometheus.

Measuring counts every table's rows and walks the evidence folder, too slow for every scrape of a
large store: the measure is kept for `refresh_s` seconds and taken again on the first scrape after.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric

from collector.store.stats import StoreStats

if TYPE_CHECKING:
    from collector.store.base import Store

log = logging.getLogger(__name__)


class StoreSizeCollector:
    def __init__(self, store: Store, *, refresh_s: float = 600.0,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.store, self.refresh_s, self.clock, self.now = store, refresh_s, clock, now
        self._lock = threading.Lock()
        self._stats: StoreStats | None = None
        self._taken_at = 0.0

    def current(self) -> StoreStats:
        """The last measure, taken again when older than `refresh_s`."""
        with self._lock:
            if self._stats is None or self.clock() - self._taken_at >= self.refresh_s:
                self._stats = self.store.measure_size(self.now())
                self._taken_at = self.clock()
            return self._stats

    def days_until_full(self, s: StoreStats) -> float | None:
        """The measure's forecast, or sooner when the store is capped (CLAUSEWATCH_STORE_MAX_BYTES):
        it refuses writes at its cap however much of the disk is left."""
        cap = getattr(self.store, "max_bytes", None)
        if s.days_until_full is None or not cap or s.disk_free_bytes is None:
            return s.days_until_full
        room = max(0, min(s.disk_free_bytes, cap - s.file_bytes))
        return room / s.growth_bytes_per_day

    def collect(self) -> Iterator[Metric]:
        try:
            s = self.current()
        except (OSError, sqlite3.Error):  # /metrics must still answer; the measure's time shows it is old
            log.exception("measuring the store failed")
            if self._stats is None:
                return
            s = self._stats
        size = GaugeMetricFamily("clausewatch_store_bytes", "Bytes the store takes on disk, by part",
                                 labels=["part"])
        size.add_metric(["database"], s.file_bytes)
        size.add_metric(["evidence"], s.evidence_bytes)
        yield size
        yield GaugeMetricFamily("clausewatch_store_growth_bytes_per_day",
                                "Bytes the store grows by per day: the last complete days' mean, or once"
                                " compacted, what a compacted day keeps plus the ledger's daily share",
                                value=s.growth_bytes_per_day)
        free = GaugeMetricFamily("clausewatch_store_disk_free_bytes", "Free bytes on the store's disk "
                                 "(absent for a database server's store)")
        if s.disk_free_bytes is not None:
            free.add_metric([], s.disk_free_bytes)
        yield free
        forecast = GaugeMetricFamily("clausewatch_store_disk_full_forecast_days",
                                     "Days until the store's disk, or its size cap, is full at the current "
                                     "growth (absent while the store does not grow)")
        days = self.days_until_full(s)
        if days is not None:
            forecast.add_metric([], days)
        yield forecast
        yield GaugeMetricFamily("clausewatch_store_measured_timestamp_seconds",
                                "When the store's size was last measured",
                                value=datetime.fromisoformat(s.now).timestamp())
