"""The store's size on disk and its growth (collector/store/stats.py), as the store protocol offers it."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from collector.store.sqlite_parts import SqliteParts
from collector.store.stats import StoreStats, measure


class SqliteSizes(SqliteParts):
    path: Path

    def measure_size(self, now: datetime, days: int = 7) -> StoreStats:
        return measure(self, now, days)
