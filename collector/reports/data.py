"""Everything a report says, gathered once from the store, language-neutral; every format
(HTML, PDF, OSCAL, CSV, bundle) renders this same data."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agents.pii.mask import mask, mask_text
from collector.people import attest
from collector.people.evidence import list_evidence
from collector.people.waivers import waivers
from collector.proof.canonical import canonical
from collector.proof.sitekey import fingerprint_of
from collector.reports.foreign import OtherSiteNames
from collector.reports.timeline import (
    NO_DATA,
    Piece,
    Segment,
    control_timeline,
    pct_compliant,
    pct_no_data,
    pieces,
    violations,
)
from collector.store.base import Store
from rules.catalog import load_clauses
from rules.model import Control

TOP_VIOLATIONS = 20  # per control in the printed appendix; CSV has them all


@dataclass
class ControlResult:
    control: Control
    status_end: str
    pct_compliant: float
    segments: list[Segment]
    pieces: list[Piece]
    violations: list[Piece]
    subjects: int
    evidence_observations: int
    evidence_files: list[dict[str, Any]]
    open_waivers: list[dict[str, Any]]
    contradicted: bool = False
    pct_no_data: float = 0.0
    evidence_ids: list[str] = field(default_factory=list)  # the observations behind the findings, sorted

    @property
    def longest(self) -> Piece | None:
        return self.violations[0] if self.violations else None

    def summary(self) -> dict[str, Any]:
        lv = self.longest
        return {"id": self.control.id, "clauses": self.control.clauses, "status_end": self.status_end,
                "pct_compliant": self.pct_compliant, "pct_no_data": self.pct_no_data,
                "violations": len(self.violations),
                "longest_s": lv.seconds if lv else 0, "longest_subject": lv.subject_id if lv else None,
                "subjects": self.subjects, "evidence_observations": self.evidence_observations,
                "evidence_files": [e["sha256"] for e in self.evidence_files],
                # report-data.json keeps the key it has always had
                "open_exceptions": len(self.open_waivers), "contradicted": self.contradicted}


@dataclass
class ReportData:
    site: str
    start: datetime
    end: datetime
    generated_at: datetime
    key_id: str
    key_fingerprint: str
    results: list[ControlResult]
    clauses: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    waivers: list[dict[str, Any]]
    attestations: list[dict[str, Any]]
    contradictions: list[dict[str, Any]]
    extra: dict[str, Any] = field(default_factory=dict)

    def canonical_body(self) -> bytes:
        """The report's content as canonical JSON: a bundle carries it as report-data.json, so anyone can
        recompute the report data hash with sha256sum."""
        body = {"site": self.site, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "generated_at": self.generated_at.isoformat(), "controls": [r.summary() for r in self.results],
                "evidence": self.evidence, "exceptions": self.waivers,
                "attestations": [a["id"] for a in self.attestations], "contradictions": len(self.contradictions)}
        return canonical(body)

    def digest(self) -> str:
        """SHA-256 over the report's content (`canonical_body`): printed on every rendering of it, the same for
        the PDF, HTML and OSCAL of one report, unlike each file's own SHA-256."""
        return hashlib.sha256(self.canonical_body()).hexdigest()

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for r in self.results:
            out[r.status_end] += 1
        return dict(out)

    @property
    def evidence_files(self) -> list[str]:
        return sorted({e["sha256"] for e in self.evidence if e.get("sha256")})


def _evidence_for(uploads: Sequence[dict[str, Any]], control: str, start: datetime) -> list[dict[str, Any]]:
    """Uploads in the period, plus the one in force when it began."""
    mine = [u for u in uploads if u["control"] == control]
    before = [u for u in mine if datetime.fromisoformat(u["uploaded_at"]) < start]
    during = [u for u in mine if datetime.fromisoformat(u["uploaded_at"]) >= start]
    return during + before[:1]


def clip_period(start: datetime, end: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The period as far as it has happened: a report says nothing about the future."""
    if start.tzinfo is None or end.tzinfo is None or start >= end:
        raise ValueError("period: start must be before end, both with a UTC offset")
    if start >= now:
        raise ValueError("period: starts after the report is generated")
    return start, min(end, now)


def gather(store: Store, controls: Sequence[Control], start: datetime, end: datetime, *,
           site: str | None = None, now: datetime | None = None) -> ReportData:
    generated_at = (now or datetime.now(UTC)).replace(microsecond=0)
    requested_end = end
    start, end = clip_period(start, end, generated_at)
    by_control: dict[str, list[Any]] = defaultdict(list)
    others = OtherSiteNames(store, site) if site is not None else None
    for iv in store.intervals(start=start, end=end):
        if others is None:
            by_control[iv.control].append(iv)
        elif iv.site == site:
            by_control[iv.control].append(others.interval(iv))
    ws = waivers(store, start=start, end=end, site=site)
    uploads = mask(list_evidence(store, until=end, limit=100_000, site=site))
    conflicts = mask(attest.contradictions(store, controls, start, end, site=site))
    if others is not None:
        conflicts = others.value(conflicts)
    contradicted = {c["manual_control"] for c in conflicts}
    results = []
    for c in controls:
        ivs = by_control.get(c.id, [])
        ps = pieces(ivs, start, end, ws)
        segs = control_timeline(ps, start, end)
        files = _evidence_for(uploads, c.id, start) if c.manual else []
        open_ws = [w.as_dict() for w in ws if w.control == c.id and w.starts_at <= end < w.ends_at]
        end_status = segs[-1].status if segs else NO_DATA
        evidence_ids = sorted({e for iv in ivs for e in iv.evidence})
        results.append(ControlResult(
            c, "unknown" if end_status == NO_DATA else end_status, pct_compliant(segs), segs, ps, violations(ps),
            len({(iv.subject_kind, iv.subject_id) for iv in ivs}),
            len(evidence_ids), files, mask(open_ws), c.id in contradicted, pct_no_data(segs), evidence_ids))
    clauses = []
    by_id = {r.control.id: r for r in results}
    for cl in sorted(load_clauses().values(), key=lambda x: x.order):
        ids = [c.id for c in controls if cl.id in c.clauses]
        clauses.append({"id": cl.id, "zh": cl.zh, "en": cl.en, "results": [by_id[i] for i in ids]})
    return ReportData(
        site=site or "default", start=start, end=end, generated_at=generated_at,
        key_id=store.site_key.key_id, key_fingerprint=fingerprint_of(store.site_key.public),
        results=results, clauses=clauses, evidence=uploads,
        waivers=mask([w.as_dict() for w in ws]),
        attestations=mask(attest.history(store, start=start, end=end, site=site)),
        contradictions=conflicts,
        extra={"site_filter": site, "requested_end": requested_end if requested_end > end else None})


def masked_reason(p: Piece, lang: str) -> str:
    return mask_text(p.interval.reason_en if lang == "en" else p.interval.reason_zh)
