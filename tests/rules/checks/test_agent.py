"""Agent checks on the payloads the agent and the canary produce (pure: dicts in, verdicts out)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from rules.catalog import default_catalog
from rules.evaluate import evaluate
from tests.rules.checks.judging import NOW, obs, run

SITE = ("site", "dmz-canary")


@pytest.mark.parametrize("payload, status, reason", [
    pytest.param({"listening": ["0.0.0.0:25"], "hit_count": 0, "sources": [], "hits": []}, "pass", "no connection",
                 id="quiet"),
    pytest.param({"listening": ["0.0.0.0:25"], "hit_count": 2, "sources": ["10.20.1.17"],
                  "hits": [{"port": 25, "source_address": "10.20.1.17"}, {"port": 587,
                                                                           "source_address": "10.20.1.17"}]},
                 "fail", "from 10.20.1.17; port 25, 587", id="reached"),
])
def test_egress_canary_quiet(payload: dict, status: str, reason: str) -> None:
    r = run("EGRESS-CANARY-QUIET", obs("canary.status", payload, subject=SITE), subject=SITE)
    assert r.status == status and reason in r.reason_en


def test_silent_canary_is_unknown() -> None:
    r = run("EGRESS-CANARY-QUIET", obs("canary.status", {"hit_count": 0}, age=timedelta(minutes=30), subject=SITE),
            subject=SITE)
    assert r.status == "unknown" and "stale" in r.reason_en


@pytest.mark.parametrize("payload, status, reason", [
    pytest.param({"product": "Microsoft Defender Antivirus", "installed": True, "running": True,
                  "signature_time": None, "signatures_up_to_date": True, "scheduled_scan": True,
                  "last_scan": (NOW - timedelta(days=1)).isoformat()}, "pass", "Windows Security Center",
                 id="windows current"),
    pytest.param({"product": "Microsoft Defender Antivirus", "installed": True, "running": True,
                  "signature_time": None, "signatures_up_to_date": False, "scheduled_scan": True},
                 "fail", "out of date", id="windows out of date"),
    pytest.param({"product": "ClamAV", "installed": True, "running": True, "signature_time": None,
                  "databases": [], "scheduled_scan": True}, "fail", "no signature database", id="no database"),
    pytest.param({"product": "ClamAV", "installed": True, "running": True,
                  "signature_time": (NOW - timedelta(days=10)).isoformat(), "scheduled_scan": True},
                 "fail", "10.0 days", id="stale"),
])
def test_antivirus_fresh(payload: dict, status: str, reason: str) -> None:
    r = run("AV-FRESH", obs("antivirus.status", payload))
    assert r.status == status and reason in r.reason_en


def identity(host: str, users: list[str], age: timedelta = timedelta(minutes=5)):
    return obs("host.identity", {"hostname": host, "interactive_users": users}, age=age, subject=("host", host))


@pytest.mark.parametrize("observations, status, reason", [
    pytest.param([identity("T001", ["zhang"]), identity("T002", ["li"])], "pass", "one person", id="own terminals"),
    pytest.param([identity("T001", ["zhang", "li"])], "fail", "2 people share", id="two people one terminal"),
    pytest.param([identity("T001", ["zhang"]), identity("T002", ["zhang"])], "fail", "zhang@T002",
                 id="one account two terminals"),
    pytest.param([identity("T001", ["zhang"]), identity("T002", ["zhang"], age=timedelta(hours=5))], "pass",
                 "one person", id="moved terminals hours ago"),
])
def test_dedicated_terminal(observations: list, status: str, reason: str) -> None:
    from rules.catalog import default_catalog
    from rules.evaluate import evaluate

    control = next(c for c in default_catalog() if c.id == "DEDICATED-TERMINAL")
    results = [r for r in evaluate([control], observations, NOW) if r.subject_id == "T001"]
    assert results[0].status == status and reason in results[0].reason_en


def canary_status(hits: list[dict]) -> object:
    return obs("canary.status", {"hit_count": len(hits), "sources": [h["source_address"] for h in hits],
                                 "hits": hits}, subject=SITE)


HIT_25 = {"source_address": "10.20.1.17", "port": 25, "at": "2026-11-29T09:30:00+00:00"}
HIT_443 = {"source_address": "10.20.1.17", "port": 443, "at": "2026-11-29T09:31:00+00:00"}


@pytest.mark.parametrize("control, hits, agent_age, status, reason", [
    pytest.param("MAIL-EGRESS-BLOCKED", [HIT_25], timedelta(minutes=5), "fail", "10.20.1.17->dmz-canary:25",
                 id="mail hit from this host"),
    pytest.param("MAIL-EGRESS-BLOCKED", [HIT_25], timedelta(days=2), "fail", "recorded mail connections",
                 id="mail hit while the agent is silent"),
    pytest.param("MAIL-EGRESS-BLOCKED", [HIT_443], timedelta(minutes=5), "pass", "blocked",
                 id="web hit is not mail"),
    pytest.param("INTERNET-BLOCKED", [HIT_443], timedelta(days=2), "fail", "10.20.1.17->dmz-canary:443",
                 id="web hit while the agent is silent"),
    pytest.param("INTERNET-BLOCKED", [{**HIT_443, "source_address": "10.20.1.99"}], timedelta(minutes=5), "pass",
                 "unreachable", id="hit from another host"),
    pytest.param("INTERNET-BLOCKED", [], timedelta(days=2), "unknown", "stale", id="silent agent, no hit"),
])
def test_canary_hits_fail_the_host_they_came_from(control, hits, agent_age, status, reason) -> None:
    from rules.catalog import default_catalog
    from rules.evaluate import evaluate

    host = ("host", "T017")
    observations = [
        obs("host.identity", {"addresses": ["10.20.1.17"], "interactive_users": []}, age=agent_age, subject=host),
        obs("mail.egress", {"attempts": [{"target": "10.20.9.25", "port": 25, "result": "timeout"}]},
            age=agent_age, subject=host),
        obs("internet.egress", {"canary": {"target": "10.20.9.25", "port": 443, "result": "timeout"}},
            age=agent_age, subject=host),
        canary_status(hits)]
    c = next(c for c in default_catalog() if c.id == control)
    [result] = [r for r in evaluate([c], observations, NOW) if r.subject_id == "T017"]
    assert result.status == status and reason in result.reason_en


def _gap(before: timedelta, frm: int = 120, to: int = 180) -> dict:
    return {"epoch": 0, "from": frm, "to": to, "missing": to - frm + 1, "after": (NOW - before).isoformat(),
            "before": (NOW - before).isoformat()}


@pytest.mark.parametrize("payload, status, reason", [
    pytest.param({"epochs": 1, "gaps": [], "gaps_total": 0, "missing_total": 0}, "pass",
                 "agent observations complete", id="complete"),
    pytest.param({"epochs": 1, "gaps": [_gap(timedelta(hours=2))], "gaps_total": 1, "missing_total": 61}, "fail",
                 "61 agent observation(s) never arrived (lost or suppressed): seq 120–180", id="recent gap"),
    pytest.param({"epochs": 1, "gaps": [_gap(timedelta(days=9))], "gaps_total": 1, "missing_total": 61}, "pass",
                 "(1 older gap(s))", id="gap older than the hold"),
    pytest.param({"epochs": 2, "restarts": [{"epoch": 1, "at": NOW.isoformat(), "first_seq": 0}], "gaps": [],
                  "gaps_total": 0, "missing_total": 0}, "pass", "complete", id="numbering restarted"),
])
def test_agent_sequence_complete(payload: dict, status: str, reason: str) -> None:
    r = run("AGENT-SEQUENCE", obs("agent.sequence", payload, age=timedelta(days=30)))
    assert r.status == status and reason in r.reason_en


def test_agent_sequence_without_a_tally_is_unknown() -> None:
    assert run("AGENT-SEQUENCE").status == "unknown"


@pytest.mark.parametrize("result, zh, en", [
    pytest.param("timeout", "外网不可达（连接超时）", "internet unreachable (timed out)", id="timeout"),
    pytest.param("refused", "外网不可达（连接被拒绝）", "internet unreachable (refused)", id="refused"),
    pytest.param("x" * 5000, "外网不可达（其他结果）", "internet unreachable (other result)", id="forged result"),
])
def test_an_unreachable_internet_is_said_in_words(result: str, zh: str, en: str) -> None:
    r = run("INTERNET-BLOCKED", obs("internet.egress", {"canary": {"target": "10.20.9.25", "port": 443,
                                                                   "result": result}}))
    assert (r.status, r.reason_zh, r.reason_en) == ("pass", zh, en)


NAMES = ["anydesk", "bash", "coreutils", "libc6"]


@pytest.mark.parametrize("payload, status, reason", [
    pytest.param({"names": NAMES, "allowlist": ["bash", "coreutils", "anydesk", "lib*"]}, "pass", "only allow-listed",
                 id="all-allowed"),
    pytest.param({"names": NAMES, "allowlist": ["bash", "coreutils", "lib*"]}, "fail",
                 "1 unapproved package(s): anydesk", id="one-unapproved"),
    pytest.param({"names": NAMES, "allowlist": ["bash", "coreutils"]}, "fail",
                 "2 unapproved package(s): anydesk, libc6", id="no-wildcard"),
    pytest.param({"names": NAMES, "allowlist": []}, "fail", "no software allow-list", id="no-allowlist"),
    pytest.param({"count": 1432, "allowlist_configured": True, "unapproved": ["anydesk"]}, "fail",
                 "1 unapproved package(s): anydesk", id="older-agent-unapproved"),
    pytest.param({"count": 1432, "allowlist_configured": True, "unapproved": []}, "pass", "only allow-listed",
                 id="older-agent-clean"),
    pytest.param({"count": 0, "allowlist_configured": False, "unapproved": []}, "fail", "no software allow-list",
                 id="older-agent-no-allowlist"),
])
def test_software_is_judged_against_the_allowlist(payload: dict, status: str, reason: str) -> None:
    r = run("SOFTWARE-ALLOWLIST", obs("software.inventory", payload))
    assert r.status == status and reason in r.reason_en


STICK = {"vendor_id": "0781", "product_id": "5567", "serial": "X", "classes": ["08"]}


KBD = {"vendor_id": "046d", "product_id": "c31c", "classes": ["03"], "authorized": True}


@pytest.mark.parametrize(("payload", "status"), [
    pytest.param({"enforcement": "sysfs", "devices": [KBD, {**STICK, "authorized": False}]}, "pass", id="blocked"),
    pytest.param({"enforcement": "sysfs", "devices": [KBD, {**STICK, "authorized": True}]}, "fail", id="usable"),
    pytest.param({"enforcement": "sysfs", "devices": [{**STICK, "authorized": True, "allowed": True}]}, "pass",
                 id="allow-listed"),
    pytest.param({"enforcement": "none", "devices": [KBD]}, "fail", id="no-enforcement"),
    pytest.param({"enforcement": "sysfs", "new_devices_held": False, "devices": [KBD]}, "fail",
                 id="new devices authorised on arrival"),
    pytest.param({"enforcement": "sysfs", "new_devices_held": True, "devices": [KBD]}, "pass", id="blocked first"),
    pytest.param({"enforcement": "sysfs", "new_devices_held": None, "devices": []}, "pass", id="no USB bus"),
])
def test_usb_block(payload, status):
    assert run("USB-BLOCK", obs("usb.devices", payload)).status == status


def test_missing_data_is_unknown_not_pass():
    r = run("USB-BLOCK")
    assert r.status == "unknown" and "USB device list" in r.reason_en and r.value["missing"] == "usb.devices"


def test_stale_data_is_unknown_and_says_how_old():
    r = run("USB-BLOCK", obs("usb.devices", {"enforcement": "sysfs", "devices": []}, age=timedelta(hours=5)))
    assert r.status == "unknown"
    assert "stale" in r.reason_en and "5.0 hours" in r.reason_en


@pytest.mark.parametrize(("age_days", "status"), [(0.5, "pass"), (5.2, "fail")])
def test_signature_age(age_days, status):
    p = {"product": "ClamAV", "installed": True, "running": True, "scheduled_scan": True,
         "signature_time": (NOW - timedelta(days=age_days)).isoformat()}
    r = run("AV-FRESH", obs("antivirus.status", p))
    assert r.status == status
    assert r.value["signature_age_days"] == pytest.approx(age_days, abs=0.01)
    if status == "fail":
        assert "5.2 days" in r.reason_en


def test_no_antivirus_is_fail_not_unknown():
    assert run("AV-RUNNING", obs("antivirus.status", {"installed": False})).status == "fail"


def test_evaluate_flat_list_for_agent_once():
    results = evaluate(list(default_catalog()), [
        obs("usb.devices", {"enforcement": "sysfs", "devices": [KBD]}),
        obs("antivirus.status", {"installed": False}),
    ], NOW)
    by = {r.control: r.status for r in results}
    assert by["USB-BLOCK"] == "pass" and by["AV-RUNNING"] == "fail"
