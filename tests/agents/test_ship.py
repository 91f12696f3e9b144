from __future__ import annotations

import random

import pytest

from agents.ship import Backoff


@pytest.mark.parametrize("failures, low, high", [
    pytest.param(0, 1.0, 1.0, id="first wait is the initial"),
    pytest.param(3, 1.0, 8.0, id="grows by doubling"),
    pytest.param(20, 1.0, 60.0, id="capped at the maximum"),
])
def test_backoff_waits_within_bounds(failures: int, low: float, high: float) -> None:
    waits = []
    for seed in range(200):
        b = Backoff(1.0, 60.0, random.Random(seed), failures)
        waits.append(b.next_delay_s())
    assert low <= min(waits) and max(waits) <= high
    if high > low:
        assert len({round(w, 3) for w in waits}) > 100  # jittered: agents do not retry in lock-step


def test_backoff_resets_after_success() -> None:
    b = Backoff(0.5, 10.0, random.Random(1))
    for _ in range(10):
        b.next_delay_s()
    b.reset()
    assert b.next_delay_s() == 0.5
