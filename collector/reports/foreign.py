"""What of another site a site's report must not show: which ledger entries are about another
site (its bundle withholds them), and the other sites' names inside texts.

An entry belongs to a site when its data names the site (finding changes, waivers, uploads,
reminders, enrolments, site attestations, reports for a site), when the observations it commits
are all of that site, when it names a subject of that site (acknowledged alerts, purge
certificates), or when it names an evidence file only that site uploaded. Entries about
no site in particular (logins, users, whole-store reports) are everyone's."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from typing import Any

from collector.people.evidence import list_evidence
from collector.proof.canonical import loads
from collector.proof.seal import SEAL_TYPE
from collector.store.base import Interval, Store

OTHER_SITE = "[其他职场 other site]"


class ForeignEntries:
    def __init__(self, store: Store, site: str, first_seq: int, last_seq: int):
        self.site = site
        self.names = OtherSiteNames(store, site)
        self.batch_sites: dict[int, set[str]] = defaultdict(set)
        for batch, s in store.batch_sites(first_seq, last_seq):
            self.batch_sites[batch].add(s)
        self.subject_sites: dict[tuple[str, str], str] = {(k, i): s for k, i, s in store.subjects()}
        uploads = list_evidence(store, limit=1_000_000)
        mine = {u["sha256"] for u in uploads if u.get("site") == site}
        self.foreign_files = {u["sha256"] for u in uploads if u.get("site") != site} - mine
        self.foreign_observations = {u["observation"] for u in uploads if u.get("site") != site}

    def of_other_site(self, seq: int, body: str) -> bool:
        """True when the entry is about another site, or names one (a finding of this site whose
        reason names the other site's terminal cannot be cut without breaking its hash)."""
        return self._about_other_site(seq, body) or self.names.pattern is not None and \
            self.names.pattern.search(body) is not None

    def _about_other_site(self, seq: int, body: str) -> bool:
        entry = loads(body)
        data: Any = entry.get("data")
        if not isinstance(data, dict):
            return False
        if entry.get("type") in ("observations", SEAL_TYPE):  # a seal: the batches it covers
            sites = self.batch_sites.get(seq, set())
            return bool(sites) and self.site not in sites
        named = data.get("site")
        if named is None and isinstance(data.get("attestation"), dict):
            named = data["attestation"].get("site")
        if isinstance(named, str):
            return named != self.site
        subject = self.subject_sites.get((str(data.get("subject_kind")), str(data.get("subject_id")))) or \
            self.subject_sites.get(("batch", str(data.get("batch"))))
        if subject is not None:
            return subject != self.site
        return data.get("sha256") in self.foreign_files or data.get("observation") in self.foreign_observations


class OtherSiteNames:
    """Replaces the names of other sites and their subjects inside a site's report texts: a check
    that looks across sites (one account on terminals of two sites) may name the other site's
    terminal in its reason, which that site's auditors must not see. Names both sites use
    (`ups-1`, `main-door`) are left alone."""

    def __init__(self, store: Store, site: str):
        subjects = store.subjects()
        mine = {i for _, i, s in subjects if s == site} | {site}
        theirs = ({i for _, i, s in subjects if s != site} | {s for _, _, s in subjects if s != site}) - mine
        names = sorted((n for n in theirs if len(n) >= 3), key=len, reverse=True)
        self.pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, names)) + r")(?![\w-])") if names \
            else None

    def text(self, value: str) -> str:
        return self.pattern.sub(OTHER_SITE, value) if self.pattern is not None else value

    def value(self, value: Any) -> Any:
        """Every string inside a JSON-like value, redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def interval(self, iv: Interval) -> Interval:
        if self.pattern is None:
            return iv
        return replace(iv, reason_zh=self.text(iv.reason_zh), reason_en=self.text(iv.reason_en),
                       value=self.value(iv.value))
