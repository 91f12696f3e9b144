"""The cyclic garbage collector's settings for a long-running process that allocates in bursts."""
from __future__ import annotations

import gc


def settle_heap() -> None:
    """What start-up built (catalog, routes, templates, libraries) lives as long as the process:
    freeze it out of the cyclic collector's sight, and collect young objects less often. A batch of
    500 observations allocates tens of thousands of short-lived objects; with the default thresholds
    the collector ran many times per batch, and each full pass walked the whole heap (a third of
    the ingest CPU of the server's process, and of a preparation process's, before this)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
