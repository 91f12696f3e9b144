"""The terminal search's texts: per host, the lower-cased texts a search matches, kept with the newest
naming rows they were made from and remade when those change, so that a search matches in the database
instead of reading every host's reports.

The texts are made by the caller's function (the page decides what is searched and how it is lowered,
in Python, so that non-ASCII case and forged values match as they always have) and stored as UTF-8:
a substring of the UTF-8 bytes is a substring of the text, and a `%` or `_` in a search is no pattern.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from collector.store.areas import Payloads
from collector.store.sqlite_parts import SqliteParts, marks

# host, its newest rows of the searched kinds -> the texts a search matches (already lower-cased)
SearchTexts = Callable[[str, dict[str, tuple[float, dict[str, Any]]]], Sequence[str]]
NO_ROWS = "[]"  # what a host's texts were made from when it has no row of the searched kinds
_CHUNK = 500  # hosts per statement: well below either database's limit of parameters


def utf8(text: str) -> bytes:
    """Text as stored and searched; a lone surrogate (which no JSON body holds) is kept rather than refused."""
    return text.encode("utf-8", "surrogatepass")


class SqliteHostSearch(SqliteParts):
    # SQL: whether `text` (bytes) holds the bytes of the one parameter (PostgreSQL has its own)
    _holds_needle = "instr(text, ?) > 0"

    if TYPE_CHECKING:  # the read model's (web_reads.py), mixed into the same store
        def latest_payloads(self, subject_kind: str, kinds: Sequence[str] | None = None,
                            subject_id: str | None = None, subject_ids: Sequence[str] | None = None) -> Payloads: ...

    def refresh_host_search(self, hosts: Sequence[str], kinds: Sequence[str], texts: SearchTexts) -> int:
        current = self._made_from(kinds)
        stored = dict(self._rows("SELECT host, made_from FROM host_search WHERE part = 0"))
        stale = [h for h in dict.fromkeys(hosts) if stored.get(h) != current.get(h, NO_ROWS)]
        if not stale:
            return 0
        rows: list[tuple[str, int, str, bytes]] = []
        for i in range(0, len(stale), _CHUNK):
            some = stale[i:i + _CHUNK]
            latest = self.latest_payloads("host", kinds, subject_ids=some)
            rows += [(h, n, current.get(h, NO_ROWS), utf8(t)) for h in some
                     for n, t in enumerate(texts(h, latest.get(h, {})))]
        with self.write_unledgered() as conn:
            for i in range(0, len(stale), _CHUNK):
                some = stale[i:i + _CHUNK]
                conn.execute(f"DELETE FROM host_search WHERE host IN ({marks(len(some))})", some)
            conn.executemany("INSERT OR REPLACE INTO host_search (host, part, made_from, text) VALUES (?,?,?,?)",
                             rows)
        return len(stale)

    def _made_from(self, kinds: Sequence[str]) -> dict[str, str]:
        """host -> its newest rows of `kinds` as a text that changes when any of them does (a row's body is
        never changed, so its number names its content)."""
        per: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
        for host, kind, key, rowid in self.read.execute(
                "SELECT subject_id, kind, key, obs_rowid FROM latest WHERE subject_kind = 'host'"
                f" AND kind IN ({marks(len(kinds))})", list(kinds)):
            per[host].append((kind, key, int(rowid)))
        return {h: json.dumps(sorted(rows)) for h, rows in per.items()}

    def hosts_matching(self, needle: str) -> set[str]:
        return {r[0] for r in self.read.execute(
            f"SELECT DISTINCT host FROM host_search WHERE {self._holds_needle}", (utf8(needle),))}
