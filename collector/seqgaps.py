"""Gaps in agents' sequence numbers: observations an agent numbered but the collector never got.

Every agent numbers what it spools (`seq`, 0, 1, 2...). A missing range is data lost (a spool that
overflowed) or suppressed (deleted on the terminal before shipping); a number seen twice with
different ids means the agent's state was wiped and numbering restarted.
"""
from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field

_GAPS = """
SELECT subject_id, seq + 1, next_seq - 1 FROM (
    SELECT subject_id, seq, LEAD(seq) OVER (PARTITION BY subject_id ORDER BY seq) AS next_seq
    FROM (SELECT DISTINCT subject_id, seq FROM observations
          WHERE subject_kind = 'host' AND seq IS NOT NULL AND source LIKE 'agent:%' {where}))
WHERE next_seq > seq + 1 ORDER BY subject_id, seq
"""
_TOTALS = """
SELECT subject_id, COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM observations
WHERE subject_kind = 'host' AND seq IS NOT NULL AND source LIKE 'agent:%' {where}
GROUP BY subject_id ORDER BY subject_id
"""


@dataclass
class HostSequence:
    host: str
    observations: int
    first_seq: int
    last_seq: int
    missing: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)  # inclusive ranges
    restarted: bool = False

    def as_dict(self) -> dict:
        d = asdict(self)
        d["gaps"] = [{"from": a, "to": b} for a, b in self.gaps]
        return d


def sequence_report(conn: sqlite3.Connection, host: str | None = None) -> list[HostSequence]:
    where, args = ("AND subject_id = ?", (host,)) if host else ("", ())
    out = {}
    for h, count, distinct, first, last in conn.execute(_TOTALS.format(where=where), args):
        out[h] = HostSequence(h, count, first, last, restarted=count > distinct)
    for h, a, b in conn.execute(_GAPS.format(where=where), args):
        out[h].gaps.append((a, b))
        out[h].missing += b - a + 1
    return list(out.values())
