"""Everything the service holds while it runs, built once and passed to the routers."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from collector.engine import Engine, EngineWorker
from collector.ingest import PreparePool, default_processes
from collector.leadership import EngineLease, Leadership, SoleLeader
from collector.login_limit import LoginLimiter
from collector.metrics import Metrics
from collector.settings import Settings
from collector.store.base import Store
from collector.store.opening import open_store, postgres_url_of
from rules.model import Control, Observation

log = logging.getLogger(__name__)
SELFCHECK_LOOK_S = 1.0  # how often the self-check loop looks whether it is due (or this collector came to lead)


@dataclass
class AppState:
    settings: Settings
    store: Store
    controls: list[Control]
    engine: Engine
    worker: EngineWorker
    metrics: Metrics
    prepare: PreparePool
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    _selfcheck: threading.Thread | None = None

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        store = open_store(settings.db, create=True, max_bytes=settings.store_max_bytes)
        store.seal_after_s = settings.seal_s
        controls = settings.catalog()
        engine = Engine(store, controls, site=settings.site)
        # collectors sharing a database take turns leading; the only collector of an SQLite file leads
        leadership = EngineLease(store, ttl_s=settings.lease_ttl_s) if postgres_url_of(settings.db) else SoleLeader()
        worker = EngineWorker(engine, sweep_s=settings.sweep_s, checkpoint_s=settings.checkpoint_s,
                              leadership=leadership)
        metrics = Metrics(engine, store_refresh_s=settings.store_stats_s, leading=worker.leading)
        processes = default_processes() if settings.ingest_processes is None else settings.ingest_processes
        return cls(settings, store, controls, engine, worker, metrics, PreparePool(processes),
                   LoginLimiter.shared(store))

    @property
    def leadership(self) -> Leadership:
        return self.worker.leadership

    def start(self) -> None:
        self.prepare.start()
        self.leadership.start()
        self.worker.start()
        if self.settings.notify_config:
            from collector.notify.service import start_notifier

            self._notifier = start_notifier(self.settings.notify_config, self.store, self.engine, self.metrics)
        self._selfcheck = threading.Thread(target=self._ledger_selfcheck_loop, daemon=True,
                                           name="clausewatch-ledger-selfcheck")
        self._selfcheck.start()

        if self.settings.compact_every_h > 0:
            from collector.compactor import Compactor

            self._compactor = Compactor(self.store, self.controls, self.settings, self.worker.stopping,
                                        leading=self.leadership.leading)
            self._compactor.start()

    def stop(self) -> None:
        if getattr(self, "_notifier", None) is not None:
            self._notifier.stopping.set()
        self.prepare.close()
        self.worker.stop()
        self.worker.join(timeout=10)
        self.leadership.stop()  # after the engine's last round: another collector takes over at once

    def ledger_selfcheck(self) -> None:
        """Verify the ledger and record the result as an observation (control LEDGER-INTACT)."""
        report = self.store.verify_ledger()
        obs = Observation(source="collector", site=self.settings.site, subject_kind="site",
                          subject_id=self.settings.site, kind="ledger.verify", observed_at=datetime.now(UTC),
                          payload={"ok": report.ok, "entries": report.entries, "checkpoints": report.checkpoints,
                                   "error": report.problems[0].text() if report.problems else None})
        self.store.ingest([obs], actor="collector")
        self.worker.submit([obs])

    def _ledger_selfcheck_loop(self) -> None:
        """The self-check runs when this collector comes to lead (at start, for the only collector of
        a store) and then every period while it leads."""
        stop = self.worker.stopping
        checked_in: int | None = None  # the lease term of the last check
        due = 0.0
        while not stop.is_set():
            term = self.leadership.term()
            if term is not None and (term != checked_in or time.monotonic() >= due):
                checked_in, due = term, time.monotonic() + self.settings.ledger_selfcheck_h * 3600
                try:
                    self.ledger_selfcheck()
                except Exception:  # noqa: BLE001 - the loop must survive; the finding will go stale
                    log.exception("ledger self-check failed")
            stop.wait(SELFCHECK_LOOK_S)
