"""Planning an ingested batch: which of its new observations are repeats of the current meaning of their
(subject, kind, key) and become compact rows (collector/store/repeats.py), which are full rows, and how
each key's `latest` row changes.

A batch is planned before the writers' lock, when its numbers are not known yet: its own observations
are numbered from DRAFT_FIRST in batch order, and `BatchPlan.numbered` gives them their real numbers
(and the batch its ledger entry) once they are known, under the lock."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from collector.store.repeats import (
    Head,
    Heads,
    IdKey,
    Parsed,
    folds_into,
    head_of,
    id_key,
    parse,
    repeats_as_is,
)

Key = tuple[str, str, str, str]  # subject kind, subject id, kind, key
# where a batch planned before its numbers are known numbers its own observations; stored numbers stay
# far below it, so a number from here up names a row of the batch itself
DRAFT_FIRST = 1 << 62
_NOT_ASKED = b""  # what no id's key is
_HEADS_KEPT = 20000  # full rows remembered between batches (their bytes and template)


@dataclass(slots=True)
class KeyState:
    """`latest` for one (subject, kind, key): the full row holding the current meaning and the newest."""

    head: int
    meaning: bytes | None
    as_of: float
    num: int
    repeat_id: IdKey | None
    repeats: int

    def copy(self) -> KeyState:  # by hand: dataclasses.replace costs microseconds per key of every batch
        return KeyState(self.head, self.meaning, self.as_of, self.num, self.repeat_id, self.repeats)

    def shifted(self, shift: int) -> KeyState:
        return KeyState(_real(self.head, shift), self.meaning, self.as_of, self.num + shift, self.repeat_id,
                        self.repeats)


def _real(num: int, shift: int) -> int:
    return num + shift if num >= DRAFT_FIRST else num


@dataclass
class BatchPlan:
    full: list[tuple[Any, ...]]  # observations rows: rowid (= num), then the row's columns
    repeats: list[tuple[Any, ...]]  # observation_repeats rows
    latest: dict[Key, KeyState]  # the keys whose latest changed, as they are now
    newest: dict[Key, tuple[int, float, int]]  # per key, the batch's newest: num, as_of, index in the batch
    heads: Heads = field(default_factory=dict)  # the batch's own full rows, by number

    def numbered(self, first: int, batch: int) -> BatchPlan:
        """The plan with the batch's observations numbered from `first` and its rows in ledger entry `batch`."""
        shift = first - DRAFT_FIRST
        return BatchPlan(
            [(r[0] + shift, *r[1:11], batch, r[12]) for r in self.full],
            [(rid, num + shift, head + shift if head >= DRAFT_FIRST else head, batch, at, seq, volatile)
             for rid, num, head, _, at, seq, volatile in self.repeats],  # _real inline: a call per row costs
            {k: st.shifted(shift) for k, st in self.latest.items()},
            {k: (num + shift, as_of, i) for k, (num, as_of, i) in self.newest.items()},
            {num + shift: head for num, head in self.heads.items()})


LATEST_STATE = ("subject_kind, subject_id, kind, key, obs_rowid, meaning, observed_at, coalesce(num, obs_rowid),"
                " repeat_id, repeats")
StatesReader = Callable[[Any, list[Key]], dict[Key, KeyState | None]]


def key_of(row: Sequence[Any]) -> Key:
    return row[3], row[4], row[5], row[6]


def key_states(conn: Any, keys: list[Key]) -> dict[Key, KeyState | None]:
    """Each key's `latest` row as it is now (None: no row yet)."""
    out: dict[Key, KeyState | None] = dict.fromkeys(keys)
    for i in range(0, len(keys), 200):
        chunk = keys[i:i + 200]
        for r in conn.execute(
                f"SELECT {LATEST_STATE} FROM latest WHERE (subject_kind, subject_id, kind, key) IN"
                f" (VALUES {','.join(['(?,?,?,?)'] * len(chunk))})", [x for k in chunk for x in k]):
            out[(r[0], r[1], r[2], r[3])] = KeyState(*r[4:])
    return out


def stored_head(conn: Any, heads: Heads, rowid: int) -> Head | None:
    """The full row numbered `rowid`, from `heads` or read (and then kept there). Several threads may
    plan at once: `heads` is only ever asked and filled, one step at a time."""
    head = heads.get(rowid)
    if head is None:
        row = conn.execute("SELECT body FROM observations WHERE rowid = ?", (rowid,)).fetchone()
        if row is None:
            return None
        if len(heads) > _HEADS_KEPT:
            heads.clear()
        head = heads[rowid] = head_of(bytes(row[0]))
    return head


class StoredHeads:
    """The stored full rows one plan compares its rows with: from `heads` (kept between batches), else
    read. The first one missing is read together with the bodies of all the plan's other heads not at
    hand (one statement per 500 instead of one each: a batch over hundreds of keys after `heads` was
    emptied); a body read is made a head only when asked for. A plan whose rows all change their
    meaning asks for none and reads none."""

    def __init__(self, conn: Any, heads: Heads, states: Iterable[KeyState | None]):
        self.conn, self.heads, self._states = conn, heads, states
        self._bodies: dict[int, bytes] | None = None

    def get(self, rowid: int) -> Head | None:
        head = self.heads.get(rowid)
        if head is not None:
            return head
        if self._bodies is None:
            self._bodies = self._read_missing()
        body = self._bodies.pop(rowid, None)
        if body is None:  # not among those read (or no longer stored): asked alone, as before
            return stored_head(self.conn, self.heads, rowid)
        if len(self.heads) > _HEADS_KEPT:
            self.heads.clear()
        head = self.heads[rowid] = head_of(body)
        return head

    def _read_missing(self) -> dict[int, bytes]:
        missing = sorted({st.head for st in self._states
                          if st is not None and st.head < DRAFT_FIRST and st.head not in self.heads})
        bodies: dict[int, bytes] = {}
        for i in range(0, len(missing), 500):
            chunk = missing[i:i + 500]
            bodies.update((rowid, bytes(body)) for rowid, body in self.conn.execute(
                f"SELECT rowid, body FROM observations WHERE rowid IN ({','.join('?' * len(chunk))})", chunk))
        return bodies


