"""The agent's scanner: full scans and the inotify watch produce pii.scan observations."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from agents.observation import AgentObservation
from agents.pii_watch import PiiWatch, lower_priority

ID = "11010519491231002X"


def test_full_scan_reports_counts_not_numbers(tmp_path: Path) -> None:
    (tmp_path / "left.csv").write_text(f"张三,{ID},13800138000\n")
    shipped: list[AgentObservation] = []
    obs = PiiWatch("t-01", [tmp_path], shipped.append).full_scan()
    assert shipped == [obs]
    assert obs.kind == "pii.scan" and obs.subject_id == "t-01"
    assert obs.payload["full"] is True
    assert obs.payload["totals"] == {"id_card": 1, "phone": 1, "bank_card": 0}
    assert obs.payload["files_with_hits"] == 1
    assert ID not in obs.to_json().decode()


def test_watch_reports_a_new_file_within_seconds(tmp_path: Path) -> None:
    shipped: list[AgentObservation] = []
    w = PiiWatch("t-01", [tmp_path], shipped.append, full_every_s=3600, settle_s=0.2)
    t = threading.Thread(target=w.run, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 10
        while not shipped and time.monotonic() < deadline:
            time.sleep(0.05)
        (tmp_path / "sub").mkdir()
        (tmp_path / "sub" / "export.txt").write_text(f"{ID}\n")
        while not any(not o.payload["full"] for o in shipped) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        w.stop_event.set()
        t.join(timeout=10)
    assert shipped[0].payload["full"] and shipped[0].payload["totals"]["id_card"] == 0
    partial = [o for o in shipped if not o.payload["full"]]
    assert partial and partial[0].payload["totals"]["id_card"] == 1


def test_lower_priority_asks_for_idle_io_class() -> None:
    calls: list[list[str]] = []
    lower_priority(calls.append, pid=12345)
    assert calls == [["ionice", "-c", "3", "-p", "12345"]]
