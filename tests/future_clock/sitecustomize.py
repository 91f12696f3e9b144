"""Loaded (through PYTHONPATH) by every Python process of `make test-future`, which runs the suite
under libfaketime with the wall clock 548 days ahead and the monotonic clock left real.

libfaketime 0.9.10 shifts every absolute deadline given to clock_nanosleep by the fake offset, the
monotonic ones too even when it leaves that clock alone; Python's time.sleep sleeps until such a
deadline and so fails with EINVAL. This sleep waits on select's relative timeout instead. (Faking
the monotonic clock as well is no way out: lock and event timeouts then wait for 548 days.)
"""
from __future__ import annotations

import select
import time

_monotonic = time.monotonic


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = _monotonic() + seconds
    while (left := deadline - _monotonic()) > 0:
        select.select([], [], [], left)


time.sleep = _sleep
