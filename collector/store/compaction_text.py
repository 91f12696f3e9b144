"""`store compact`'s summary for a person, in zh or en (collector/web/i18n.py holds the texts)."""
from __future__ import annotations

from datetime import datetime

from collector.store.compaction import CompactionResult
from collector.web.i18n import translate


def compaction_text(r: CompactionResult, db: str, now: datetime, lang: str) -> str:
    def t(key: str, **values: object) -> str:
        return translate(key, lang).format(**values)

    if r.ledger_seq is None:
        return t("compact_none", db=db, now=now.isoformat())
    lines = [t("compact_done", db=db, now=now.isoformat(), dropped=r.dropped, seq=r.ledger_seq),
             t("compact_kept", **r.kept),
             t("compact_batches", partly=r.batches_partly_kept, proof=r.proof_bytes, emptied=r.batches_emptied)]
    lines += [t("compact_kind", kind=k, n=n) for k, n in sorted(r.dropped_by_kind.items(), key=lambda x: -x[1])]
    lines.append(t("compact_evidence", n=len(r.evidence_removed)))
    return "\n".join(lines)