@dataclass
class PlanMemo:
    """What planning a batch learnt that planning it again (under the lock, after another writer
    touched its keys) reuses: each body's meaning and each id's key (`id_key`), by observation id,
    and whether it folds into a head, by observation id and the head's bytes."""

    meanings: dict[str, Parsed | None] = field(default_factory=dict)
    foldings: dict[tuple[str, bytes], tuple[bool, bytes | None]] = field(default_factory=dict)
    id_keys: dict[str, IdKey | None] = field(default_factory=dict)
    # by observation id, the bytes of the head `repeats_as_is` found it repeats (the very object: a head
    # read anew is checked anew)
    as_is: dict[str, bytes] = field(default_factory=dict)

    def parse(self, row: Sequence[Any]) -> Parsed | None:
        if row[0] not in self.meanings:
            self.meanings[row[0]] = parse(row[9], row[5])
        return self.meanings[row[0]]

    def id_key(self, obs_id: str) -> IdKey | None:
        found = self.id_keys.get(obs_id, _NOT_ASKED)
        if found is _NOT_ASKED:
            found = self.id_keys[obs_id] = id_key(obs_id)
        return found

    def folds(self, head: Head | None, row: Sequence[Any], parsed: Parsed) -> tuple[bool, bytes | None]:
        if head is None:
            return False, None
        found = self.foldings.get((row[0], head.body))
        if found is None:
            found = self.foldings[(row[0], head.body)] = folds_into(head, row, parsed)
        return found


def _folding(stored: StoredHeads, own: Heads, memo: PlanMemo, cur: KeyState,
             row: Sequence[Any]) -> tuple[bool, bytes | None]:
    """Whether `row` (its id a UUID) is kept as a repeat of its key's current row `cur`, and the volatile
    values it keeps. Most rows of a batch repeat a head already at hand byte for byte but for their own
    id, time and number: that is checked on the bytes first (`repeats_as_is`), and only a row it cannot
    tell about is parsed and compared as `folds_into` does. `own`: the batch's own full rows."""
    head = own.get(cur.head) if cur.head >= DRAFT_FIRST else stored.heads.get(cur.head)
    if head is not None and head.parsed is not None and head.parsed.meaning == cur.meaning \
            and (memo.as_is.get(row[0]) is head.body or repeats_as_is(head, row)):
        memo.as_is[row[0]] = head.body
        return True, None
    parsed = memo.parse(row)
    if parsed is None or cur.meaning != parsed.meaning:
        return False, None
    if head is None and cur.head < DRAFT_FIRST:
        head = stored.get(cur.head)
    return memo.folds(head, row, parsed)


def plan_batch(conn: Any, rows: Sequence[Sequence[Any]], received_at: float, states: dict[Key, KeyState | None],
               heads: Heads, memo: PlanMemo | None = None) -> BatchPlan:
    """Number the batch's new observations from DRAFT_FIRST in order and split them into full rows and
    repeats. `states`: each key's `latest` row as read (not changed here); `heads`: full rows already
    read, kept by the caller between batches (rows read on `conn` join them); `memo`: what an earlier
    plan of the same observations learnt."""
    memo = memo or PlanMemo()
    plan = BatchPlan([], [], {}, {})
    stored = StoredHeads(conn, heads, states.values())
    current = dict(states)  # the states as read stay as they are: see the copy below
    latest, newest = plan.latest, plan.newest
    for i, r in enumerate(rows):
        num, key, as_of = DRAFT_FIRST + i, (r[3], r[4], r[5], r[6]), min(r[7], received_at)
        cur = current[key]
        rid = memo.id_key(r[0]) if cur is not None else None
        folded, volatile = _folding(stored, plan.heads, memo, cur, r) if cur is not None and rid is not None \
            else (False, None)
        if folded and cur is not None:
            plan.repeats.append((rid, num, cur.head, 0, r[7], r[8], volatile))
            if as_of >= cur.as_of:
                if key not in latest:  # this plan's own copy, from its first change on
                    cur = current[key] = latest[key] = cur.copy()
                cur.as_of, cur.num, cur.repeat_id, cur.repeats = as_of, num, rid, cur.repeats + 1
        else:
            parsed = memo.parse(r)
            plan.full.append((num, *r[:8], received_at, r[8], 0, r[9]))
            plan.heads[num] = head_of(r[9], parsed, r[5])
            if cur is None or as_of >= cur.as_of:
                current[key] = latest[key] = KeyState(num, parsed.meaning if parsed else None, as_of, num, None, 0)
        held = newest.get(key)
        if held is None or as_of >= held[1]:
            newest[key] = (num, as_of, i)
    return plan
