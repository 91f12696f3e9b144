"""Failed sign-ins slow down the one who fails, not everyone else.

Each (user name, client address) pair may fail `free_failures` times; from then on each further
failure doubles the wait before the next attempt (`base_s`, 2 × `base_s`, … up to `max_s`). A pair
that stops failing is forgotten after `forget_s`, and a success forgets it at once. So a colleague
typing wrong passwords behind the same proxy, or someone guessing a manager's name, locks out
nobody but themselves.

Over all pairs at most `global_failures` failures fit in `global_window_s`; beyond that every
sign-in waits. This bounds a guessing attack spread over many addresses (and the CPU spent on
argon2), and with expiry it bounds the limiter's memory.

The counts live behind `FailureLog`: `MemoryFailureLog` keeps them in one process, `StoreFailureLog`
in the store, where every collector sharing it counts together (the service uses the store, so an
attacker gains nothing by spreading guesses over several collectors).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from collector.store.areas import CoordinationStore

KEY_PART_CHARS = 64  # names are at most 64 characters; a longer one cannot succeed anyway


@dataclass(frozen=True)
class Failures:
    count: int  # consecutive failures of one pair
    last_s: float  # when the last one happened (limiter clock, seconds)


class FailureLog(Protocol):
    """Where the limiter keeps what failed."""

    def get(self, key: str) -> Failures | None: ...

    def add(self, key: str, now_s: float) -> Failures:
        """Count one more failure of `key` (and one in the global record); the counts after it."""

    def clear(self, key: str) -> None: ...

    def recent(self, since_s: float) -> Sequence[float]:
        """Times of the latest failures over all keys since `since_s`, oldest first (may stop at a cap)."""

    def expire(self, before_s: float) -> None:
        """Forget every key whose last failure is older than `before_s`."""


class MemoryFailureLog:
    """One process's failures. Keys are kept in the order of their last failure, so expiry stops
    at the first key still fresh; `max_keys` is a last bound should expiry ever fall behind."""

    def __init__(self, *, max_keys: int = 100_000, keep_recent: int = 1000):
        self.max_keys = max_keys
        self._keys: dict[str, Failures] = {}
        self._recent: deque[float] = deque(maxlen=keep_recent)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, key: str) -> Failures | None:
        with self._lock:
            return self._keys.get(key)

    def add(self, key: str, now_s: float) -> Failures:
        with self._lock:
            before = self._keys.pop(key, None)
            after = Failures((before.count if before else 0) + 1, now_s)
            self._keys[key] = after  # re-inserted: the dict stays ordered by last failure
            while len(self._keys) > self.max_keys:
                del self._keys[next(iter(self._keys))]
            self._recent.append(now_s)
            return after

    def clear(self, key: str) -> None:
        with self._lock:
            self._keys.pop(key, None)

    def recent(self, since_s: float) -> Sequence[float]:
        with self._lock:
            while self._recent and self._recent[0] < since_s:
                self._recent.popleft()
            return list(self._recent)

    def expire(self, before_s: float) -> None:
        with self._lock:
            while self._keys:
                oldest = next(iter(self._keys))
                if self._keys[oldest].last_s >= before_s:
                    return
                del self._keys[oldest]


class StoreFailureLog:
    """Failures kept in the store (collector/store/coordination.py): each failure is counted by one
    atomic statement, so collectors failing the same pair at once lose no count. Times are epoch
    seconds (`time.time`), which every collector reads alike."""

    def __init__(self, store: CoordinationStore, *, keep_recent: int = 1000):
        self.store, self.keep_recent = store, keep_recent

    def get(self, key: str) -> Failures | None:
        found = self.store.login_failures(key)
        return Failures(*found) if found else None

    def add(self, key: str, now_s: float) -> Failures:
        return Failures(*self.store.add_login_failure(key, now_s))

    def clear(self, key: str) -> None:
        self.store.clear_login_failures(key)

    def recent(self, since_s: float) -> Sequence[float]:
        return self.store.recent_login_failures(since_s, self.keep_recent)

    def expire(self, before_s: float) -> None:
        self.store.forget_login_failures(before_s)


class LoginLimiter:
    """How long a sign-in of (name, address) must wait; see the module's docstring for the rules."""

    def __init__(self, log: FailureLog | None = None, *, free_failures: int = 5, base_s: float = 1.0,
                 max_s: float = 900.0, forget_s: float = 3600.0, global_failures: int = 300,
                 global_window_s: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.free_failures, self.base_s, self.max_s, self.forget_s = free_failures, base_s, max_s, forget_s
        self.global_failures, self.global_window_s = global_failures, global_window_s
        self.log: FailureLog = log if log is not None else MemoryFailureLog(keep_recent=global_failures)
        self.clock = clock

    @staticmethod
    def key(name: str, address: str) -> str:
        return f"{address[:KEY_PART_CHARS]}\n{name[:KEY_PART_CHARS]}"

    def backoff_s(self, failures: int) -> float:
        """The wait after `failures` consecutive failures of one pair."""
        if failures < self.free_failures:
            return 0.0
        return min(self.max_s, self.base_s * 2.0 ** min(failures - self.free_failures, 40))

    def blocked(self, name: str, address: str) -> float:
        """Seconds until this pair may try again (0: now)."""
        now = self.clock()
        self.log.expire(now - self.forget_s)
        waits = [0.0]
        failures = self.log.get(self.key(name, address))
        if failures is not None:
            waits.append(failures.last_s + self.backoff_s(failures.count) - now)
        recent = self.log.recent(now - self.global_window_s)
        if len(recent) >= self.global_failures:
            # the ceiling holds until the oldest failure that keeps it full leaves the window
            waits.append(recent[-self.global_failures] + self.global_window_s - now)
        return max(waits)

    @classmethod
    def shared(cls, store: CoordinationStore) -> LoginLimiter:
        """The service's limiter: counts in the store, on the wall clock, shared by its collectors."""
        limiter = cls(clock=time.time)
        limiter.log = StoreFailureLog(store, keep_recent=limiter.global_failures)
        return limiter

    def failed(self, name: str, address: str) -> None:
        self.log.add(self.key(name, address), self.clock())

    def succeeded(self, name: str, address: str) -> None:
        self.log.clear(self.key(name, address))
