"""What recording findings writes for each status change: the finding, its intervals, its ledger entry
(in the body form every other entry has) and its event, on both backends; a part large enough that
PostgreSQL takes its rows by COPY as well as a single change."""
from datetime import timedelta

import pytest

from collector.proof.canonical import loads, stored_json
from collector.store.base import FindingChange, StoredFinding
from collector.store.pgconn import COPY_FROM_ROWS
from tests.collector.store.conftest import T0


def finding(host: str, status: str, at, evidence: list[str]) -> StoredFinding:
    return StoredFinding("USB-BLOCK", "host", host, "main", status, at, at,
                         {"usable": status == "fail", "note": "é\t\\"}, "U 盘可用\n第二行",
                         'usable "storage"\\', evidence, "high")


@pytest.mark.parametrize("hosts", [1, COPY_FROM_ROWS + 3])
def test_each_status_change_is_one_entry_interval_and_event_and_the_chain_verifies(store, hosts):
    names = [f"h{i}" for i in range(hosts)]
    long_evidence = [f"obs:{i}" for i in range(25)]
    first = [FindingChange(finding(h, "pass", T0, ["obs:1"]), None, True) for h in names]
    assert store.record_findings(first, T0) == hosts
    later = T0 + timedelta(minutes=5)
    second = [FindingChange(finding(h, "fail", later, long_evidence), "pass", True) for h in names]
    assert store.record_findings(second, later) == hosts

    rows = [(seq, body) for seq, _, body in store.ledger_entries(1, 2 * hosts)]
    assert len(rows) == 2 * hosts
    seq, body = rows[-1]
    assert body == stored_json({"seq": seq, "ts": later.isoformat(), "type": "finding.changed", "actor": "engine",
                                "data": loads(body)["data"]})
    data = loads(body)["data"]
    assert data == {"control": "USB-BLOCK", "subject_kind": "host", "subject_id": names[-1], "site": "main",
                    "from": "pass", "to": "fail", "since": later.isoformat(), "reason": 'usable "storage"\\',
                    "value": {"usable": True, "note": "é\t\\"}, "evidence": long_evidence[:20]}
    assert loads(rows[0][1])["data"]["evidence"] == ["obs:1"]

    ivs = store.intervals(control="USB-BLOCK", subject=("host", names[-1]))
    assert [(i.status, i.start, i.end) for i in ivs] == [("pass", T0, later), ("fail", later, None)]
    assert ivs[1].reason_zh == "U 盘可用\n第二行" and ivs[1].evidence == long_evidence
    events = store.read.execute("SELECT from_status, to_status, detail, ledger_seq FROM events WHERE subject_id = ?"
                                " ORDER BY id", (names[-1],)).fetchall()
    assert [tuple(e) for e in events] == [(None, "pass", 'usable "storage"\\', rows[hosts - 1][0]),
                                         ("pass", "fail", 'usable "storage"\\', seq)]
    report = store.verify_ledger()
    assert report.ok and report.entries == 2 * hosts, report.problems
