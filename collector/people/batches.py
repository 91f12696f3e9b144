"""Bank batches: register one from its dispatch file, and certify that it was purged everywhere.

Registering hashes the batch's identifiers into a manifest (salted SHA-256; the raw numbers are
never stored) and records a `batch.registered` observation. The purge certificate gathers each
host's latest full scan after the deadline and is appended to the ledger when it proves the purge.
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from agents.pii.manifest import batch_document
from agents.pii.mask import mask
from collector.proof.canonical import CanonicalError, canonical
from collector.sources.importers.dispatch import Dispatch
from collector.store.base import Store
from rules.checks.lifecycle import not_read
from rules.model import EvidenceRef, Observation

SOURCE = "import:dispatch"
HOST_STATUSES = ("clean", "dirty", "unscanned", "not_proven")


@dataclass(frozen=True)
class BatchFacts:
    batch_id: str
    bank: str
    dispatch_date: date
    end_date: date
    grace_days: int = 0

    def deadline(self, tz: tzinfo) -> datetime:
        """Data may stay until the end of the end date plus the grace days, site time."""
        return datetime.combine(self.end_date + timedelta(days=1 + self.grace_days), time(0), tzinfo=tz)


def manifest_for(facts: BatchFacts, dispatch: Dispatch, salt: bytes | None = None) -> dict:
    return batch_document(facts.batch_id, salt or os.urandom(16), dispatch.identifiers, bank=facts.bank,
                          end_date=facts.end_date.isoformat())


def registration(facts: BatchFacts, dispatch: Dispatch, manifest_ref: EvidenceRef, tz: tzinfo,
                 now: datetime, site: str = "default") -> Observation:
    """The `batch.registered` observation; the same file registered twice gives the same id."""
    payload = {"bank": facts.bank, "dispatch_date": facts.dispatch_date.isoformat(),
               "end_date": facts.end_date.isoformat(), "deadline": facts.deadline(tz).isoformat(),
               "grace_days": facts.grace_days, "rows": dispatch.rows, "identifiers": len(dispatch.identifiers),
               "manifest_sha256": manifest_ref.sha256}
    oid = uuid.uuid5(uuid.NAMESPACE_URL, f"clausewatch:batch:{facts.batch_id}:{manifest_ref.sha256}")
    return Observation(id=str(oid), source=SOURCE, site=site, subject_kind="batch", subject_id=facts.batch_id,
                       kind="batch.registered", observed_at=now, payload=payload, evidence=[manifest_ref])


def _finished(scan: Observation) -> datetime | None:
    text = scan.payload.get("finished_at")
    return datetime.fromisoformat(text) if text else None


def host_scan_state(scan: Observation | None, batch_id: str, deadline: datetime,
                    watch: Observation | None = None) -> dict[str, Any]:
    """One host's line of the certificate: its latest full scan and whether it proves the purge.
    A watch scan that found the batch after the deadline, newer than the full scan, makes it dirty."""
    seen = _finished(watch) if watch is not None else None
    if watch is not None and seen is not None and seen >= deadline and int(
            watch.payload.get("batches", {}).get(batch_id, 0)) and (scan is None or (_finished(scan) or seen) < seen):
        return {"status": "dirty", "scan": None, "watch": {"observation": watch.id, "finished_at": seen.isoformat(),
                                                           "matches": int(watch.payload["batches"][batch_id])}}
    if scan is None:
        return {"status": "unscanned", "scan": None}
    p = scan.payload
    finished = datetime.fromisoformat(p["finished_at"]) if p.get("finished_at") else None
    line = {"scan": {"observation": scan.id, "started_at": p.get("started_at"), "finished_at": p.get("finished_at"),
                     "full": bool(p.get("full")), "files_scanned": p.get("files_scanned"),
                     "matches": int(p.get("batches", {}).get(batch_id, 0))}}
    if not p.get("full") or finished is None or finished < deadline:
        return {"status": "unscanned", **line}
    if line["scan"]["matches"]:
        return {"status": "dirty", **line}
    unread = not_read(p)
    if unread:  # the scan found nothing in what it read, but a file it could not read proves nothing
        return {"status": "not_proven", **line, "not_proven": unread}
    return {"status": "clean", **line}



def certificate(batch: Observation, scans: dict[str, Observation | None], now: datetime,
                finding: dict | None = None, watches: dict[str, Observation] | None = None) -> dict[str, Any]:
    """The purge certificate of one batch from every host's latest full `pii.scan` (and watch scan)."""
    deadline = datetime.fromisoformat(batch.payload["deadline"])
    watches = watches or {}
    hosts = {h: host_scan_state(scans.get(h), batch.subject_id, deadline, watches.get(h))
             for h in sorted(set(scans) | set(watches))}
    by_status = {s: sorted(h for h, v in hosts.items() if v["status"] == s) for s in HOST_STATUSES}
    if now < deadline:
        status = "in_commission"
    elif by_status["dirty"]:
        status = "not_purged"
    elif by_status["unscanned"] or by_status["not_proven"] or not hosts:
        status = "unproven"
    else:
        status = "purged"
    return {"batch": batch.subject_id, "bank": batch.payload.get("bank"), "rows": batch.payload.get("rows"),
            "dispatch_date": batch.payload.get("dispatch_date"), "end_date": batch.payload.get("end_date"),
            "deadline": deadline.isoformat(), "issued_at": now.isoformat(), "status": status,
            "registration": {"observation": batch.id, "manifest_sha256": batch.payload.get("manifest_sha256")},
            "hosts": [{"host": h, **v} for h, v in hosts.items()],
            "counts": {s: len(v) for s, v in by_status.items()}, "finding": finding}


