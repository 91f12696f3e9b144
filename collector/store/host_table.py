"""The terminal table's reads: every host's status per column of controls, counted and ordered by the
database, so that a page of 100 among thousands of hosts reads the findings of those 100 only."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from collector.store.areas import HostStatus
from collector.store.sqlite_parts import SqliteParts, marks

# the statuses a column of the terminal table shows, worst first; any other status ranks after them
WORST_FIRST = ("fail", "unknown", "pass", "not_applicable")


def _rank_of(status: str) -> str:
    """SQL: the place of `status` in WORST_FIRST, 4 for any other."""
    return f"CASE {status} " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(WORST_FIRST)) + " ELSE 4 END"


# a host's worst status of all its findings: `pass` when it has a finding of the table's columns
_OVERALL = "COALESCE(bad.worst, CASE WHEN cols.host IS NULL THEN 'unknown' ELSE 'pass' END)"


class SqliteHostTable(SqliteParts):
    # how host ids compare when ordered: by code point, as Python compares them (PostgreSQL adds a collation)
    _by_code_point = ""

    def host_statuses(self, controls: Sequence[str], hosts: Sequence[str] | None = None
                      ) -> tuple[dict[str, dict[str, HostStatus]], dict[str, str]]:
        per: dict[str, dict[str, HostStatus]] = defaultdict(dict)
        if hosts is not None and not hosts:
            return per, {}
        only = "" if hosts is None else f" AND subject_id IN ({marks(len(hosts))})"
        rows = self.read.execute(
            f"SELECT subject_id, control, status, reason_zh, reason_en FROM findings WHERE subject_kind = 'host'"
            f" AND control IN ({marks(len(controls))}){only}", [*controls, *(hosts or ())])
        for host, control, status, zh, en in rows:
            per[host][control] = HostStatus(control, status, zh, en)
        return per, self._overall_statuses(per, only, hosts)

    def _overall_statuses(self, having: Iterable[str], only: str, hosts: Sequence[str] | None) -> dict[str, str]:
        """The worst status of all a host's controls, `pass` for the hosts `having` a finding of the columns:
        only failing and unknown rows are read (status index)."""
        overall = dict.fromkeys(having, "pass")
        for host, status in self.read.execute(
                "SELECT subject_id, min(status) FROM findings WHERE status IN ('fail', 'unknown')"
                f" AND subject_kind = 'host'{only} GROUP BY subject_id", list(hosts or ())):
            overall[host] = status  # 'fail' sorts before 'unknown'
        return overall

    def host_order(self, columns: Mapping[str, Sequence[str]], sort: str, descending: bool
                   ) -> list[tuple[str, str]]:
        ranks, args = _column_ranks(list(columns.values()))
        names = [f"c{i}" for i in range(len(columns))]
        sql = (f"WITH cols AS ({ranks}), bad AS (SELECT subject_id AS host, min(status) AS worst FROM findings"
               " WHERE status IN ('fail', 'unknown') AND subject_kind = 'host' GROUP BY subject_id),"
               " everyone AS (SELECT id AS host FROM subjects WHERE kind = 'host' UNION SELECT host FROM cols"
               " UNION SELECT host FROM bad)"
               f" SELECT e.host, {_OVERALL} AS status FROM everyone e LEFT JOIN cols ON cols.host = e.host"
               " LEFT JOIN bad ON bad.host = e.host LEFT JOIN subjects s ON s.kind = 'host' AND s.id = e.host"
               f" ORDER BY {self._order(dict(zip(columns, names, strict=True)), sort, descending)}")
        return [(h, st) for h, st in self.read.execute(sql, args)]

    def _order(self, columns: Mapping[str, str], sort: str, descending: bool) -> str:
        """ORDER BY terms: ties go by host the same way, except that hosts last seen at one moment stay in order."""
        way = " DESC" if descending else ""
        host = f"e.host{self._by_code_point}"
        if sort in columns:
            return f"COALESCE(cols.{columns[sort]}, 4){way}, {host}{way}"
        if sort == "status":
            return f"{_rank_of(_OVERALL)}{way}, {host}{way}"
        if sort == "last_seen":
            return f"COALESCE(s.last_seen, 0){way}, {host}"
        return f"{host}{way}"


def _column_ranks(columns: Sequence[Sequence[str]]) -> tuple[str, list[Any]]:
    """SELECT host, then per column the rank of its worst status in WORST_FIRST (NULL: no finding of it)."""
    every = [c for cs in columns for c in cs]
    cols = ", ".join(f"min(CASE WHEN control IN ({marks(len(cs))}) THEN {_rank_of('status')} END) AS c{i}"
                     for i, cs in enumerate(columns))
    return (f"SELECT subject_id AS host, {cols} FROM findings WHERE subject_kind = 'host'"
            f" AND control IN ({marks(len(every))}) GROUP BY subject_id"), [*every, *every]
