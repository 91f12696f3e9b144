"""Findings re-evaluated from the ledgered observations, for `ledger verify --deep`.

A finding row is written when its evaluation gives something new, stamped with that evaluation's
time (`evaluated_at`). Replaying the observations in the order they were received and running the
control's check as of each finding's `evaluated_at`, on the observations received by then, gives
back its status, value, reasons and evidence; anything else was edited afterwards (or the catalog
changed since: controls no longer in it are counted as unchecked)."""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from collector.canonical import loads, stored_json
from collector.store import derived
from collector.store.sqlite import observation_from_body
from rules.evaluate import evaluate_one
from rules.model import Control, Observation
from rules.registry import CheckSpec, load_checks

if TYPE_CHECKING:
    from collector.deepverify import DeepReport, Replayed

Subject = tuple[str, str]


class Replay:
    """The latest observation per subject and (kind, key) as of a moment, moved forward in time."""

    def __init__(self, conn: sqlite3.Connection, observations: Sequence[Replayed]):
        self.conn = conn
        self.pending = sorted(observations)
        self.next = 0
        self.latest: dict[Subject, dict[tuple[str, str], tuple[float, int]]] = defaultdict(dict)
        self.parsed: dict[int, Observation] = {}

    def advance(self, t: float) -> None:
        while self.next < len(self.pending) and self.pending[self.next][0] <= t:
            _, rowid, sk, sid, kind, key, obs_at = self.pending[self.next]
            held = self.latest[(sk, sid)].get((kind, key))
            if held is None or obs_at >= held[0]:
                self.latest[(sk, sid)][(kind, key)] = (obs_at, rowid)
            self.next += 1

    def observations(self, rowids: list[int]) -> list[Observation]:
        missing = [r for r in rowids if r not in self.parsed]
        for rowid, (body, recv) in derived.bodies(self.conn, missing).items():
            self.parsed[rowid] = observation_from_body(body, recv)
        return [self.parsed[r] for r in rowids if r in self.parsed]

    def latest_of(self, subject: Subject) -> dict[tuple[str, str], Observation]:
        held = self.latest.get(subject, {})
        return {(o.kind, o.key): o for o in self.observations([rowid for _, rowid in held.values()])}

    def by_kind(self, kinds: set[str]) -> dict[str, list[Observation]]:
        rowids = [rowid for latest in self.latest.values() for (kind, _), (_, rowid) in latest.items() if kind in kinds]
        out: dict[str, list[Observation]] = defaultdict(list)
        for o in self.observations(rowids):
            out[o.kind].append(o)
        return out


def _as_stored(value: Any) -> Any:
    """A check's result as it reads back from the findings table."""
    return loads(stored_json(value))


def check_findings_by_evaluation(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]],
                                 observations: Sequence[Replayed], controls: Sequence[Control],
                                 rep: DeepReport) -> None:
    checks = load_checks()
    rules: dict[str, tuple[Control, CheckSpec]] = {
        c.id: (c, checks[c.check or "manual_evidence"]) for c in controls if (c.check or "manual_evidence") in checks}
    related = {k for _, spec in rules.values() for k in spec.related}
    replay = Replay(conn, observations)
    at_time: dict[float, list[tuple[Any, ...]]] = defaultdict(list)
    for r in rows:
        at_time[r[6]].append(r)
    for t in sorted(at_time):
        replay.advance(t)
        now = datetime.fromtimestamp(t, UTC)
        by_kind: dict[str, list[Observation]] | None = None
        round_cache: dict[str, Any] = {}
        for control_id, sk, sid, _, status, _, _, value, reason_zh, reason_en, evidence, _ in at_time[t]:
            rule = rules.get(control_id)
            if rule is None:
                rep.unchecked["findings of controls not in the catalog"] = \
                    rep.unchecked.get("findings of controls not in the catalog", 0) + 1
                continue
            control, spec = rule
            if spec.related and by_kind is None:
                by_kind = replay.by_kind(related)
            res = evaluate_one(control, spec, (sk, sid), replay.latest_of((sk, sid)), now,
                               {k: by_kind.get(k, []) for k in spec.related} if by_kind else {}, round_cache)
            rep.count("findings (re-evaluated)")
            rep.compare("findings", f"({control_id}, {sk}/{sid}) as evaluated at {now.isoformat()}", [
                ("status", status, res.status), ("value", json_value(value), _as_stored(res.value)),
                ("reason_en", reason_en, res.reason_en), ("reason_zh", reason_zh, res.reason_zh),
                ("evidence", json_value(evidence), _as_stored(res.evidence))])


def json_value(text: Any) -> Any:
    """A stored JSON column as its value; text that is not JSON (an edit) as itself."""
    try:
        return loads(text)
    except ValueError:
        return text
