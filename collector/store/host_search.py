"""The terminal search's texts: per host, the lower-cased texts a search matches, remade for the hosts
that sent a row of the searched kinds since the last search, so that a search matches in the database
instead of reading every host's reports.

The texts are made by the caller's function (the page decides what is searched and how it is lowered,
in Python, so that non-ASCII case and forged values match as they always have) and stored as UTF-8:
a substring of the UTF-8 bytes is a substring of the text, and a `%` or `_` in a search is no pattern.
Which rows are new is told by their number: observations are numbered in the order they are committed
(one writer at a time, on either database), and a row's body never changes.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from collector.store.areas import Payloads
from collector.store.sqlite_parts import SqliteParts, marks

# host, its newest rows of the searched kinds -> the texts a search matches (already lower-cased)
SearchTexts = Callable[[str, dict[str, tuple[float, dict[str, Any]]]], Sequence[str]]
THROUGH = "host_search.through"  # meta: the newest observation row the texts have seen
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
        through, newest = self._search_through()
        made = {r[0] for r in self.read.execute("SELECT host FROM host_search WHERE part = 0")}
        stale = {h for h in hosts if h not in made}
        if newest > through:
            stale |= {r[0] for r in self.read.execute(
                "SELECT DISTINCT subject_id FROM observations WHERE rowid > ? AND rowid <= ?"
                f" AND subject_kind = 'host' AND kind IN ({marks(len(kinds))})", [through, newest, *kinds])}
        if not stale and newest == through:
            return 0
        rows: list[tuple[str, int, bytes]] = []
        ordered = sorted(stale)
        for i in range(0, len(ordered), _CHUNK):
            some = ordered[i:i + _CHUNK]
            latest = self.latest_payloads("host", kinds, subject_ids=some)
            rows += [(h, n, utf8(t)) for h in some for n, t in enumerate(texts(h, latest.get(h, {})))]
        with self.write_unledgered() as conn:
            for i in range(0, len(ordered), _CHUNK):
                some = ordered[i:i + _CHUNK]
                conn.execute(f"DELETE FROM host_search WHERE host IN ({marks(len(some))})", some)
            conn.executemany("INSERT OR REPLACE INTO host_search (host, part, text) VALUES (?,?,?)", rows)
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (THROUGH, str(newest)))
        return len(stale)

    def _search_through(self) -> tuple[int, int]:
        """The newest observation row the texts have seen, and the newest row now (both 0 when none)."""
        seen = self._one("SELECT value FROM meta WHERE key = ?", (THROUGH,))
        newest = self._one("SELECT max(rowid) FROM observations")[0]
        return int(seen[0]) if seen else 0, int(newest or 0)

    def hosts_matching(self, needle: str) -> set[str]:
        return {r[0] for r in self.read.execute(
            f"SELECT DISTINCT host FROM host_search WHERE {self._holds_needle}", (utf8(needle),))}
