"""Prometheus metrics on an explicit registry: findings, ingest counters and latency, the store's size."""
from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from collector.metrics_facility import FacilityCollector
from collector.metrics_store import StoreSizeCollector
from collector.rooms import engine_rooms

if TYPE_CHECKING:
    from collector.engine import Engine


class FindingsCollector:
    """Reads the engine's current findings at scrape time."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        findings = self.engine.current()
        per = GaugeMetricFamily("clausewatch_findings", "Findings by control and status",
                                labels=["control", "status"])
        for (control, status), n in sorted(Tally((f.control, f.status) for f in findings).items()):
            per.add_metric([control, status], n)
        yield per
        status_family = GaugeMetricFamily(
            "clausewatch_finding_status",
            "1 for the current status of each finding (one series per control, subject and status)",
            labels=["control", "subject_kind", "subject", "site", "room", "severity", "status"])
        since = GaugeMetricFamily("clausewatch_finding_since_timestamp_seconds",
                                  "When the finding's current status began",
                                  labels=["control", "subject_kind", "subject", "site"])
        rooms = engine_rooms(self.engine)  # "" (no label in Prometheus) where no room is configured
        for f in findings:
            room = rooms.get((f.subject_kind, f.subject_id), "")
            status_family.add_metric([f.control, f.subject_kind, f.subject_id, f.site, room, f.severity, f.status], 1)
            since.add_metric([f.control, f.subject_kind, f.subject_id, f.site], f.since.timestamp())
        yield status_family
        yield since


class LeaderCollector:
    """1 on the collector whose engine judges; 0 on the others sharing its store (collector/leadership.py)."""

    def __init__(self, leading: Callable[[], bool]):
        self.leading = leading

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("clausewatch_engine_leader",
                                "1 when this collector leads the engine's rounds (evaluation, sweeps, checkpoints)",
                                value=1 if self.leading() else 0)


class Metrics:
    def __init__(self, engine: Engine, *, store_refresh_s: float = 600.0, leading: Callable[[], bool] = lambda: True):
        self.registry = CollectorRegistry()
        self.registry.register(FindingsCollector(engine))
        self.registry.register(LeaderCollector(leading))
        self.registry.register(FacilityCollector(engine))
        self.store_size = StoreSizeCollector(engine.store, refresh_s=store_refresh_s)
        self.registry.register(self.store_size)
        self.ingested = Counter("clausewatch_observations_ingested", "Observations stored (new, not duplicates)",
                                ["source_kind"], registry=self.registry)
        self.duplicates = Counter("clausewatch_observations_duplicate", "Observations received again and skipped",
                                  registry=self.registry)
        self.rejected = Counter("clausewatch_batches_rejected", "Batches refused, by HTTP status",
                                ["code"], registry=self.registry)
        self.store_full = Counter("clausewatch_store_full_refusals", "Writes refused with 503 because the store had"
                                  " no room (a full disk, or CLAUSEWATCH_STORE_MAX_BYTES)", registry=self.registry)
        self.latency = Histogram("clausewatch_ingest_duration_seconds", "Time to validate and store one batch",
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                                 registry=self.registry)
        self._last_seen: dict[str, float] = {}
        self.registry.register(_LastSeen(self._last_seen))

    def observed(self, source: str, source_kind: str, accepted: int, duplicates: int) -> None:
        if accepted:
            self.ingested.labels(source_kind).inc(accepted)
        if duplicates:
            self.duplicates.inc(duplicates)
        self._last_seen[source] = time.time()


class _LastSeen:
    def __init__(self, last_seen: dict[str, float]):
        self.last_seen = last_seen

    def collect(self) -> Iterator[Metric]:
        g = GaugeMetricFamily("clausewatch_source_last_observation_timestamp_seconds",
                              "When each source last delivered observations", labels=["source"])
        for source, ts in sorted(self.last_seen.items()):
            g.add_metric([source], ts)
        yield g
