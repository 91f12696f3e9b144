"""The evidence timeline folds repeated results and keeps every change of result."""
from __future__ import annotations

import pytest

from collector.store.areas import HistoryRow
from collector.web.timeline import fold, results

EICAR_OK = {"eicar": {"detected": True, "latency_ms": 150}}
EICAR_MISS = {"eicar": {"detected": False}}
STICK_BLOCKED = {"devices": [{"vendor_id": "0781", "product_id": "5567", "classes": ["08"], "authorized": False,
                              "allowed": False, "name": "SanDisk Cruzer Blade"}]}
STICK_OPEN = {"devices": [{**STICK_BLOCKED["devices"][0], "authorized": True}]}
KEYBOARD = {"devices": [{"vendor_id": "046d", "product_id": "c31c", "classes": ["03"], "authorized": True,
                         "allowed": False, "name": "Logitech USB Keyboard"}]}


@pytest.mark.parametrize(("kind", "payload", "want"), [
    pytest.param("antivirus.status", EICAR_OK, [("eicar", True, "detected")], id="eicar-detected"),
    pytest.param("antivirus.status", EICAR_MISS, [("eicar", False, "missed")], id="eicar-missed"),
    pytest.param("antivirus.status", {"running": True}, [], id="no-eicar-test"),
    pytest.param("usb.devices", STICK_BLOCKED, [("usb", True, "SanDisk Cruzer Blade blocked")], id="stick-blocked"),
    pytest.param("usb.devices", STICK_OPEN, [("usb", False, "SanDisk Cruzer Blade authorized")], id="stick-open"),
    pytest.param("usb.devices", KEYBOARD, [], id="keyboard-is-not-news"),
    pytest.param("usb.block", {"name": "Kingston", "action": "reject"}, [("usb", True, "Kingston reject")],
                 id="enforcer-block"),
    pytest.param("internet.egress", {"canary": {"target": "10.0.0.1", "port": 443, "result": "connected"}},
                 [("internet_canary", False, "10.0.0.1:443 connected")], id="canary-reached"),
    pytest.param("mail.egress", {"attempts": [{"target": "mx", "port": 25, "result": "timeout"}]},
                 [("mail_canary", True, "blocked")], id="mail-blocked"),
])
def test_results(kind, payload, want):
    assert results(kind, payload) == want


def test_fold_keeps_the_one_miss_between_runs_of_detections():
    # newest first, hourly
    rows = [HistoryRow(t, "T1", "antivirus.status", f"o{t}", EICAR_MISS if t == 5 else EICAR_OK, t, 1)
            for t in range(10, 0, -1)]
    runs = fold(rows)
    assert [(r.ok, r.count, r.first, r.last) for r in runs] == [
        (True, 5, 6, 10), (False, 1, 5, 5), (True, 4, 1, 4)]
    assert runs[0].obs_id == "o10"  # a run links to its newest evidence


def test_a_result_repeated_unchanged_is_one_run_until_its_last_repeat():
    """A stored row stands for the repeats that followed it: present until the last, counted with them."""
    rows = [HistoryRow(100, "T1", "antivirus.status", "o100", EICAR_OK, 160, 61),
            HistoryRow(40, "T1", "antivirus.status", "o40", EICAR_MISS, 99, 60)]
    runs = fold(rows)
    assert [(r.ok, r.count, r.first, r.last) for r in runs] == [(True, 61, 100, 160), (False, 60, 40, 99)]
