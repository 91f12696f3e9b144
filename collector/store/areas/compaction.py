"""Compaction: dropping the raw observations and evidence files that nothing needs any more.

SQLite: collector/store/compaction.py (`SqliteStore.compact`); tests: tests/collector/store/test_compaction*.py."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # compaction is built on the SQLite store, which implements this protocol
    from collector.store.compaction import CompactionResult
    from collector.store.retention import RetentionPolicy
    from rules.model import Control


class CompactingStore(Protocol):
    def compact(self, policy: RetentionPolicy, controls: Sequence[Control], now: datetime, *,
                actor: str = "collector", progress: Callable[[str], None] | None = None) -> CompactionResult:
        """Drop the raw observations beyond their window that nothing needs, and the evidence files no kept
        observation names, as of `now`; one ledger entry (none when nothing was dropped). Raises
        CompactionRefused where the store does not verify."""
        ...
