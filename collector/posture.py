"""Posture: every control's status, now or at a past moment, and why."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from collector.people.waivers import active_at, overlay
from collector.store.base import Store
from rules.model import Control

# The worst status of a control's subjects is the control's status; a waived failure
# (`excepted`) is better than unknown but never counts as a pass.
_RANK = {"fail": 4, "unknown": 3, "excepted": 2, "pass": 1, "not_applicable": 0}


def worst(statuses: Sequence[str]) -> str:
    relevant = [s for s in statuses if s != "not_applicable"]
    if not relevant:
        return "unknown" if not statuses else "not_applicable"
    return max(relevant, key=lambda s: _RANK[s])


def posture_at(store: Store, controls: Sequence[Control], at: datetime,
               site: str | None = None) -> dict[str, Any]:
    by_control: dict[str, list[Any]] = {}
    for iv in store.posture_at(at):
        if site is None or iv.site == site:
            by_control.setdefault(iv.control, []).append(iv)
    waived = [w for w in active_at(store, at) if site is None or w.site == site]
    out = []
    for c in controls:
        rows = by_control.get(c.id, [])
        shown = [overlay(r.status, r.control, r.subject_kind, r.subject_id, at, waived) for r in rows]
        out.append({
            "id": c.id, "clauses": c.clauses, "title": c.title.model_dump(), "severity": c.severity,
            "manual": c.manual, "status": worst(shown),
            "counts": dict(Counter(shown)),
            "subjects": [{
                "subject_kind": r.subject_kind, "subject": r.subject_id, "site": r.site, "status": st,
                "measured_status": r.status,
                "since": r.start.isoformat(), "until": r.end.isoformat() if r.end else None, "value": r.value,
                "reason": {"zh": r.reason_zh, "en": r.reason_en}, "evidence": r.evidence}
                for r, st in zip(rows, shown, strict=True)],
        })
    totals = Counter(c["status"] for c in out)
    return {"at": at.isoformat(), "controls": out, "totals": dict(totals)}


def statuses_at(store: Store, controls: Sequence[Control], at: datetime, site: str | None = None
                ) -> list[tuple[str, str, dict[str, int]]]:
    """(control, status, counts) of `posture_at` without its subjects, from the store's counts by control, site
    and status and the failing or unknown subjects of the waived controls only: a past moment's posture of
    thousands of subjects is otherwise every open interval's value and evidence read and parsed."""
    waived = [w for w in active_at(store, at) if site is None or w.site == site]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for control, in_site, status, n in store.finding_counts(at):
        if site is None or in_site == site:
            counts[control][status] += n
    for control, subject_kind in dict.fromkeys((w.control, w.subject_kind) for w in waived):
        for in_site, subject_id, status in store.open_subjects(control, subject_kind, None, at):
            if (site is None or in_site == site) and \
                    overlay(status, control, subject_kind, subject_id, at, waived) != status:
                counts[control][status] -= 1
                counts[control]["excepted"] += 1
    out = []
    for c in controls:
        shown = +counts.get(c.id, Counter())  # without the statuses a waiver took every subject from
        out.append((c.id, worst(list(shown.elements())), dict(shown)))
    return out
