"""Gaps in agents' sequence numbers: observations an agent numbered but the collector never got.

Every agent numbers what it spools (`seq`, 0, 1, 2...), and the counter survives restarts and
re-enrollment. A missing range is data lost (a spool that overflowed) or suppressed (deleted on the
terminal before shipping); a number arriving again with a new id means the agent's state was wiped
and numbering restarted (a new epoch: its numbers are judged apart from the old ones).

The store keeps, per host, the ranges of numbers received (`agent_sequences`), updated in each
ingest transaction, so judging never scans the observations. When a batch changes a host's gaps or
epochs, the store adds an `agent.sequence` observation (subject the host, source `collector`) that
the AGENT-SEQUENCE control reads: a spool re-sent later fills its gap and the next summary says so.
"""
from __future__ import annotations

import bisect
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from collector.store.base import ObservationRow, Store
from rules.model import Observation

MAX_LISTED = 50  # gaps and restarts named in a summary; totals count all of them
SUMMARY_KIND = "agent.sequence"

# one received run: first and last seq, and when the agent observed each of them (epoch seconds)
Run = list[float]


@dataclass
class Epoch:
    since: float
    first_seq: int
    runs: list[Run] = field(default_factory=list)

    def add(self, lo: int, hi: int, lo_at: float, hi_at: float) -> bool:
        """Take the numbers lo..hi; False when any was already received (numbering restarted)."""
        runs = self.runs
        i = bisect.bisect_right(runs, hi, key=lambda r: int(r[0]))
        if i and runs[i - 1][1] >= lo:
            return False
        joins_prev = bool(i) and runs[i - 1][1] == lo - 1
        joins_next = i < len(runs) and runs[i][0] == hi + 1
        if joins_prev and joins_next:
            runs[i - 1][1], runs[i - 1][3] = runs[i][1], runs[i][3]
            del runs[i]
        elif joins_prev:
            runs[i - 1][1], runs[i - 1][3] = hi, hi_at
        elif joins_next:
            runs[i][0], runs[i][2] = lo, lo_at
        else:
            runs.insert(i, [lo, hi, lo_at, hi_at])
        return True

    def gaps(self) -> list[tuple[int, int, float, float]]:
        """Missing ranges (inclusive) with the times of the observations around each."""
        return [(int(a[1]) + 1, int(b[0]) - 1, a[3], b[2]) for a, b in zip(self.runs, self.runs[1:], strict=False)]


@dataclass
class HostState:
    epochs: list[Epoch]

    @classmethod
    def loads(cls, text: str) -> HostState:
        return cls([Epoch(e["since"], e["first_seq"], e["runs"]) for e in json.loads(text)["epochs"]])

    def dumps(self) -> str:
        return json.dumps({"epochs": [{"since": e.since, "first_seq": e.first_seq, "runs": e.runs}
                                      for e in self.epochs]}, separators=(",", ":"))

    def add(self, lo: int, hi: int, lo_at: float, hi_at: float) -> None:
        if not self.epochs or not self.epochs[-1].add(lo, hi, lo_at, hi_at):
            self.epochs.append(Epoch(lo_at, lo))
            self.epochs[-1].add(lo, hi, lo_at, hi_at)

    def signature(self) -> tuple:
        """What a summary reports: the gaps and the epochs (not how far numbering has got)."""
        return (len(self.epochs), tuple((i, a, b) for i, e in enumerate(self.epochs) for a, b, _, _ in e.gaps()))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def summary_payload(state: HostState) -> dict:
    gaps = [(i, g) for i, e in enumerate(state.epochs) for g in e.gaps()]
    gaps.sort(key=lambda x: x[1][3], reverse=True)
    restarts = [{"epoch": i, "at": _iso(e.since), "first_seq": e.first_seq} for i, e in enumerate(state.epochs)][1:]
    return {
        "epochs": len(state.epochs),
        "restarts": restarts[-MAX_LISTED:],
        "gaps": [{"epoch": i, "from": a, "to": b, "missing": b - a + 1, "after": _iso(t0), "before": _iso(t1)}
                 for i, (a, b, t0, t1) in gaps[:MAX_LISTED]],
        "gaps_total": len(gaps),
        "missing_total": sum(b - a + 1 for _, (a, b, _, _) in gaps),
    }


def _runs(rows: list[ObservationRow]) -> list[tuple[int, int, float, float]]:
    """Consecutive numbers in arrival order folded into (first, last, first_at, last_at)."""
    out: list[tuple[int, int, float, float]] = []
    lo = hi = -2
    lo_at = hi_at = 0.0
    for r in rows:
        seq, at = int(r[8]), r[7]  # type: ignore[arg-type]
        if seq != hi + 1:
            if hi >= 0:
                out.append((lo, hi, lo_at, hi_at))
            lo, lo_at = seq, at
        hi, hi_at = seq, at
    out.append((lo, hi, lo_at, hi_at))
    return out


def track(load: Callable[[str], str | None], save: Callable[[str, str], None], rows: Sequence[ObservationRow],
          now: datetime) -> list[Observation]:
    """Fold newly stored observations (store rows) into each agent's received ranges, read with `load`
    and kept with `save` (by the store, inside its write transaction); return an `agent.sequence`
    summary for each host whose gaps or epochs changed."""
    by_host: dict[str, list[ObservationRow]] = {}
    for r in rows:
        if r[8] is not None and r[3] == "host" and r[1].startswith("agent:"):
            by_host.setdefault(r[4], []).append(r)
    out = []
    for host, obs in by_host.items():
        stored = load(host)
        state = HostState.loads(stored) if stored is not None else HostState([])
        before = state.signature() if stored is not None else None
        for run in _runs(obs):  # arrival order: a number seen again starts a new epoch from there
            state.add(*run)
        save(host, state.dumps())
        if state.signature() != before:
            out.append(Observation(id=str(uuid.uuid4()), source="collector", site=obs[-1][2], subject_kind="host",
                                   subject_id=host, kind=SUMMARY_KIND, observed_at=now,
                                   payload=summary_payload(state)))
    return out


@dataclass
class HostSequence:
    host: str
    observations: int  # distinct numbers received, every epoch
    first_seq: int  # of the current epoch
    last_seq: int
    missing: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)  # inclusive ranges
    restarted: bool = False

    def as_dict(self) -> dict:
        d = asdict(self)
        d["gaps"] = [{"from": a, "to": b} for a, b in self.gaps]
        return d


def sequence_report(store: Store, host: str | None = None) -> list[HostSequence]:
    """Per agent: numbers received, the missing ranges of every epoch, whether numbering restarted."""
    out = []
    for h, text in store.agent_sequences(host):
        state = HostState.loads(text)
        current = state.epochs[-1]
        gaps = [(a, b) for e in state.epochs for a, b, _, _ in e.gaps()]
        out.append(HostSequence(h, sum(int(r[1] - r[0]) + 1 for e in state.epochs for r in e.runs),
                                int(current.runs[0][0]), int(current.runs[-1][1]), sum(b - a + 1 for a, b in gaps),
                                gaps, len(state.epochs) > 1))
    return out
