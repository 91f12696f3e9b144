"""Attestations: a manager signs a period's posture with a statement.

The attestation records a hash of the findings and evidence it covers, who, when and what was
said; it is signed with the site key and appended to the ledger. It cannot be edited: a
correction is a new attestation that names the one it corrects. Telemetry that contradicts a
manual control (an automatic control on the same tender clause failed in the period) is
returned with it, so the form and the report can show it.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from collector.people.evidence import list_evidence
from collector.posture import posture_at
from collector.proof.canonical import CANONICAL_FORM, CanonicalError, canonical, loads, signed_form
from collector.proof.sitekey import load_public_pem, verify_signature
from collector.store.areas import AttestationRow
from collector.store.base import Store
from rules.model import Control

SIGNING_CONTEXT = b"clausewatch-attestation\n"
SIGNED_FIELDS = ("period", "statement", "user", "created_at", "corrects", "controls", "snapshot_sha256",
                 "contradictions", "site_key", "site", "canonical", "failures", "failures_acknowledged")


class AttestError(ValueError):
    """Bad request: the message names the field."""


def snapshot(store: Store, controls: Sequence[Control], start: datetime, end: datetime,
             site: str | None = None) -> dict[str, Any]:
    """What an attestation covers: every control's status at the period end, a digest of every
    finding interval in the period, and the evidence uploaded up to the period end (of one site
    when given)."""
    posture = posture_at(store, controls, end, site)
    digest = hashlib.sha256()
    n = 0
    for iv in store.intervals(start=start, end=end):
        if site is not None and iv.site != site:
            continue
        digest.update(canonical([iv.control, iv.subject_kind, iv.subject_id, iv.status, iv.start.isoformat(),
                                 iv.end.isoformat() if iv.end else None]))
        n += 1
    evidence = [{"control": e["control"], "sha256": e["sha256"], "valid_until": e["valid_until"]}
                for e in list_evidence(store, until=end, site=site)]
    return {"period": {"start": start.isoformat(), "end": end.isoformat()},
            "controls": [{"id": c["id"], "status": c["status"], "counts": c["counts"]} for c in posture["controls"]],
            "intervals": {"count": n, "sha256": digest.hexdigest()}, "evidence": evidence}


def contradictions(store: Store, controls: Sequence[Control], start: datetime, end: datetime,
                   scope: Sequence[str] | None = None, site: str | None = None) -> list[dict[str, Any]]:
    """Failures of automatic controls that share a tender clause with a manual control in scope,
    during [start, end) (at one site when given): telemetry that contradicts what a person attests."""
    manual = [c for c in controls if c.manual and (not scope or c.id in scope)]
    automatic = [c for c in controls if not c.manual]
    out = []
    for m in manual:
        for a in automatic:
            shared = sorted(set(m.clauses) & set(a.clauses))
            if not shared:
                continue
            fails = [iv for iv in store.intervals(control=a.id, start=start, end=end)
                     if iv.status == "fail" and (site is None or iv.site == site)]
            for iv in fails:
                out.append({"manual_control": m.id, "clauses": shared, "automatic_control": a.id,
                            "subject_kind": iv.subject_kind, "subject": iv.subject_id,
                            "start": max(iv.start, start).isoformat(),
                            "end": min(iv.end, end).isoformat() if iv.end else None,
                            "reason": {"zh": iv.reason_zh, "en": iv.reason_en}})
    return out


def period_failures(store: Store, controls: Sequence[Control], start: datetime, end: datetime,
                    site: str | None = None) -> list[dict[str, Any]]:
    """Every failure of the period, of every control, in tender order: one row per (control, subject) with how
    many times it failed, from when to when, and the waivers that cover it (a manager signing the period
    acknowledges the rest)."""
    from collector.people.waivers import waivers

    ws = waivers(store, start=start, end=end, site=site)
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for c in controls:
        for iv in store.intervals(control=c.id, start=start, end=end):
            if iv.status != "fail" or (site is not None and iv.site != site):
                continue
            s, e = max(iv.start, start), min(iv.end or end, end)
            row = rows.setdefault((c.id, iv.subject_kind, iv.subject_id), {
                "control": c.id, "clauses": c.clauses, "subject_kind": iv.subject_kind, "subject": iv.subject_id,
                "count": 0, "first": s.isoformat(), "last_end": e.isoformat(), "waivers": [],
                "reason": {"zh": iv.reason_zh, "en": iv.reason_en}})
            row["count"] += 1
            row["first"], row["last_end"] = min(row["first"], s.isoformat()), max(row["last_end"], e.isoformat())
            row["waivers"] = sorted({*row["waivers"], *(w.id for w in ws if w.control == c.id and w.subject_kind
                                                         == iv.subject_kind and w.subject_id in ("*", iv.subject_id)
                                                         and w.starts_at < e and s < w.ends_at)})
    return list(rows.values())


def _signed_failures(failures: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the signed record keeps of each failure (the reason text stays in the findings)."""
    return [{k: f[k] for k in ("control", "subject_kind", "subject", "count", "first", "last_end", "waivers")}
            for f in failures]


