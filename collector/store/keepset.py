"""Which raw observations beyond their window compaction keeps, each by a reason:

- latest: the newest of its (subject, kind, key), which the engine and every page read;
- cited: named as evidence by a finding or a finding interval (every status change cites the
  observations that made it);
- inputs: what a current finding was evaluated from, as of its evaluation (and, for a status change,
  as ledgered before it), so that `ledger verify --deep` re-evaluates it from the same observations;
- keyframe: the first of its (subject, kind, key) in each keyframe period (a day by default);
- head: the full row a kept repeat is rebuilt from (collector/store/repeats.py).
Everything else older than its kind's window is dropped. Repeats are observations like full rows here,
known by their number, which full rows' rowids share."""
from __future__ import annotations

import heapq
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from collector.store.numbering import batch_arrivals
from collector.store.repeats import IdKey, id_key
from collector.store.retention import RetentionPolicy
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
    for (kind,) in conn.execute("SELECT DISTINCT kind FROM observations").fetchall():
        cutoff = policy.cutoff(kind, now)
        if cutoff is None:
            continue
        # observed_at is indexed; a sender's time may run ahead of arrival by the allowed skew at most
        rows = conn.execute("SELECT rowid, subject_kind, subject_id, key, received_at FROM observations"
                            " WHERE kind = ? AND observed_at < ? AND received_at < ?", (kind, cutoff + 86400, cutoff))
        for rowid, sk, sid, key, recv in rows:
            out[rowid] = ((sk, sid, kind, key), recv)
    return out


def keyframes(cand: dict[int, tuple[Key, float]], period_s: float) -> set[int]:
    """The first stored observation per (subject, kind, key) and period among the candidates."""
    first: dict[tuple[Key, int], int] = {}
    for rowid, (key, recv) in cand.items():
        slot = (key, int(recv // period_s))
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


def inputs(conn: sqlite3.Connection, controls: Sequence[Control], repeats: Sequence[RepeatRow] = ()) -> set[int]:
    """The observations current findings were evaluated from (see the module's docstring). Full rows
    are streamed in order from SQLite: a store's raw window may hold millions."""
    by_time, by_batch = _moments(conn, controls)
    cols = "rowid, subject_kind, subject_id, kind, key, observed_at, received_at, batch"
    out: set[int] = set()
    if by_time:
        upto = by_time[-1][0]
        full = conn.execute(f"SELECT {cols} FROM observations WHERE received_at <= ?"  # noqa: S608
                            " ORDER BY received_at, rowid", (upto,))
        out |= _replay(_with_repeats(full, repeats, 6, upto, False), 6, by_time, strictly_before=False)
    if by_batch:
        upto = by_batch[-1][0]
        full = conn.execute(f"SELECT {cols} FROM observations WHERE batch < ?"  # noqa: S608
                            " ORDER BY batch, rowid", (upto,))
        out |= _replay(_with_repeats(full, repeats, 7, upto, True), 7, by_batch, strictly_before=True)
    return out


def _replay(rows: Iterable[tuple], order_col: int, moments: Sequence[Moment], *, strictly_before: bool) -> set[int]:
    """Walk `rows` in order of column `order_col`; at each moment mark the newest observation (by observed
    time, the later stored on a tie) of every key of the moment's subject and of its related kinds."""
    latest: dict[tuple[str, str], dict[tuple[str, str], tuple[float, int]]] = defaultdict(dict)
    of_kind: dict[str, set[tuple[str, str]]] = defaultdict(set)
    marked: set[int] = set()
    stream = iter(rows)
    pending = next(stream, None)
    for when, subject, related in moments:
        while pending is not None and (pending[order_col] < when if strictly_before else pending[order_col] <= when):
            rowid, sk, sid, kind, key, obs_at = pending[:6]
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
    remaining = set(cand)
    protected: list[tuple[str, set[int]]] = [
        ("latest", {r for row in conn.execute("SELECT obs_rowid, num FROM latest") for r in row if r is not None}),
        ("cited", rowids_of(conn, cited(conn))),
        ("inputs", inputs(conn, controls, repeats)),
        ("keyframe", keyframes(cand, policy.keyframe_hours * 3600)),
    ]
    for reason, rowids in protected:
        hit = remaining & rowids
        sel.kept[reason] += len(hit)
        remaining -= hit
    heads = {r[8] for r in repeats if r[0] not in remaining}  # after the rest: what is kept is known
    hit = remaining & heads
    sel.kept["head"] += len(hit)
    sel.drop = remaining - hit
    sel.kind_of = {rowid: key[2] for rowid, (key, _) in cand.items()}
    sel.repeat_ids = {r[0]: r[9] for r in repeats if r[0] in cand}
    return sel
