"""The sign-in limiter: per (name, address) back-off, a global ceiling, and memory that shrinks; the
same rules whether the failures are kept in memory or in the store that collectors share."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from collector.login_limit import FailureLog, LoginLimiter, MemoryFailureLog, StoreFailureLog
from collector.store.sqlite import SqliteStore


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "store"])
def log(request, tmp_path) -> Iterator[FailureLog]:
    if request.param == "memory":
        yield MemoryFailureLog()
        return
    store = SqliteStore(tmp_path / "cw.db")
    yield StoreFailureLog(store)
    store.close()


def fail(limiter: LoginLimiter, name: str, address: str, times: int) -> None:
    for _ in range(times):
        limiter.failed(name, address)


def test_five_failures_lock_only_that_name_from_that_address(clock, log):
    limiter = LoginLimiter(log, clock=clock)
    fail(limiter, "manager", "10.0.0.9", 4)
    assert limiter.blocked("manager", "10.0.0.9") == 0
    limiter.failed("manager", "10.0.0.9")
    assert limiter.blocked("manager", "10.0.0.9") == pytest.approx(1.0)
    assert limiter.blocked("manager", "10.0.0.10") == 0  # the real manager at her own desk
    assert limiter.blocked("security", "10.0.0.9") == 0  # colleagues behind the same proxy


def test_each_further_failure_doubles_the_wait_up_to_the_cap(clock, log):
    limiter = LoginLimiter(log, clock=clock, max_s=60)
    waits = []
    for _ in range(12):
        limiter.failed("manager", "10.0.0.9")
        waits.append(limiter.blocked("manager", "10.0.0.9"))
    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    clock.now_s += 59
    assert limiter.blocked("manager", "10.0.0.9") == pytest.approx(1)
    clock.now_s += 1
    assert limiter.blocked("manager", "10.0.0.9") == 0


def test_success_forgets_the_pair(clock, log):
    limiter = LoginLimiter(log, clock=clock)
    fail(limiter, "manager", "10.0.0.9", 6)
    clock.now_s += 10
    limiter.succeeded("manager", "10.0.0.9")
    limiter.failed("manager", "10.0.0.9")
    assert limiter.blocked("manager", "10.0.0.9") == 0


def test_global_ceiling_stops_guessing_spread_over_many_addresses(clock, log):
    limiter = LoginLimiter(log, clock=clock, global_failures=50, global_window_s=60)
    for i in range(49):
        limiter.failed("admin", f"10.1.0.{i}")
        clock.now_s += 0.5
    assert limiter.blocked("anyone", "10.9.9.9") == 0
    limiter.failed("admin", "10.1.0.200")
    # the first failure (at 1000.0) must leave the 60 s window before anyone may try again
    assert limiter.blocked("anyone", "10.9.9.9") == pytest.approx(1000.0 + 60 - clock.now_s)
    clock.now_s = 1060.0
    assert limiter.blocked("anyone", "10.9.9.9") == 0


def test_memory_shrinks_when_failures_expire(clock):
    log = MemoryFailureLog()
    limiter = LoginLimiter(log, clock=clock, forget_s=600, global_failures=10_000_000)
    for i in range(20_000):
        limiter.failed(f"user{i}", f"10.{i // 250}.{i % 250}.1")
    assert len(log) == 20_000
    clock.now_s += 300
    limiter.failed("late", "10.200.0.1")
    clock.now_s += 301
    limiter.blocked("someone", "10.0.0.1")
    assert len(log) == 1  # only the failure younger than forget_s is left
    clock.now_s += 600
    limiter.blocked("someone", "10.0.0.1")
    assert len(log) == 0


def test_memory_has_a_hard_bound_even_without_expiry():
    log = MemoryFailureLog(max_keys=1000, keep_recent=10)
    for i in range(5000):
        log.add(f"k{i}", float(i))
    assert len(log) == 1000
    assert log.get("k4999") is not None and log.get("k0") is None
    assert len(log.recent(0.0)) == 10


def test_a_huge_name_costs_no_more_memory_than_a_real_one(clock):
    limiter = LoginLimiter(clock=clock)
    fail(limiter, "x" * 1_000_000, "10.0.0.9", 5)
    assert limiter.blocked("x" * 1_000_000, "10.0.0.9") > 0
    assert all(len(k) <= 2 * 64 + 1 for k in limiter.log._keys)  # type: ignore[attr-defined]


def test_a_pair_that_stops_failing_is_forgotten_in_the_store_too(clock, tmp_path):
    store = SqliteStore(tmp_path / "cw.db")
    limiter = LoginLimiter(StoreFailureLog(store), clock=clock, forget_s=600)
    fail(limiter, "manager", "10.0.0.9", 7)
    clock.now_s += 601
    assert limiter.blocked("someone", "10.0.0.1") == 0
    assert store.login_failures(limiter.key("manager", "10.0.0.9")) is None
    limiter.failed("manager", "10.0.0.9")
    assert limiter.blocked("manager", "10.0.0.9") == 0  # counting starts again
    store.close()


def test_collectors_sharing_a_store_count_failures_together(clock, tmp_path):
    """Two collectors (each its own store connection on one database): five failures split between
    them lock the pair on both, as five on one would."""
    first, second = SqliteStore(tmp_path / "cw.db"), SqliteStore(tmp_path / "cw.db")
    a, b = (LoginLimiter(StoreFailureLog(s), clock=clock) for s in (first, second))
    for limiter in (a, b, a, b):
        limiter.failed("manager", "10.0.0.9")
    assert a.blocked("manager", "10.0.0.9") == b.blocked("manager", "10.0.0.9") == 0
    b.failed("manager", "10.0.0.9")
    assert a.blocked("manager", "10.0.0.9") == pytest.approx(1.0)
    assert b.blocked("manager", "10.0.0.9") == pytest.approx(1.0)
    a.succeeded("manager", "10.0.0.9")
    assert b.blocked("manager", "10.0.0.9") == 0
    first.close()
    second.close()


def test_the_service_limiter_counts_in_the_store_on_the_wall_clock(tmp_path):
    store = SqliteStore(tmp_path / "cw.db")
    limiter = LoginLimiter.shared(store)
    fail(limiter, "manager", "10.0.0.9", 5)
    assert 0 < limiter.blocked("manager", "10.0.0.9") <= 1.0
    kept = store.login_failures(limiter.key("manager", "10.0.0.9"))
    assert kept is not None and kept[0] == 5 and abs(kept[1] - time.time()) < 60
    store.close()