def attest(store: Store, controls: Sequence[Control], *, start: datetime, end: datetime, statement: str,
           user: str, corrects: int | None = None, scope: Sequence[str] | None = None,
           now: datetime | None = None, site: str | None = None, acknowledge_failures: bool = False
           ) -> dict[str, Any]:
    """Sign the period's posture (of one site when given, else of the whole store) with
    `statement`; return the attestation with its contradictions. Every failure of the period is carried in the
    signed record: those no waiver covers must be acknowledged (`acknowledge_failures`)."""
    now = now or datetime.now(UTC)
    if start.tzinfo is None or end.tzinfo is None or start >= end:
        raise AttestError("period: start must be before end, both with a UTC offset")
    if end > now:
        raise AttestError("period: cannot attest a period that has not ended")
    if len(statement.strip()) < 6:
        raise AttestError("statement: say what you attest (at least 6 characters)")
    known = {c.id for c in controls}
    if scope and set(scope) - known:
        raise AttestError(f"controls: unknown {', '.join(sorted(set(scope) - known))}")
    if corrects is not None and get(store, corrects) is None:
        raise AttestError(f"corrects: no attestation {corrects}")
    failures = period_failures(store, controls, start, end, site)
    open_failures = [f for f in failures if not f["waivers"]]
    if open_failures and not acknowledge_failures:
        raise AttestError(f"acknowledge_failures: the period has {len(open_failures)} failure(s) no waiver covers; "
                          "review and acknowledge them to sign")
    try:
        snap_sha256 = hashlib.sha256(canonical(snapshot(store, controls, start, end, site))).hexdigest()
    except CanonicalError as e:  # e.g. a forged evidence payload with an integer beyond 2**53
        raise AttestError(f"snapshot: what was reported for the period cannot be signed ({e})") from None
    conflicts = contradictions(store, controls, start, end, scope, site)
    body = {"period": {"start": start.isoformat(), "end": end.isoformat()}, "statement": statement, "user": user,
            "created_at": now.isoformat(),
            "corrects": corrects, "controls": list(scope or []),
            "snapshot_sha256": snap_sha256,
            "contradictions": len(conflicts), "site_key": store.site_key.key_id, "canonical": CANONICAL_FORM,
            "failures": _signed_failures(failures), "failures_acknowledged": bool(open_failures)}
    if site is not None:
        body["site"] = site  # absent: the whole store was attested
    raw = canonical(body)
    signature = store.site_key.sign(SIGNING_CONTEXT + raw).hex()
    aid, seq = store.add_attestation(start, end, user, now, corrects, snap_sha256, raw, signature,
                                     {"attestation": body, "signature": signature})
    return {"id": aid, **body, "signature": signature, "ledger_seq": seq, "contradiction_list": conflicts}


def _out(row: AttestationRow) -> dict[str, Any]:
    return {"id": row.id, **loads(row.body), "signature": row.signature, "key_id": row.key_id,
            "ledger_seq": row.ledger_seq}


def get(store: Store, attestation_id: int) -> dict[str, Any] | None:
    row = store.attestation(attestation_id)
    return _out(row) if row else None


def history(store: Store, *, start: datetime | None = None, end: datetime | None = None,
            site: str | None = None) -> list[dict[str, Any]]:
    """Every attestation (oldest first) whose period overlaps [start, end); each names what it
    corrects and, when corrected later, by which attestation. With `site`: that site's and the
    whole store's attestations, not another site's."""
    rows = [_out(r) for r in store.attestations(start=start, end=end)]
    if site is not None:
        rows = [r for r in rows if r.get("site") in (None, site)]
    corrected = {r["corrects"]: r["id"] for r in rows if r.get("corrects")}
    for r in rows:
        r["corrected_by"] = corrected.get(r["id"])
    return rows


def verify(att: dict[str, Any], public_pem: bytes) -> bool:
    """Check an attestation's signature with the site's public key (RFC 8785 bytes, or the legacy form
    for attestations signed before it: their body has no `canonical` field)."""
    body = {k: att[k] for k in SIGNED_FIELDS if k in att}
    return verify_signature(load_public_pem(public_pem), bytes.fromhex(att["signature"]),
                            SIGNING_CONTEXT + signed_form(body))
