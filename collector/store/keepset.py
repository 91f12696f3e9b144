"""Which raw observations beyond their window compaction keeps, each by a reason:

- latest: the newest of its (subject, kind, key), which the engine and every page read; of an event kind
  (rules/kinds.yaml `event`, read by no check) only while its key keeps another observation, so that
  an event key goes whole, its `latest` row with it;
- cited: named as evidence by a finding or a finding interval (every status change cites the
  observations that made it);
- inputs: what a current finding was evaluated from, as of its evaluation (and, for a status change,
  as ledgered before it), so that `ledger verify --deep` re-evaluates it from the same observations;
- keyframe: the first of its (subject, kind, key) in each keyframe period (a day by default); of an event
  kind, the first of its (subject, kind): every event has a key of its own;
- head: the full row a kept repeat is rebuilt from (collector/store/repeats.py).
Everything else older than its kind's window is dropped. Repeats are observations like full rows here,
known by their number, which full rows' rowids share."""
from __future__ import annotations

import heapq
import itertools
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from collector.store.numbering import batch_arrivals
from collector.store.repeats import IdKey, id_key
from collector.store.retention import RetentionPolicy
from rules.kinds import event_kinds
from rules.model import Control
from rules.registry import load_checks

Key = tuple[str, str, str, str]  # subject kind, subject id, kind, key
REASONS = ("latest", "cited", "inputs", "keyframe", "head")
# number, subject kind, subject id, kind, key, observed_at, received_at (its batch's), batch, head rowid, id
RepeatRow = tuple[int, str, str, str, str, float, float, int, int, IdKey]


