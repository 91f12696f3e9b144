"""Evidence files of the SQLite store: the bytes under their SHA-256 beside the database, a row each,
re-hashed on every read."""
from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from collector.proof.ledger import VerifyReport
from collector.store.integrity import EvidenceAltered, read_checked, verify_evidence
from collector.store.sqlite_parts import SqliteParts
from rules.model import EvidenceRef

log = logging.getLogger(__name__)


class SqliteEvidence(SqliteParts):
    evidence_dir: Path
    _altered_noted: set[tuple[str, str]]  # (sha256, found) already written to the ledger by this process

    def put_evidence(self, data: bytes, name: str, media_type: str = "application/octet-stream") -> EvidenceRef:
        digest = hashlib.sha256(data).hexdigest()
        self.keep_evidence_bytes(digest, data)
        with self.write() as conn:
            conn.execute("INSERT OR IGNORE INTO evidence VALUES (?,?,?,?,?)",
                         (digest, name, media_type, len(data), datetime.now(UTC).timestamp()))
        return EvidenceRef(sha256=digest, name=name, media_type=media_type, size=len(data))

    def keep_evidence_bytes(self, digest: str, data: bytes) -> None:
        """Keep `data` under its SHA-256 `digest` (the caller hashed it), durably, once."""
        target = self.evidence_dir / digest[:2] / digest
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".tmp")
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)

    def checked_evidence_bytes(self, sha256: str) -> bytes | None:
        """The bytes kept under `sha256`; None when none; raises EvidenceAltered when they no longer match."""
        return read_checked(self.evidence_dir, sha256)

    def drop_evidence_bytes(self, digests: Sequence[str]) -> None:
        """Remove the bytes kept under `digests` (compaction, once no row lists them)."""
        for digest in digests:
            (self.evidence_dir / digest[:2] / digest).unlink(missing_ok=True)

    def _verify_evidence(self, conn: sqlite3.Connection, report: VerifyReport) -> None:
        verify_evidence(conn, self.evidence_dir, report)

    def get_evidence(self, sha256: str) -> bytes | None:
        """The file's bytes; None when there is none or when it no longer matches its SHA-256."""
        try:
            return self.read_evidence(sha256)
        except EvidenceAltered:
            return None

    def read_evidence(self, sha256: str) -> bytes | None:
        """The file's bytes, re-hashed on every read: raises EvidenceAltered (and notes it in the log
        and, once per process, in the ledger) rather than hand out altered bytes."""
        try:
            return self.checked_evidence_bytes(sha256)
        except EvidenceAltered as e:
            log.error("%s: not served", e)
            if (e.sha256, e.found) not in self._altered_noted:
                self._altered_noted.add((e.sha256, e.found))
                self.ledger_append("evidence.altered", "collector", {"sha256": e.sha256, "found_sha256": e.found})
            raise
