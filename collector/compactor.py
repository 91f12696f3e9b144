"""The service's scheduled compaction (`CLAUSEWATCH_COMPACT_EVERY_H`, 0 = off): shortly after start,
then every period, the same as `clausewatch store compact` with the service's catalog."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from collector.settings import Settings
from collector.store.areas import CompactingStore
from collector.store.compaction import CompactionRefused
from collector.store.retention import RetentionError, load_policy
from rules.model import Control

log = logging.getLogger(__name__)
FIRST_RUN_S = 300.0  # after start, so that a service restarted more often than its period still compacts


class Compactor(threading.Thread):
    def __init__(self, store: CompactingStore, controls: Sequence[Control], settings: Settings,
                 stopping: threading.Event, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 leading: Callable[[], bool] = lambda: True):
        super().__init__(name="clausewatch-compactor", daemon=True)
        self.store, self.controls, self.settings = store, list(controls), settings
        self.stopping, self.clock = stopping, clock
        self.leading = leading  # of the collectors sharing a store, the one leading the engine compacts
        self.runs = 0

    def run(self) -> None:
        period = self.settings.compact_every_h * 3600
        wait = min(period, FIRST_RUN_S)
        while not self.stopping.wait(wait):
            if self.leading():
                self.compact_once()
            wait = period

    def compact_once(self) -> None:
        try:
            policy = load_policy().with_raw_days(self.settings.keep_raw_days)
            result = self.store.compact(policy, self.controls, self.clock(), actor="collector")
        except (RetentionError, CompactionRefused) as e:
            log.error("compaction skipped: %s", e)  # the ledger self-check names a damaged store
        except Exception:  # noqa: BLE001 - the loop must survive; the next period tries again
            log.exception("compaction failed")
        else:
            self.runs += 1
            if result.ledger_seq is not None:
                log.info("compaction (ledger entry %d): %d observations dropped, %d evidence files removed",
                         result.ledger_seq, result.dropped, len(result.evidence_removed))
