"""Findings re-evaluated from the ledgered observations, for `ledger verify --deep`.

A finding row is written when its evaluation gives something new, stamped with that evaluation's
time (`evaluated_at`). Replaying the observations in the order they were received and running the
control's check as of each finding's `evaluated_at`, on the observations received by then, gives
back its status, value, reasons and evidence; anything else was edited afterwards (or the catalog
changed since: controls no longer in it are counted as unchecked). A command given an earlier
`--now` than the real time evaluates data received after that moment: a finding whose row was
written with a status change is therefore also tried on every observation ledgered before that
change."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from collector.proof.canonical import loads, stored_json
from collector.store.areas import DerivedReader
from collector.store.observation_rows import observation_from_body
from rules.evaluate import evaluate_one
from rules.kinds import readable_by_others
from rules.model import Control, Observation
from rules.registry import CheckSpec, load_checks

if TYPE_CHECKING:
    from collector.proof.deepreport import DeepReport, Replayed

Subject = tuple[str, str]


class Replay:
    """The latest observation per subject and (kind, key) as of a moment, moved forward in time."""

    def __init__(self, tables: DerivedReader, observations: Sequence[Replayed],
                 repeats: Mapping[int, str] | None = None):
        self.tables = tables
        self.repeats = repeats or {}  # number -> id of the observations kept as repeats
        self.pending = sorted(observations)
        self.next = 0
        self.latest: dict[Subject, dict[tuple[str, str], tuple[float, int]]] = defaultdict(dict)
        self.parsed: dict[int, Observation] = {}

    def advance(self, t: float) -> None:
        while self.next < len(self.pending) and self.pending[self.next][0] <= t:
            _, rowid, sk, sid, kind, key, obs_at, _ = self.pending[self.next]
            held = self.latest[(sk, sid)].get((kind, key))
            if held is None or obs_at >= held[0]:
                self.latest[(sk, sid)][(kind, key)] = (obs_at, rowid)
            self.next += 1

    def before_batch(self, seq: int) -> Replay:
        """Another replay holding every observation stored before entry `seq` was appended, whenever received."""
        other = Replay(self.tables, [o for o in self.pending if o[7] < seq], self.repeats)
        other.parsed = self.parsed
        other.advance(float("inf"))
        return other

    def observations(self, rowids: list[int]) -> list[Observation]:
        missing = [r for r in rowids if r not in self.parsed]
        for rowid, (body, recv) in self.tables.bodies(missing, self.repeats).items():
            try:
                self.parsed[rowid] = observation_from_body(body, recv)
            except ValueError:  # an altered body: its batch's Merkle root names it; judged as missing here
                continue
        return [self.parsed[r] for r in rowids if r in self.parsed]

    def latest_of(self, subject: Subject) -> dict[tuple[str, str], Observation]:
        held = self.latest.get(subject, {})
        return {(o.kind, o.key): o for o in self.observations([rowid for _, rowid in held.values()])}

    def by_kind(self, kinds: set[str]) -> dict[str, list[Observation]]:
        # by subject and only those others may read, as the engine hands them to checks (collector/cross_subject.py)
        held = sorted(((subject, key), rowid) for subject, latest in self.latest.items()
                      for (kind, key), (_, rowid) in latest.items() if kind in kinds)
        rowids = [rowid for _, rowid in held]
        out: dict[str, list[Observation]] = defaultdict(list)
        for o in self.observations(rowids):
            if readable_by_others(o):
                out[o.kind].append(o)
        return out


def _as_stored(value: Any) -> Any:
    """A check's result as it reads back from the findings table."""
    return loads(stored_json(value))


class Judge:
    """Runs the catalog's checks on a replay, as the engine does in one round."""

    def __init__(self, controls: Sequence[Control]):
        checks = load_checks()
        self.rules: dict[str, tuple[Control, CheckSpec]] = {
            c.id: (c, checks[c.check or "manual_evidence"]) for c in controls
            if (c.check or "manual_evidence") in checks}
        self.related = {k for _, spec in self.rules.values() for k in spec.related}

    def evaluate(self, replay: Replay, control_id: str, subject: Subject, now: datetime,
                 round_: tuple[dict[str, Any], dict[str, Any]]) -> tuple[str, Any, str, str, Any]:
        """`round_`: the checks' own cache for one round, and the related observations by kind."""
        control, spec = self.rules[control_id]
        round_cache, kinds = round_
        if spec.related and "by_kind" not in kinds:
            kinds["by_kind"] = replay.by_kind(self.related)
        by_kind = kinds.get("by_kind")
        res = evaluate_one(control, spec, subject, replay.latest_of(subject), now,
                           {k: by_kind.get(k, []) for k in spec.related} if by_kind else {}, round_cache)
        return res.status, _as_stored(res.value), res.reason_en, res.reason_zh, _as_stored(res.evidence)


REWORDED = "finding reasons as ledgered, worded by another version of the program (status, value and evidence agree)"


def check_findings_by_evaluation(tables: DerivedReader, rows: Sequence[tuple[Any, ...]],
                                 observations: Sequence[Replayed], controls: Sequence[Control],
                                 rep: DeepReport, changes: dict[tuple[str, str, str], tuple[int, float | None]],
                                 ledgered_reasons: dict[tuple[str, str, str], str | None],
                                 repeats: Mapping[int, str] | None = None) -> None:
    judge = Judge(controls)
    replay = Replay(tables, observations, repeats)
    before: dict[int, Replay] = {}
    at_time: dict[float, list[tuple[Any, ...]]] = defaultdict(list)
    for r in rows:
        at_time[r[6]].append(r)
    for t in sorted(at_time):
        replay.advance(t)
        now = datetime.fromtimestamp(t, UTC)
        round_: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
        for control_id, sk, sid, _, status, since, _, value, reason_zh, reason_en, evidence, _ in at_time[t]:
            if control_id not in judge.rules:
                rep.unchecked["findings of controls not in the catalog"] = \
                    rep.unchecked.get("findings of controls not in the catalog", 0) + 1
                continue
            rep.count("findings (re-evaluated)")
            stored = (status, json_value(value), reason_en, reason_zh, json_value(evidence))
            got = judge.evaluate(replay, control_id, (sk, sid), now, round_)
            change = changes.get((control_id, sk, sid))
            if got != stored and change is not None and change[1] == since == t:
                if change[0] not in before:
                    before[change[0]] = replay.before_batch(change[0])
                got = judge.evaluate(before[change[0]], control_id, (sk, sid), now, ({}, {}))
            if (got[:2] + got[4:] == stored[:2] + stored[4:] and got[2:4] != stored[2:4]
                    and ledgered_reasons.get((control_id, sk, sid)) == reason_en):
                # the reason its status change ledgered, worded by an earlier version of the program
                rep.unchecked[REWORDED] = rep.unchecked.get(REWORDED, 0) + 1
                continue
            rep.compare("findings", f"({control_id}, {sk}/{sid}) as evaluated at {now.isoformat()}", [
                (name, s, g) for name, s, g in zip(("status", "value", "reason_en", "reason_zh", "evidence"),
                                                    stored, got, strict=True)])


def json_value(text: Any) -> Any:
    """A stored JSON column as its value; text that is not JSON (an edit) as itself."""
    try:
        return loads(text)
    except ValueError:
        return text