def certificate_sha256(cert: dict[str, Any]) -> str:
    """SHA-256 of the certificate's RFC 8785 bytes; raises CanonicalError (naming the batch) when a
    value reported for it cannot be expressed so (an integer beyond 2**53 from a forged payload)."""
    body = {k: v for k, v in cert.items() if k != "ledger"}
    try:
        return hashlib.sha256(canonical(body)).hexdigest()
    except CanonicalError as e:
        raise CanonicalError(f"batch {cert.get('batch')}: its certificate cannot be hashed: {e}") from None


def manifest_bytes(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def stored_certificate(store: Store, batch: Observation, now: datetime) -> dict[str, Any]:
    """The certificate of a registered batch from the store's latest full scans and BATCH-PURGED finding."""
    latest = store.latest_all("host")
    scans: dict[str, Observation | None] = {sid: obs.get(("pii.scan", "")) for (_, sid), obs in latest.items()}
    watches = {sid: w for (_, sid), obs in latest.items() if (w := obs.get(("pii.scan", "watch")))}
    scans.update({sid: scans.get(sid) for _, sid, _ in store.subjects("host")})
    rows = store.current_findings(control="BATCH-PURGED", subject_kind="batch", subject_id=batch.subject_id)
    finding = ({"status": rows[0].status, "since": rows[0].since.isoformat(),
                "reason": mask({"zh": rows[0].reason_zh, "en": rows[0].reason_en})} if rows else None)
    cert = certificate(batch, scans, now, finding, watches)
    cert["sha256"] = certificate_sha256(cert)
    return cert


def stored_manifests(path: Path) -> list[tuple[str, bytes]]:
    """Manifests attached as evidence to the `batch.registered` observations of a clausewatch store
    (`scan pii --manifest STORE`)."""
    from collector.store.sqlite import SqliteStore

    store = SqliteStore(path)
    try:
        out = []
        for (_, batch_id), latest in sorted(store.latest_all("batch").items()):
            obs = latest.get(("batch.registered", ""))
            for ref in obs.evidence if obs else ():
                data = store.get_evidence(ref.sha256)
                if data is not None:
                    out.append((f"{path}: batch {batch_id}", data))
        return out
    finally:
        store.close()
