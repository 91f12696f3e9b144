"""Batches: registration from a dispatch file, and the purge certificate from hosts' scans."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collector.people.batches import BatchFacts, certificate
from rules.model import Observation

TZ = ZoneInfo("Asia/Shanghai")
DEADLINE = datetime(2026, 11, 21, tzinfo=TZ)


def batch_obs() -> Observation:
    facts = BatchFacts("B1", "广州银行", date(2026, 10, 1), date(2026, 11, 20))
    return Observation(source="t", subject_kind="batch", subject_id="B1", kind="batch.registered",
                       observed_at=datetime(2026, 10, 1, tzinfo=UTC),
                       payload={"bank": facts.bank, "deadline": facts.deadline(TZ).isoformat(), "rows": 2})


def scan(host: str, finished: datetime, matches: int = 0, full: bool = True, unreadable: int = 0) -> Observation:
    errors = [{"path": f"/home/a/f{i}.xlsx", "reason": "corrupt: not a .xlsx file"} for i in range(unreadable)]
    return Observation(source="t", subject_kind="host", subject_id=host, kind="pii.scan", observed_at=finished,
                       payload={"started_at": (finished - timedelta(minutes=5)).isoformat(),
                                "finished_at": finished.isoformat(), "full": full,
                                "batches": {"B1": matches} if matches else {}, "unreadable": unreadable,
                                "errors": errors})


def test_deadline_is_end_of_end_date_plus_grace() -> None:
    assert BatchFacts("B", "b", date(2026, 1, 1), date(2026, 11, 20), 3).deadline(TZ) == datetime(
        2026, 11, 24, tzinfo=TZ)


AFTER = DEADLINE + timedelta(days=1)


@pytest.mark.parametrize("scans,now,status", [
    pytest.param({"h1": scan("h1", AFTER)}, DEADLINE - timedelta(hours=1), "in_commission", id="before-deadline"),
    pytest.param({"h1": scan("h1", AFTER), "h2": scan("h2", AFTER)}, AFTER, "purged", id="all-clean"),
    pytest.param({"h1": scan("h1", AFTER), "h2": scan("h2", AFTER, 3)}, AFTER, "not_purged", id="one-dirty"),
    pytest.param({"h1": scan("h1", AFTER), "h2": None}, AFTER, "unproven", id="host-never-scanned"),
    pytest.param({"h1": scan("h1", DEADLINE - timedelta(hours=2))}, AFTER, "unproven", id="scan-before-deadline"),
    pytest.param({"h1": scan("h1", AFTER, full=False)}, AFTER, "unproven", id="partial-scan"),
    pytest.param({}, AFTER, "unproven", id="no-hosts"),
    pytest.param({"h1": scan("h1", AFTER), "h2": scan("h2", AFTER, unreadable=1)}, AFTER, "unproven",
                 id="a-file-not-read"),
    pytest.param({"h1": scan("h1", AFTER), "h2": scan("h2", AFTER, 3, unreadable=1)}, AFTER, "not_purged",
                 id="found-data-outweighs-files-not-read"),
])
def test_certificate_status(scans: dict, now: datetime, status: str) -> None:
    cert = certificate(batch_obs(), scans, now)
    assert cert["status"] == status
    assert cert["deadline"] == DEADLINE.isoformat()


def test_watch_hit_after_the_last_full_scan_makes_the_host_dirty() -> None:
    watch = scan("h1", AFTER + timedelta(hours=1), 2)
    watch.key = "watch"
    cert = certificate(batch_obs(), {"h1": scan("h1", AFTER)}, AFTER + timedelta(hours=2), watches={"h1": watch})
    assert cert["status"] == "not_purged" and cert["hosts"][0]["watch"]["matches"] == 2
    later = certificate(batch_obs(), {"h1": scan("h1", AFTER + timedelta(hours=3))}, AFTER + timedelta(hours=4),
                        watches={"h1": watch})
    assert later["status"] == "purged"
