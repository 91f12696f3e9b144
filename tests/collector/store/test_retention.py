"""rules/retention.yaml: the windows compaction applies, and a malformed file named by file and key."""
from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from collector.store.retention import RetentionError, load_policy


def test_the_shipped_policy_keeps_what_the_tender_asks():
    policy = load_policy()
    assert policy.raw_days("agent.heartbeat") == policy.keep_raw_days == 3
    assert policy.raw_days("calls.audit") >= 3 * 365  # T12.1-b, T13.2
    assert policy.raw_days("camera.retention") >= 90 and policy.evidence_keep_days >= 90  # T12.2-c
    assert policy.raw_days("batch.registered") == math.inf  # T14.2-2
    assert policy.cutoff("manual.evidence", datetime.now(UTC)) is None
    assert policy.with_raw_days(1).raw_days("agent.heartbeat") == 1
    assert policy.with_raw_days(1).raw_days("calls.audit") == policy.raw_days("calls.audit")


def test_the_cutoff_falls_on_a_keyframe_period_start():
    policy = load_policy()
    now = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
    assert policy.cutoff("agent.heartbeat", now) == datetime(2026, 3, 7, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("text, names", [
    ("keep_raw_days: -1\nkeyframe_hours: 24\nevidence_keep_days: 92\n", "keep_raw_days"),
    ("keep_raw_days: 3\nkeyframe_hours: 0\nevidence_keep_days: 92\n", "keyframe_hours"),
    ("keep_raw_days: 3\nkeyframe_hours: 24\nevidence_keep_days: 92\nkinds: {no.such.kind: 3}\n", "kinds.no.such.kind"),
    ("keep_raw_days: 3\nkeyframe_hours: 24\nevidence_keep_days: 92\nkinds: {calls.audit: always}\n",
     "kinds.calls.audit"),
    ("keep_raw_days: 3\nkeyframe_hours: 24\nevidence_keep_days: 92\nkeep_forever: true\n", "keep_forever"),
    ("- 3\n", "mapping"),
    ("keep_raw_days: [3\n", "cannot be read"),
])
def test_a_malformed_policy_is_named(tmp_path, text, names):
    path = tmp_path / "retention.yaml"
    path.write_text(text)
    with pytest.raises(RetentionError) as e:
        load_policy(path)
    assert str(path) in str(e.value) and names in str(e.value)
