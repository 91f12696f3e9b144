"""A running collector's own derived tables pass `ledger verify --deep`: the recomputation matches
what the service's incremental rounds and sweeps wrote, so a difference means an edit."""
from __future__ import annotations

import json
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta

from .conftest import cli


def test_live_service_tables_recompute_and_an_edit_is_named(collector):
    hosts = [f"term-{i:03d}" for i in range(1, 4)]
    for host in hosts:
        collector.enroll(host)
    start = datetime.now(UTC) - timedelta(minutes=5)
    for round_ in range(4):
        for i, host in enumerate(hosts):
            at = start + timedelta(minutes=round_)
            usb = {"enforcement": "sysfs", "policy_ok": (round_ + i) % 2 == 0, "devices": []}
            obs = [{"id": f"{host}-{kind}-{round_}", "source": f"agent:{host}", "subject_kind": "host",
                    "subject_id": host, "kind": kind, "observed_at": at.isoformat(), "seq": 2 * round_ + n,
                    "payload": payload}
                   for n, (kind, payload) in enumerate([("usb.devices", usb),
                                                        ("agent.heartbeat", {"uptime_s": 100 + round_})], 1)]
            with collector.client(host) as api:
                r = api.post("/api/v1/observations", json={"observations": obs})
                assert r.status_code == 200, r.text
        time.sleep(1.5)  # incremental rounds between batches, and a sweep (every 2 s here)
    time.sleep(3)
    collector.kill(signal.SIGTERM)

    done = cli("ledger", "verify", "--db", str(collector.db), "--deep", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0, report["deep"]["first_difference"] or report["first_problem"]
    assert report["deep"]["checked"]["findings (re-evaluated)"] > len(hosts)

    conn = sqlite3.connect(collector.db)
    conn.execute("UPDATE findings SET status = 'pass', reason_en = 'USB storage blocked'"
                 " WHERE control = 'USB-BLOCK' AND subject_id = 'term-001'")
    conn.commit()
    conn.close()
    assert cli("ledger", "verify", "--db", str(collector.db)).returncode == 0
    done = cli("ledger", "verify", "--db", str(collector.db), "--deep")
    assert done.returncode == 1
    assert "findings (USB-BLOCK, host/term-001)" in done.stdout
