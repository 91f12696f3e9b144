"""batch_purged with the watch's partial scans: they can disprove a purge, never prove it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules.catalog import default_catalog
from rules.evaluate import evaluate_one
from rules.model import Observation
from rules.registry import load_checks
from tests.rules.checks.judging import obs

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
DEADLINE = NOW - timedelta(days=2)


def scan(host: str, finished: datetime, hits: int, watch: bool = False, **more: object) -> Observation:
    return Observation(source="t", subject_kind="host", subject_id=host, kind="pii.scan", key="watch" if watch else "",
                       observed_at=finished, payload={"full": not watch, "finished_at": finished.isoformat(),
                                                      "batches": {"B1": hits} if hits else {}, **more})


def judge(scans: list[Observation]) -> str:
    batch = Observation(source="t", subject_kind="batch", subject_id="B1", kind="batch.registered",
                        observed_at=NOW - timedelta(days=30), payload={"deadline": DEADLINE.isoformat()})
    control = next(c for c in default_catalog() if c.id == "BATCH-PURGED")
    return evaluate_one(control, load_checks()["batch_purged"], ("batch", "B1"),
                        {("batch.registered", ""): batch}, NOW, {"pii.scan": scans, "agent.heartbeat": []}).status


@pytest.mark.parametrize("scans,status", [
    pytest.param([scan("h1", NOW, 0), scan("h1", NOW, 0, watch=True)], "pass", id="clean-full-and-watch"),
    pytest.param([scan("h1", NOW - timedelta(hours=1), 0), scan("h1", NOW, 4, watch=True)], "fail",
                 id="watch-finds-batch-after-clean-full-scan"),
    pytest.param([scan("h1", NOW, 0), scan("h1", DEADLINE - timedelta(days=1), 4, watch=True)], "pass",
                 id="watch-hit-before-deadline-does-not-count"),
    pytest.param([scan("h1", NOW, 0, watch=True)], "unknown", id="watch-alone-proves-nothing"),
    pytest.param([scan("h1", NOW, 0), scan("h1", NOW - timedelta(hours=3), 4, watch=True)], "pass",
                 id="later-full-scan-clears-watch-hit"),
])
def test_watch_scans_only_disprove(scans: list[Observation], status: str) -> None:
    assert judge(scans) == status


UNREAD = [{"path": "D:/a.zip!名单.xlsx", "reason": "encrypted: password-protected archive member"}]


@pytest.mark.parametrize("scans,status", [
    pytest.param([scan("h1", NOW, 0, unreadable=1, errors=UNREAD)], "unknown", id="a-file-not-read"),
    pytest.param([scan("h1", NOW, 0, unreadable=2)], "unknown", id="counted-but-not-named"),
    pytest.param([scan("h1", NOW, 3, unreadable=1, errors=UNREAD)], "fail", id="found-data-still-fails"),
    pytest.param([scan("h1", NOW, 0, unreadable=0, errors=[])], "pass", id="everything-read"),
    pytest.param([scan("h1", NOW, 0, unreadable="many", errors="x")], "pass", id="malformed-fields-ignored"),
])
def test_a_scan_that_could_not_read_a_file_proves_no_purge(scans: list[Observation], status: str) -> None:
    assert judge(scans) == status


def test_a_forged_list_of_files_not_read_is_cut() -> None:
    from rules.checks.lifecycle import MAX_NOT_READ, not_read

    listed = [{"path": "x" * 5000, "reason": "corrupt"}] * 10_000
    out = not_read({"errors": listed, "unreadable": 10_000})
    assert len(out) == MAX_NOT_READ + 1 and len(out[0]["path"]) == 1000
    assert out[-1] == {"path": "…", "reason": f"+{10_000 - MAX_NOT_READ}"}


def test_batch_purge_needs_every_host_scanned_clean_after_the_deadline():
    deadline = NOW - timedelta(days=2)
    batch = obs("batch.registered", {"deadline": deadline.isoformat()}, subject=("batch", "B1"), age=timedelta(days=30))
    control = next(c for c in default_catalog() if c.id == "BATCH-PURGED")
    spec = load_checks()["batch_purged"]

    def scan(host, finished, hits):
        return obs("pii.scan", {"full": True, "finished_at": finished.isoformat(), "batches": {"B1": hits}},
                   subject=("host", host))

    hb = [obs("agent.heartbeat", {}, subject=("host", h)) for h in ("h1", "h2")]

    def judge(scans):
        return evaluate_one(control, spec, ("batch", "B1"), {("batch.registered", ""): batch}, NOW,
                            {"pii.scan": scans, "agent.heartbeat": hb}).status

    assert judge([scan("h1", NOW, 0), scan("h2", NOW, 0)]) == "pass"
    assert judge([scan("h1", NOW, 0), scan("h2", NOW, 3)]) == "fail"
    assert judge([scan("h1", NOW, 0), scan("h2", deadline - timedelta(days=1), 0)]) == "unknown"
    assert judge([scan("h1", NOW, 0)]) == "unknown"
