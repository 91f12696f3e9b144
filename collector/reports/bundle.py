"""The evidence bundle: a zip anyone can check offline with the site's public key.

Layout: report.pdf, report.html, assessment-results.json, intervals.csv, violations.csv,
evidence/<sha256> (every referenced file), ledger/entries.jsonl + ledger/segment.json (the
ledger entries covering the period, the hash before them, and the signed checkpoints among
them), site-public-key.pem, manifest.json (SHA-256 of every other file) and manifest.sig
(Ed25519 signature of manifest.json by the site key)."""
from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime
from typing import Any

import orjson

from collector.proof.canonical import canonical, loads
from collector.proof.ledger import GENESIS
from collector.reports.foreign import ForeignEntries
from collector.store.base import Store

FORMAT = "clausewatch-bundle/2"  # manifest.json in RFC 8785 form
LEGACY_FORMAT = "clausewatch-bundle/1"  # manifest.json in orjson's sorted form; still verified by its signature
MANIFEST, SIGNATURE, PUBKEY = "manifest.json", "manifest.sig", "site-public-key.pem"
ENTRIES, SEGMENT = "ledger/entries.jsonl", "ledger/segment.json"
REPORT_DATA = "report-data.json"  # the canonical JSON the report data hash is the SHA-256 of
SIGNING_CONTEXT = b"clausewatch-bundle-manifest\n"


def _entry_ts(store: Store, seq: int) -> str:
    entry = store.ledger_entry(seq)
    if entry is None:
        raise LookupError(f"ledger entry {seq} is missing")
    return loads(entry[1])["ts"]


def first_seq_at(store: Store, when: datetime) -> int:
    """The first ledger entry stamped at or after `when`, or the head + 1 when there is none
    (entries are appended in time order)."""
    lo, hi = 1, store.ledger_head() + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if datetime.fromisoformat(_entry_ts(store, mid)) < when:
            lo = mid + 1
        else:
            hi = mid
    return lo


def ledger_segment(store: Store, start: datetime, end: datetime,
                   site: str | None = None) -> tuple[bytes, dict[str, Any]]:
    """Entries from the period start through the first signed checkpoint at or after the period
    end (a fresh checkpoint is signed when none exists yet), as JSON lines and a segment header.
    With `site`, entries about other sites are withheld: only their seq and hash are written."""
    store.seal_batches()  # the period's batches are in the ledger before it is cut
    first = min(first_seq_at(store, start), max(1, store.ledger_head()))
    last_in_period = max(first, first_seq_at(store, end) - 1)
    cp = store.checkpoint_at_or_after(last_in_period)
    if cp is None:
        store.checkpoint()
        cp = store.ledger_head()
    prev = store.ledger_entry(first - 1)
    lines = io.BytesIO()
    foreign = ForeignEntries(store, site, first, cp) if site is not None else None
    withheld = 0
    for seq, h, body in store.ledger_entries(first, cp):
        text = body.decode() if isinstance(body, bytes) else str(body)
        if foreign is not None and foreign.of_other_site(seq, text):
            lines.write(orjson.dumps({"seq": seq, "hash": h, "withheld": "other site"}) + b"\n")
            withheld += 1
            continue
        lines.write(orjson.dumps({"seq": seq, "hash": h, "body": text}) + b"\n")
    cps = [{"seq": s, "hash": h, "ts": ts, "signature": sig, "key_id": k}
           for s, h, ts, sig, k in store.checkpoints_between(first, cp)]
    header = {"first": first, "last": cp, "prev_hash": prev[0] if prev else GENESIS.hex(), "checkpoints": cps,
              "site": site, "withheld": withheld}
    return lines.getvalue(), header


def write_bundle(store: Store, files: dict[str, bytes], start: datetime, end: datetime,
                 evidence: list[str], meta: dict[str, Any], site: str | None = None) -> bytes:
    """Zip `files` with the evidence, the ledger segment (of one site when given), the public key
    and a signed manifest."""
    out = dict(files)
    for sha in evidence:
        data = store.get_evidence(sha)
        if data is not None:
            out[f"evidence/{sha}"] = data
    entries, header = ledger_segment(store, start, end, site)
    out[ENTRIES] = entries
    out[SEGMENT] = orjson.dumps(header, option=orjson.OPT_INDENT_2)
    out[PUBKEY] = store.site_key.public_pem()
    manifest = {"format": FORMAT, **meta, "period": {"start": start.isoformat(), "end": end.isoformat()},
                "key_id": store.site_key.key_id,
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(out.items())}}
    raw = canonical(manifest)
    out[MANIFEST] = raw
    out[SIGNATURE] = store.site_key.sign(SIGNING_CONTEXT + raw).hex().encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name in sorted(out):
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, out[name])
    return buf.getvalue()
