"""Server-Timing header on every response: how long the server worked before answering.

Browsers show it in their developer tools and bench/bench_web.py reads it, so the time measured
is the server's own, without the network or the client.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from collector.web.headers import HeaderList, ResponseHeaders


class ServerTiming(ResponseHeaders):
    def begin(self) -> Callable[[HeaderList], None]:
        started = time.perf_counter()

        def add(headers: HeaderList) -> None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            headers.append((b"server-timing", f"app;dur={elapsed_ms:.1f}".encode()))

        return add
