"""Records a round's finding changes a part at a time, on a thread of its own once there is more than a part:
the engine judges the next part while the store writes the last one (on PostgreSQL, mostly waiting on the
server), so a round that changes every finding (the first) costs about the longer of the two, not their sum.

While the thread is idle, a part goes to it as soon as it holds `early` changes, so that a round changing
fewer findings than a part (a new leader's first round: each agent's silence) is written while judged, too;
while the thread writes, the next part grows up to `part_size`. A round of fewer than `early` changes (every
round but the first few, as a rule) is recorded on the caller's thread when it ends, as before. Parts are
recorded in order, each by one `Store.record_findings` call; after a part fails none is recorded, and the caller
stops judging at its next part and gets the error.

With `prepare`, each part is also encoded (`Store.encode_findings`) on the caller's thread as it is handed
over: the thread's work is then little more than waiting on the database, which (on PostgreSQL) is the
longer of the two, and the next part's encoding no longer waits behind it.

With `switch_s` (`Store.record_switch_s`), the interpreter lets another thread in that often instead of
every 5 ms while the thread runs: a writer that waits on a database server a score of times per part (each
statement, savepoint and COPY) had the interpreter back each time only once the judging thread was made to
let go of it, up to 5 ms later.
"""
from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from collector.store.base import FindingChange

# stores a part (with what `prepare` made of it, else None), returns its status changes
RecordPart = Callable[[Sequence[FindingChange], datetime, Any], int]
Prepare = Callable[[Sequence[FindingChange], datetime], Any]  # a part and the time it is recorded at
_DONE: tuple[list[FindingChange], Any] = ([], None)  # the end of the round, for the thread


class _QuickSwitches:
    """`sys.setswitchinterval` at most the `switch_s` asked while any recorder's thread runs, the interval
    before restored when the last one ends (rounds of several engines in one process may overlap)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._before = sys.getswitchinterval()

    def enter(self, switch_s: float) -> None:
        with self._lock:
            if self._users == 0:
                self._before = sys.getswitchinterval()
            sys.setswitchinterval(min(switch_s, sys.getswitchinterval()))
            self._users += 1

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                sys.setswitchinterval(self._before)


_quick_switches = _QuickSwitches()


class PartRecorder:
    """`add` each change as judged; parts of `part_size` go to `record` as they fill. `recorded` lists,
    in order, the changes of every part stored so far (also after a failure)."""

    def __init__(self, record: RecordPart, now: datetime, part_size: int, early: int = 1_000,
                 prepare: Prepare | None = None, switch_s: float | None = None):
        self._record, self._now, self._size, self._early = record, now, part_size, min(early, part_size)
        self._prepare, self._switch_s = prepare, switch_s
        self._switching = False  # whether this recorder asked for quick switches
        self._busy = False  # whether the thread has a part to write
        self._part: list[FindingChange] = []
        self.recorded: list[FindingChange] = []
        self.changed = 0  # status changes recorded
        # judging runs ahead by two parts, each with what `prepare` made of it
        self._queue: queue.Queue[tuple[list[FindingChange], Any]] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def add(self, change: FindingChange) -> None:
        self._part.append(change)
        size = len(self._part)
        if size >= self._size or (size >= self._early and not self._busy):
            self._hand_over()

    def _hand_over(self) -> None:
        if self._error is not None:
            raise self._error
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="clausewatch-findings", daemon=True)
            if self._switch_s is not None:
                _quick_switches.enter(self._switch_s)
                self._switching = True
            self._thread.start()
        part, self._part = self._part, []
        self._busy = True  # until the thread finds its queue empty: the next part grows meanwhile
        self._queue.put(self._prepared(part))

    def _prepared(self, part: list[FindingChange]) -> tuple[list[FindingChange], Any]:
        return part, self._prepare(part, self._now) if self._prepare is not None else None

    def _run(self) -> None:
        while (item := self._queue.get()) is not _DONE:
            if self._error is None:  # after a failure the parts still queued are dropped, never recorded
                try:
                    self._store(*item)
                except BaseException as e:  # noqa: BLE001 - handed to the judging thread, which raises it
                    self._error = e
            self._busy = not self._queue.empty()

    def _store(self, part: list[FindingChange], prepared: Any) -> None:
        self.changed += self._record(part, self._now, prepared)
        self.recorded += part

    def __enter__(self) -> PartRecorder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Record what is left (unless judging failed) and wait for every part; raise a part's failure."""
        if self._thread is None:
            if kind is None and self._part:
                self._store(*self._prepared(self._part))
            return
        if kind is None and self._part:
            self._queue.put(self._prepared(self._part))
        self._queue.put(_DONE)
        try:
            self._thread.join()
        finally:
            if self._switching:
                _quick_switches.leave()
        if kind is None and self._error is not None:
            raise self._error
