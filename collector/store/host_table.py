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
        rows, args = _host_rows(list(columns.values()))
        order = self._order(dict(zip(columns, (f"c{i}" for i in range(len(columns))), strict=True)), sort, descending)
        return [(h, st) for h, st in self.read.execute(f"SELECT e.host, e.status FROM ({rows}) AS e ORDER BY {order}",
                                                       args)]

    def _order(self, columns: Mapping[str, str], sort: str, descending: bool) -> str:
        """ORDER BY terms: ties go by host the same way, except that hosts last seen at one moment stay in order."""
        way = " DESC" if descending else ""
        host = f"e.host{self._by_code_point}"
        if sort in columns:
            return f"COALESCE(e.{columns[sort]}, 4){way}, {host}{way}"
        if sort == "status":
            return f"{_rank_of('e.status')}{way}, {host}{way}"
        if sort == "last_seen":
            return f"COALESCE(e.last_seen, 0){way}, {host}"
        return f"{host}{way}"


def _host_rows(columns: Sequence[Sequence[str]]) -> tuple[str, list[Any]]:
    """SELECT one row per host seen or judged: host, per column the rank of its worst status in WORST_FIRST
    (NULL: no finding of it), last_seen, and status: the worst of all its findings, `pass` when it has a finding
    of the columns and none failing or unknown, `unknown` when it has none of these.

    The hosts seen, the ranks of the hosts with findings of the columns and the worst status of the hosts with
    failing or unknown findings are each a row per host, put together by one more aggregate rather than by joins:
    PostgreSQL has no statistics of an aggregate's rows, took the joins of three for millions of rows, and spent
    0.33 s of the statement's 0.43 s (5,000 hosts, a fifth of the findings failing or unknown) compiling it."""
    every = [c for cs in columns for c in cs]
    ranks = ", ".join(f"min(CASE WHEN control IN ({marks(len(cs))}) THEN {_rank_of('status')} END)" for cs in columns)
    seen = ", ".join(f"NULL AS c{i}" for i in range(len(columns)))
    none = ", ".join("NULL" for _ in columns)
    worst = ", ".join(f"min(c{i}) AS c{i}" for i in range(len(columns)))
    return (f"SELECT host, {worst}, max(last_seen) AS last_seen,"
            " COALESCE(min(failing), CASE WHEN max(judged) IS NULL THEN 'unknown' ELSE 'pass' END) AS status FROM ("
            f"SELECT id AS host, {seen}, NULL AS failing, NULL AS judged, last_seen FROM subjects WHERE kind = 'host'"
            f" UNION ALL SELECT subject_id, {ranks}, NULL, 1, NULL FROM findings WHERE subject_kind = 'host'"
            f" AND control IN ({marks(len(every))}) GROUP BY subject_id"
            f" UNION ALL SELECT subject_id, {none}, min(status), NULL, NULL FROM findings"  # 'fail' before 'unknown'
            " WHERE status IN ('fail', 'unknown') AND subject_kind = 'host' GROUP BY subject_id) AS r GROUP BY host"
            ), [*every, *every]
