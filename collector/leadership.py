"""Which collector leads the engine's rounds (evaluation, staleness sweeps, ledger checkpoints,
scheduled compaction, the ledger self-check) when several share one store (docs/postgresql.md).

The only collector of an SQLite store always leads (`SoleLeader`). Collectors of a PostgreSQL
store hold the store's lease `engine` in turn (`EngineLease`): the holder renews it every third of
its time to live; when the holder dies or loses the database, another takes it once it expires.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from collector.store.areas import Fence, LeaseStore

log = logging.getLogger(__name__)
ENGINE_LEASE = "engine"


def holder_id() -> str:
    """This process, as the lease table names it: host, process id, and a nonce for a reused pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SoleLeader:
    """The collector of a store no other collector serves: it leads from start to stop, unfenced."""

    holder = "sole"

    def fence_of(self, term: int) -> Fence | None:
        return None

    def leading(self) -> bool:
        return True

    def term(self) -> int | None:
        return 0

    def lost(self, term: int) -> None:
        """Nothing to lose: no other collector can take over."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class EngineLease(threading.Thread):
    """Takes and renews the store's `engine` lease in the background. `term()` is the term this process
    leads in (None while another collector leads); it lapses by this process's own clock when a renewal
    has not come through within the time to live, whatever the database does meanwhile."""

    def __init__(self, store: LeaseStore, *, ttl_s: float = 5.0, holder: str | None = None,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(name="clausewatch-engine-lease", daemon=True)
        self.store, self.ttl_s = store, ttl_s
        self.holder = holder or holder_id()
        self.renew_s = ttl_s / 3
        self.clock = clock
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._term: int | None = None
        self._valid_until = 0.0  # this process's clock: the term is not relied on after this

    def term(self) -> int | None:
        with self._lock:
            return self._term if self._term is not None and self.clock() < self._valid_until else None

    def leading(self) -> bool:
        return self.term() is not None

    def fence_of(self, term: int) -> Fence | None:
        """What the engine's writes in `term` carry: the store refuses them once another took the lease."""
        return Fence(ENGINE_LEASE, self.holder, term)

    def lost(self, term: int) -> None:
        """A write under `term` was refused: another collector leads; follow until a renewal says otherwise."""
        with self._lock:
            if self._term == term:
                self._term = None

    def renew(self) -> None:
        """Take or renew the lease once (the thread does this every `renew_s`)."""
        asked = self.clock()
        was = self.term()
        try:
            term = self.store.take_lease(ENGINE_LEASE, self.holder, self.ttl_s)
        except Exception as e:  # noqa: BLE001 - the database away: the term lapses by itself
            if was is not None:
                log.warning("engine lease %s: renewal failed (%s)", self.holder, e)
            return
        with self._lock:
            self._term, self._valid_until = term, asked + self.ttl_s
        if term != was:
            log.info("engine lease %s: %s", self.holder, f"leading (term {term})" if term is not None else
                     f"following {self._leader()}")

    def _leader(self) -> str:
        try:
            held = self.store.lease_of(ENGINE_LEASE)
        except Exception:  # noqa: BLE001 - only for the log line
            held = None
        return f"{held[0]} (term {held[1]})" if held else "another collector"

    def run(self) -> None:
        while not self.stopping.is_set():
            self.renew()
            self.stopping.wait(self.renew_s)

    def stop(self) -> None:
        """Stop renewing and hand the lease over at once (call after the engine stopped judging)."""
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=self.ttl_s)
        with self._lock:
            self._term = None
        try:
            self.store.release_lease(ENGINE_LEASE, self.holder)
        except Exception as e:  # noqa: BLE001 - it expires by itself
            log.warning("engine lease %s: not released (%s)", self.holder, e)


Leadership = SoleLeader | EngineLease
