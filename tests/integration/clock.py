"""A settable clock for pollers that stamp their observations."""
from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 29, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now
