"""A batch drafted before the writers' lock and confirmed under it.

Ingest reads more than it writes: which observations are stored already, the current `latest` row of
each key, and against it which new observations are repeats. All of that is read first, without the
lock (`draft_batch`), noting the last observation number stored when the reading began. Numbers are
given and made visible in order under the lock, so what other writers stored meanwhile is exactly
what is numbered after that: under the lock only those rows are looked at (`confirmed`), and the
batch planned again only when they share ids or keys with it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from collector.store.base import ObservationRow
from collector.store.batch_plan import (
    DRAFT_FIRST,
    BatchPlan,
    Key,
    KeyState,
    PlanMemo,
    StatesReader,
    key_of,
    plan_batch,
)
from collector.store.numbering import last_number
from collector.store.repeats import Heads, IdKey, repeats_as_is

# the ids of a batch already stored; the third argument gives an id's repeat key (repeats.id_key, memoised)
IdsReader = Callable[[Any, Sequence[str], Callable[[str], IdKey | None]], set[str]]


@dataclass
class Draft:
    rows: list[ObservationRow]  # the batch's observations not stored yet, in batch order
    seen: int  # the last number stored when the draft began reading
    states: dict[Key, KeyState | None]  # each key's `latest` row as read
    plan: BatchPlan
    memo: PlanMemo
    received_at: float
    planned: bool = True  # False: only the stored ids were read; the keys are read and planned under the lock
    replanned: bool = False  # planned again under the lock
    kept: bool = False  # planned before the lock and kept under it as it was


def draft_batch(conn: Any, rows: Sequence[ObservationRow], received_at: float, heads: Heads,
                stored_ids: IdsReader, key_states: StatesReader, *, plan: bool = True,
                key_heads: Mapping[Key, int] | None = None) -> Draft:
    """The batch's new observations and (with `plan`) their plan, read on `conn` outside any write
    transaction. Without `plan`, the rows that repeat the heads `key_heads` names are found first
    (`foresee_repeats`)."""
    seen = last_number(conn)  # first: what is read after it may only be newer
    memo = PlanMemo()
    existing = stored_ids(conn, [r[0] for r in rows], memo.id_key)  # each id's key, read again by the plan
    new = [r for r in rows if r[0] not in existing] if existing else list(rows)
    if not plan:
        if key_heads:
            foresee_repeats(new, heads, key_heads, memo)
        return Draft(new, seen, {}, BatchPlan([], [], {}, {}), memo, received_at, planned=False)
    keys = dict.fromkeys([(r[3], r[4], r[5], r[6]) for r in new])  # key_of, without a call per row
    states = key_states(conn, list(keys))
    return Draft(new, seen, states, plan_batch(conn, new, received_at, states, heads, memo), memo, received_at)


def foresee_repeats(rows: Sequence[ObservationRow], heads: Heads, key_heads: Mapping[Key, int],
                    memo: PlanMemo) -> None:
    """For a batch planned under the writers' lock: before it, note in `memo` which rows repeat byte for
    byte (`repeats_as_is`) the head their key had when this store last planned it, against that head's
    very bytes. The plan under the lock takes such a row as a repeat without checking it again only if
    that head is still its key's current one with the same meaning (batch_plan._folding), as it takes a
    row it checked itself when planning again; any other row is checked there as before. Two writers
    sending the same keys at once (importers) then check their rows at the same time, not in turn."""
    for r in rows:
        head = heads.get(key_heads.get((r[3], r[4], r[5], r[6]), -1))
        if head is not None and head.parsed is not None and memo.id_key(r[0]) is not None \
                and repeats_as_is(head, r):
            memo.as_is[r[0]] = head.body


class DraftPolicy:
    """Whether to plan a batch before the writers' lock. Not while this store's batches keep being
    planned again under it (another writer sending the same keys at once, as two importers do): the
    first plan is then work thrown away, on machines where CPU is what ingest waits for. Tried again
    after a few batches, and after twice as many each time the other writer is still there (up to
    PLAN_UNDER_LOCK_AT_MOST), so that a steady contention wastes ever fewer plans; a draft kept under
    the lock starts over."""

    REDONE_IN_A_ROW, PLAN_UNDER_LOCK_FOR, PLAN_UNDER_LOCK_AT_MOST = 2, 8, 64
    KEYS_KEPT = 20000  # keys whose last head is remembered (`key_heads`)

    def __init__(self) -> None:
        self._redone = self._under_lock = 0  # several threads count: a lost update only shifts a guess
        self._span = self.PLAN_UNDER_LOCK_FOR  # batches planned under the lock next time
        # each key's head (a stored row's number) as this store last read or wrote it: only a guess for
        # `foresee_repeats`, which the plan under the lock confirms
        self.key_heads: dict[Key, int] = {}

    def plan_first(self) -> bool:
        if self._under_lock > 0:
            self._under_lock -= 1
            return False
        return True

    def note(self, draft: Draft) -> None:
        if draft.kept:
            self._redone, self._span = 0, self.PLAN_UNDER_LOCK_FOR
        elif draft.replanned:
            self._redone += 1
            if self._redone >= self.REDONE_IN_A_ROW:
                self._redone, self._under_lock = 0, self._span
                self._span = min(2 * self._span, self.PLAN_UNDER_LOCK_AT_MOST)
        else:  # planned under the lock
            self._redone = 0

    def note_heads(self, states: Iterable[tuple[Key, KeyState | None]]) -> None:
        """Remember the heads of keys as read or written (numbered: a head from DRAFT_FIRST up is not one)."""
        if len(self.key_heads) > self.KEYS_KEPT:
            self.key_heads.clear()
        for k, st in states:
            if st is not None and st.head < DRAFT_FIRST:
                self.key_heads[k] = st.head


FULL_ROWS_BETWEEN = "SELECT id, subject_kind, subject_id, kind, key FROM observations WHERE rowid > ? AND rowid <= ?"
REPEATS_BETWEEN = "SELECT id, head FROM observation_repeats WHERE num > ? AND num <= ?"


@dataclass
class Published:
    """What writers stored after a given number: ids, the keys of full rows, the heads of repeats."""

    ids: set[str]
    repeat_ids: set[bytes]
    keys: set[Key]
    heads: set[int]


def published_since(conn: Any, after: int, last: int) -> Published:
    """What is numbered after `after`, up to `last`, the last number stored. Bounded on both sides: a
    statement prepared on a pooled connection is planned once for any number, and for `num > ?` alone
    that plan scans the whole table (a third of it, the planner guesses), under the writers' lock, at
    every batch; between two numbers it looks them up by index."""
    full = conn.execute(FULL_ROWS_BETWEEN, (after, last)).fetchall()
    repeats = conn.execute(REPEATS_BETWEEN, (after, last)).fetchall()
    return Published({r[0] for r in full}, {bytes(r[0]) for r in repeats}, {(r[1], r[2], r[3], r[4]) for r in full},
                     {r[1] for r in repeats})


def _touched(draft: Draft, since: Published) -> list[Key]:
    """The draft's keys whose `latest` row other writers may have changed: a full row of the key, or a
    repeat of the head the draft read (a repeat of a newer head comes after that head's full row)."""
    return [k for k, st in draft.states.items()
            if k in since.keys or (st is not None and st.head in since.heads)]


def confirmed(conn: Any, draft: Draft, heads: Heads, key_states: StatesReader) -> tuple[Draft, int]:
    """Under the writers' lock: the draft without what other writers stored since it was read, planned
    again if they touched its keys; and the number its first observation gets."""
    last = last_number(conn)
    rows, touched = draft.rows, []
    if last != draft.seen:
        since = published_since(conn, draft.seen, last)
        if since.ids or since.repeat_ids:
            rows = [r for r in rows if r[0] not in since.ids and draft.memo.id_key(r[0]) not in since.repeat_ids]
        touched = _touched(draft, since)
    if not draft.planned:
        every = list(dict.fromkeys(key_of(r) for r in rows))
        return replace(_replanned(conn, draft, rows, every, heads, key_states, last), planned=True), last + 1
    if len(rows) == len(draft.rows) and not touched:
        return replace(draft, seen=last, kept=True), last + 1
    return replace(_replanned(conn, draft, rows, touched, heads, key_states, last), replanned=True), last + 1


def extended(conn: Any, draft: Draft, more: Sequence[ObservationRow], heads: Heads,
             key_states: StatesReader) -> Draft:
    """Under the writers' lock, after `confirmed`: the draft with rows made there (the agents' sequence
    summaries) after its own."""
    if not more:
        return draft
    new_keys = [k for k in dict.fromkeys(key_of(r) for r in more) if k not in draft.states]
    return _replanned(conn, draft, [*draft.rows, *more], new_keys, heads, key_states, draft.seen)


def _replanned(conn: Any, draft: Draft, rows: list[ObservationRow], reread: list[Key], heads: Heads,
               key_states: StatesReader, seen: int) -> Draft:
    """`rows` planned again, the keys `reread` read anew (inside the write transaction)."""
    states = {**draft.states, **key_states(conn, reread)} if reread else draft.states
    plan = plan_batch(conn, rows, draft.received_at, states, heads, draft.memo)
    return Draft(rows, seen, states, plan, draft.memo, draft.received_at)
