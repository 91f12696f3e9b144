"""Evidence files compaction removes: only those no kept observation names, once their own retention is over."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from collector.store.retention import RetentionPolicy, load_policy
from collector.store.sqlite import SqliteStore
from rules.catalog import default_catalog
from rules.model import Observation

NOW = datetime.now(UTC).replace(microsecond=0)


def _health(store: SqliteStore, at: datetime, picture: bytes) -> Observation:
    ref = store.put_evidence(picture, "thumb.jpg", "image/jpeg")
    return Observation(source="camera-worker", subject_kind="camera", subject_id="cam-1", kind="camera.health",
                       observed_at=at, payload={"ok": True}, evidence=[ref])


def test_only_files_no_kept_observation_names_are_removed_after_their_retention(store):
    day = (NOW - timedelta(days=10)).replace(hour=1, minute=0, second=0)
    pictures = [f"picture {i}".encode() for i in range(4)]
    for i, picture in enumerate(pictures):  # four snapshots on one old day: the first is that day's keyframe
        at = day + timedelta(hours=i)
        store.ingest([_health(store, at, picture)], actor="camera-worker", received_at=at)
    store.ingest([_health(store, NOW - timedelta(minutes=5), b"today")], actor="camera-worker",
                 received_at=NOW - timedelta(minutes=5))
    with store.write() as conn:  # the files were stored when their observations came
        conn.execute("UPDATE evidence SET stored_at = ? WHERE sha256 != ?",
                     (day.timestamp(), hashlib.sha256(b"today").hexdigest()))
    policy = RetentionPolicy(keep_raw_days=3, keyframe_hours=24, evidence_keep_days=5)
    result = store.compact(policy, list(default_catalog()), NOW)
    sha = [hashlib.sha256(p).hexdigest() for p in pictures]
    assert result.dropped == 3
    assert sorted(result.evidence_removed) == sorted(sha[1:])  # the keyframe's picture stays
    for s in sha[1:]:
        assert store.checked_evidence_bytes(s) is None  # the file itself is gone, not only its row
    assert store.get_evidence(sha[0]) == pictures[0]
    assert store.get_evidence(hashlib.sha256(b"today").hexdigest()) == b"today"
    report = store.verify_ledger()
    assert report.ok, report.problems


def test_files_stay_while_their_own_retention_lasts(store):
    day = (NOW - timedelta(days=10)).replace(hour=1, minute=0, second=0)
    for i in range(3):
        at = day + timedelta(hours=i)
        store.ingest([_health(store, at, f"p{i}".encode())], actor="camera-worker", received_at=at)
    result = store.compact(load_policy(), list(default_catalog()), NOW)  # files stored just now: 92 days to go
    assert result.dropped == 1 and result.evidence_removed == []
    assert store.verify_ledger().ok