@dataclass
class Selection:
    drop: set[int] = field(default_factory=set)  # numbers: full rows' rowids and repeats' num
    kept: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))  # beyond the window, by reason
    kind_of: dict[int, str] = field(default_factory=dict)  # number -> kind, of every candidate
    repeat_ids: dict[int, IdKey] = field(default_factory=dict)  # number -> id, of the repeats among the candidates
    reason_of: dict[int, str] = field(default_factory=dict)  # number -> why it is kept, of the candidates kept
    latest_gone: dict[int, Key] = field(default_factory=dict)  # number -> key, of the `latest` rows dropped with it
    whole_of: dict[int, Key] = field(default_factory=dict)  # number -> key, of the event keys dropped whole
    # number -> (subject kind, subject id, kind, UTC day of arrival) of the candidates of events no check reads
    events: dict[int, tuple[str, str, str, str]] = field(default_factory=dict)

    def kept_among(self, lo: float, hi: float) -> dict[str, int]:
        """How many candidates numbered from `lo` up to (not including) `hi` are kept, by reason."""
        out = dict.fromkeys(REASONS, 0)
        for n, reason in self.reason_of.items():
            if lo <= n < hi:
                out[reason] += 1
        return out

    def events_dropped(self, numbers: Iterable[int]) -> list[tuple[str, str, str, str, int]]:
        """(subject kind, subject id, kind, UTC day, how many) of the events numbered `numbers`, by the day
        they arrived."""
        out: dict[tuple[str, str, str, str], int] = {}
        for n in numbers:
            if n in self.events:
                out[self.events[n]] = out.get(self.events[n], 0) + 1
        return [(*day, count) for day, count in sorted(out.items())]

    def dropped_by_kind(self, rowids: Iterable[int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in rowids:
            out[self.kind_of[r]] = out.get(self.kind_of[r], 0) + 1
        return dict(sorted(out.items()))


def repeat_rows(conn: sqlite3.Connection) -> list[RepeatRow]:
    """Every repeat with its head's index columns and its batch's arrival, in number order."""
    rows = conn.execute("SELECT r.num, o.subject_kind, o.subject_id, o.kind, o.key, r.observed_at, r.batch, r.head,"
                        " r.id FROM observation_repeats r JOIN observations o ON o.rowid = r.head"
                        " ORDER BY r.num").fetchall()
    arrived = batch_arrivals(conn, [r[6] for r in rows])
    return [(n, sk, sid, kind, key, at, arrived.get(batch, at), batch, head, bytes(rid))
            for n, sk, sid, kind, key, at, batch, head, rid in rows]


def candidates(conn: sqlite3.Connection, policy: RetentionPolicy, now: datetime, repeats: Sequence[RepeatRow] = ()
               ) -> dict[int, tuple[Key, float]]:
    """number -> ((subject kind, subject id, kind, key), received_at) of every observation received
    before its kind's cutoff, repeats included."""
    out: dict[int, tuple[Key, float]] = {}
    cutoffs: dict[str, float | None] = {}
    for num, sk, sid, kind, key, _, recv, *_ in repeats:
        if kind not in cutoffs:
            cutoffs[kind] = policy.cutoff(kind, now)
        cut = cutoffs[kind]
        if cut is not None and recv < cut:
            out[num] = ((sk, sid, kind, key), recv)
    # the latest cutoff of any kind: the default window's ("" is no kind) or a kind's own
    latest = max((c for c in (policy.cutoff(k, now) for k in ("", *policy.kinds)) if c is not None), default=None)
    if latest is None:
        return out
    # one pass by observed time (indexed), not one per kind: a sender's time may run ahead of arrival by
    # the allowed skew at most
    for rowid, sk, sid, kind, key, recv in conn.execute(
            "SELECT rowid, subject_kind, subject_id, kind, key, received_at FROM observations WHERE observed_at < ?",
            (latest + 86400,)):
        if kind not in cutoffs:
            cutoffs[kind] = policy.cutoff(kind, now)
        cut = cutoffs[kind]
        if cut is not None and recv < cut:
            out[rowid] = ((sk, sid, kind, key), recv)
    return out


def keyframes(cand: dict[int, tuple[Key, float]], period_s: float, events: frozenset[str] = frozenset()) -> set[int]:
    """The first stored observation per (subject, kind, key) and period among the candidates; of the kinds
    `events`, per (subject, kind) and period."""
    first: dict[tuple[Key, int], int] = {}
    for rowid, (key, recv) in cand.items():
        slot = ((*key[:3], "") if key[2] in events else key, int(recv // period_s))
        if slot not in first or rowid < first[slot]:
            first[slot] = rowid
    return set(first.values())


def cited(conn: sqlite3.Connection) -> set[str]:
    """Observation ids that findings and finding intervals name as their evidence."""
    ids: set[str] = set()
    for table in ("findings", "finding_intervals"):
        for (text,) in conn.execute(f"SELECT DISTINCT evidence FROM {table} WHERE evidence != '[]'"):  # noqa: S608
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, list):
                ids.update(v for v in value if isinstance(v, str))
    return ids


def rowids_of(conn: sqlite3.Connection, ids: Iterable[str]) -> set[int]:
    """The numbers of the observations with these ids, full rows or repeats."""
    out: set[int] = set()
    wanted = list(ids)
    for i in range(0, len(wanted), 900):
        chunk = wanted[i:i + 900]
        marks = ",".join("?" * len(chunk))
        out.update(r for (r,) in conn.execute(f"SELECT rowid FROM observations WHERE id IN ({marks})", chunk))
        keys = [k for k in map(id_key, chunk) if k is not None]
        if keys:
            out.update(r for (r,) in conn.execute(
                f"SELECT num FROM observation_repeats WHERE id IN ({','.join('?' * len(keys))})", keys))
    return out


Moment = tuple[float, tuple[str, str], frozenset[str]]  # when, subject, related kinds read across subjects


def _moments(conn: sqlite3.Connection, controls: Sequence[Control]) -> tuple[list[Moment], list[Moment]]:
    """Each current finding's evaluation moment (by arrival time), and for a status change the ledger
    entry before which its observations were ledgered (by batch), as `ledger verify --deep` replays them."""
    checks = load_checks()
    related = {c.id: frozenset(checks[c.check or "manual_evidence"].related) for c in controls
               if (c.check or "manual_evidence") in checks}
    opened = {(c, sk, sid): seq for c, sk, sid, seq in conn.execute(
        "SELECT control, subject_kind, subject_id, ledger_seq FROM finding_intervals WHERE end IS NULL")}
    by_time: list[Moment] = []
    by_batch: list[Moment] = []
    for control, sk, sid, since, evaluated in conn.execute(
            "SELECT control, subject_kind, subject_id, since, evaluated_at FROM findings"):
        if control not in related:
            continue
        by_time.append((evaluated, (sk, sid), related[control]))
        seq = opened.get((control, sk, sid))
        if since == evaluated and seq is not None:
            by_batch.append((float(seq), (sk, sid), related[control]))
    return sorted(by_time, key=lambda m: m[0]), sorted(by_batch, key=lambda m: m[0])


def _with_repeats(full: Iterable[tuple], repeats: Sequence[RepeatRow], order_col: int, upto: float,
                  strictly_before: bool) -> Iterator[tuple]:
    """Full rows (already in order of column `order_col`, then number) and repeats, merged in that order."""
    def before(at: float) -> bool:
        return at < upto if strictly_before else at <= upto

    mine = sorted((r[:8] for r in repeats if before(float(r[order_col]))), key=lambda r: (r[order_col], r[0]))
    return heapq.merge(full, mine, key=lambda r: (r[order_col], r[0]))


def unread_events(controls: Sequence[Control]) -> frozenset[str]:
    """The event kinds no check of these controls reads (of its subject, of others, or as context)."""
    checks = load_checks()
    read: set[str] = set()
    for c in controls:
        spec = checks.get(c.check or "manual_evidence")
        if spec is not None:
            read |= spec.reads
    return event_kinds() - read


def inputs(conn: sqlite3.Connection, controls: Sequence[Control], repeats: Sequence[RepeatRow] = ()) -> set[int]:
    """The observations current findings were evaluated from (see the module's docstring), but events no
    check reads. Full rows are streamed in order from SQLite: a store's raw window may hold millions."""
    by_time, by_batch = _moments(conn, controls)
    unread = unread_events(controls)
    cols = "rowid, subject_kind, subject_id, kind, key, observed_at, received_at, batch"
    out: set[int] = set()
    if by_time:
        upto = by_time[-1][0]
        full = conn.execute(f"SELECT {cols} FROM observations WHERE received_at <= ?"  # noqa: S608
                            " ORDER BY received_at, rowid", (upto,))
        out |= _replay(_with_repeats(full, repeats, 6, upto, False), 6, by_time, strictly_before=False, skip=unread)
    if by_batch:
        upto = by_batch[-1][0]
        full = conn.execute(f"SELECT {cols} FROM observations WHERE batch < ?"  # noqa: S608
                            " ORDER BY batch, rowid", (upto,))
        out |= _replay(_with_repeats(full, repeats, 7, upto, True), 7, by_batch, strictly_before=True, skip=unread)
    return out


def _replay(rows: Iterable[tuple], order_col: int, moments: Sequence[Moment], *, strictly_before: bool,
            skip: frozenset[str] = frozenset()) -> set[int]:
    """Walk `rows` in order of column `order_col`; at each moment mark the newest observation (by observed
    time, the later stored on a tie) of every key of the moment's subject and of its related kinds, but of
    the kinds `skip`."""
    latest: dict[tuple[str, str], dict[tuple[str, str], tuple[float, int]]] = defaultdict(dict)
    of_kind: dict[str, set[tuple[str, str]]] = defaultdict(set)
    marked: set[int] = set()
    stream = iter(rows)
    pending = next(stream, None)
    for when, subject, related in moments:
        while pending is not None and (pending[order_col] < when if strictly_before else pending[order_col] <= when):
            rowid, sk, sid, kind, key, obs_at = pending[:6]
            if kind in skip:
                pending = next(stream, None)
                continue
            held = latest[(sk, sid)].get((kind, key))
            if held is None or obs_at >= held[0]:
                latest[(sk, sid)][(kind, key)] = (obs_at, rowid)
            of_kind[kind].add((sk, sid))
            pending = next(stream, None)
        marked.update(r for _, r in latest.get(subject, {}).values())
        for kind in related:
            for other in of_kind.get(kind, ()):
                marked.update(r for (k, _), (_, r) in latest[other].items() if k == kind)
    return marked


def select(conn: sqlite3.Connection, policy: RetentionPolicy, controls: Sequence[Control], now: datetime) -> Selection:
    """What to drop, chosen on one consistent view `conn` (a snapshot of the store)."""
    sel = Selection()
    repeats = repeat_rows(conn)
    cand = candidates(conn, policy, now, repeats)
    if not cand:
        return sel
    unread = unread_events(controls)
    remaining = set(cand)
    latest = _latest(conn)
    protected: list[tuple[str, set[int]]] = [
        ("latest", {n for n, (key, rows) in latest.items() if key[2] not in unread for n in rows}),
        ("cited", rowids_of(conn, cited(conn))),
        ("inputs", inputs(conn, controls, repeats)),
        ("keyframe", keyframes(cand, policy.keyframe_hours * 3600, unread)),
    ]
    for reason, rowids in protected:
        hit = remaining & rowids
        sel.reason_of.update(dict.fromkeys(hit, reason))
        remaining -= hit
    # an unread event's key goes whole or keeps its newest: `latest` then names a stored observation
    whole = _keys_dropped_whole(conn, unread, remaining, repeats)
    sel.whole_of = {n: key for key, numbers in whole.items() for n in numbers}
    for number, (key, row_numbers) in latest.items():
        if key[2] not in unread:
            continue
        if key in whole:
            sel.latest_gone[number] = key
        else:
            hit = remaining & row_numbers
            sel.reason_of.update(dict.fromkeys(hit, "latest"))
            remaining -= hit
    heads = {r[8] for r in repeats if r[0] not in remaining}  # after the rest: what is kept is known
    hit = remaining & heads
    sel.reason_of.update(dict.fromkeys(hit, "head"))
    sel.drop = remaining - hit
    for reason in sel.reason_of.values():
        sel.kept[reason] += 1
    sel.kind_of = {rowid: key[2] for rowid, (key, _) in cand.items()}
    sel.repeat_ids = {r[0]: r[9] for r in repeats if r[0] in cand}
    sel.events = {n: (*key[:3], datetime.fromtimestamp(recv, UTC).date().isoformat())
                  for n, (key, recv) in cand.items() if key[2] in unread}
    return sel


def _latest(conn: sqlite3.Connection) -> dict[int, tuple[Key, set[int]]]:
    """The newest number of each `latest` row -> its key and the numbers it names (full row, newest repeat)."""
    out: dict[int, tuple[Key, set[int]]] = {}
    for sk, sid, kind, key, rowid, num in conn.execute(
            "SELECT subject_kind, subject_id, kind, key, obs_rowid, num FROM latest"):
        out[num if num is not None else rowid] = ((sk, sid, kind, key), {n for n in (rowid, num) if n is not None})
    return out


def _keys_dropped_whole(conn: sqlite3.Connection, kinds: frozenset[str], dropping: set[int],
                        repeats: Sequence[RepeatRow]) -> dict[Key, list[int]]:
    """The keys of these kinds none of whose stored observations (full rows and repeats) outlives `dropping`,
    with their numbers."""
    if not kinds:
        return {}
    numbers: dict[Key, list[int]] = defaultdict(list)
    alive: set[Key] = set()
    rows = conn.execute("SELECT rowid, subject_kind, subject_id, kind, key FROM observations"
                        f" WHERE kind IN ({','.join('?' * len(kinds))})", sorted(kinds))  # noqa: S608
    both = itertools.chain(((n, (sk, sid, kind, key)) for n, sk, sid, kind, key in rows),
                           ((r[0], (r[1], r[2], r[3], r[4])) for r in repeats if r[3] in kinds))
    for number, key in both:
        numbers[key].append(number)
        if number not in dropping:
            alive.add(key)
    return {key: nums for key, nums in numbers.items() if key not in alive}
