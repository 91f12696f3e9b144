"""`store compact`'s summary for a person, in zh or en (the texts are in collector/i18n/messages.toml)."""
from __future__ import annotations

from datetime import datetime

from collector.i18n import translate
from collector.store.compaction import CompactionResult


def compaction_text(r: CompactionResult, db: str, now: datetime, lang: str) -> str:
    at = now.isoformat(sep=" ", timespec="seconds")  # in the zone given, to the second: "2026-12-06 02:00:35+08:00"
    if r.ledger_seq is None:
        return translate("compact_none", lang, db=db, now=at)
    done = translate("compact_done", lang, db=db, now=at, dropped=r.dropped, seq=r.ledger_seq) \
        if len(r.ledger_entries) < 2 else translate("compact_done_chunks", lang, db=db, now=at,
                                                     dropped=r.dropped, chunks=len(r.ledger_entries),
                                                     first=r.ledger_entries[0], seq=r.ledger_seq)
    lines = [done,
             translate("compact_kept", lang, **r.kept),
             translate("compact_batches", lang, partly=r.batches_partly_kept, proof=r.proof_bytes,
                       emptied=r.batches_emptied)]
    by_size = sorted(r.dropped_by_kind.items(), key=lambda x: -x[1])
    lines += [translate("compact_kind", lang, kind=k, n=n) for k, n in by_size]
    lines.append(translate("compact_evidence", lang, n=len(r.evidence_removed)))
    return "\n".join(lines)
