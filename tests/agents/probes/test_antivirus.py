"""Antivirus probe against real clamscan and clamd with a database built by sigtool."""
from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from agents.clamav import HeaderError, parse_header
from agents.config import AgentConfig
from agents.env import CommandResult, run_command
from agents.once import judge
from agents.probes import antivirus
from tests.agents.clamav_fixtures import build_cud, restamp, start_clamd
from tests.agents.conftest import NOW

REAL = {"clamscan": "/usr/bin/clamscan", "clamd": "/usr/sbin/clamd"}


@pytest.fixture(scope="module")
def eicar_cud(tmp_path_factory) -> Path:
    if not shutil.which("sigtool"):
        pytest.fail("sigtool missing: install clamav (deploy/apt/agent.txt)")
    return build_cud(tmp_path_factory.mktemp("sigdb"))


def config(db_dirs: list[Path], **av) -> AgentConfig:
    return AgentConfig.model_validate({"antivirus": {"database_dirs": [str(d) for d in db_dirs],
                                                     "clamd_conf": "/nonexistent/clamd.conf", **av}})


def findings(observations) -> dict[str, dict]:
    return {f["control"]: f for f in judge(observations, NOW)}


@pytest.mark.parametrize("header, built, level", [
    pytest.param(b"ClamAV-VDB:16 Nov 2023 07-29 -0500:27093:2046013:90:d41d8cd98f00b204e9800998ecf8427e:"
                 b"sig:raynman:1700137761", "2023-11-16T12:29:21+00:00", 90, id="cvd with unix time"),
    pytest.param(b"ClamAV-VDB:29 Nov 2026 11-21 +0000:27001:1:216:275554e0f74179417036e23378e0b9c6:X:tester",
                 "2026-11-29T11:21:00+00:00", 216, id="no unix time field"),
])
def test_parse_header(header: bytes, built: str, level: int) -> None:
    h = parse_header(header.ljust(512, b" "), "daily.cvd")
    assert h.build_time.isoformat() == built and h.functionality_level == level


@pytest.mark.parametrize("raw", [b"PK\x03\x04" + b"\0" * 508, b"ClamAV-VDB:garbage:x:y:z:a:b:c"])
def test_parse_header_rejects_non_databases(raw: bytes) -> None:
    with pytest.raises(HeaderError):
        parse_header(raw, "x.cvd")


def test_header_parser_agrees_with_sigtool(eicar_cud: Path) -> None:
    info = subprocess.run(["sigtool", "--info", str(eicar_cud)], capture_output=True, text=True, check=True).stdout
    h = parse_header(eicar_cud.read_bytes(), eicar_cud.name)
    assert f"Build time: {h.build_time.strftime('%d %b %Y %H:%M')}" in info
    assert f"Version: {h.version}" in info and f"Signatures: {h.signatures}" in info


def test_no_antivirus_is_a_fail_not_unknown(make_env) -> None:
    obs = antivirus.gather(make_env(which={}))
    f = findings(obs)
    assert obs[0].payload["installed"] is False
    assert f["AV-RUNNING"]["status"] == "fail" and f["AV-FRESH"]["status"] == "fail"


def test_eicar_detected_by_real_clamscan(make_env, eicar_cud: Path) -> None:
    env = make_env(config(db_dirs=[eicar_cud.parent]), which=REAL)
    env.run = run_command
    p = antivirus.gather(env)[0].payload
    assert p["eicar"]["detected"] is True and p["eicar"]["engine"] == "clamscan"
    assert p["eicar"]["latency_ms"] > 0 and "Clausewatch-Test-EICAR" in p["eicar"]["detail"]
    assert p["databases"][0]["name"] == "daily.cud" and p["signature_time"]


def test_stale_signatures_fail_with_their_age(make_env, eicar_cud: Path, tmp_path: Path) -> None:
    old = restamp(eicar_cud, tmp_path / "old" / "daily.cud", NOW - timedelta(days=10))
    (tmp_path / "root/etc/cron.d").mkdir(parents=True)
    (tmp_path / "root/etc/cron.d/clamscan").write_text("0 2 * * * root clamscan -ri /home\n")
    obs = antivirus.gather(make_env(config([old.parent], eicar_test=False), which=REAL))
    f = findings(obs)["AV-FRESH"]
    assert f["status"] == "fail"
    assert "10.0 days" in f["reason"]["en"] and "10.0 天" in f["reason"]["zh"]


def test_fresh_signatures_and_scheduled_scan_pass(make_env, eicar_cud: Path, tmp_path: Path) -> None:
    fresh = restamp(eicar_cud, tmp_path / "fresh" / "daily.cud", NOW - timedelta(hours=20))
    systemd = tmp_path / "root/etc/systemd/system"
    systemd.mkdir(parents=True)
    (systemd / "clamscan-daily.service").write_text("[Service]\nExecStart=/usr/bin/clamdscan --fdpass /home\n")
    (systemd / "clamscan-daily.timer").write_text("[Timer]\nOnCalendar=daily\n")
    systemctl = CommandResult(0, f"LastTriggerUSec=@{int((NOW - timedelta(days=9)).timestamp())}\n")
    p = antivirus.gather(make_env(config([fresh.parent], eicar_test=False), which=REAL,
                                  answers={"systemctl": systemctl}))[0].payload
    assert p["scheduled_scan"] is True and p["scan_schedule"][0].endswith("clamscan-daily.service")
    assert p["last_scan"] == (NOW - timedelta(days=9)).isoformat()  # the timer fired, but long ago
    stale_scan = findings(antivirus.gather(make_env(config([fresh.parent], eicar_test=False), which=REAL,
                                                    answers={"systemctl": systemctl})))["AV-FRESH"]
    assert stale_scan["status"] == "fail" and "last scan 9.0 days ago" in stale_scan["reason"]["en"]
    assert findings(antivirus.gather(make_env(config([fresh.parent], eicar_test=False), which=REAL)))[
        "AV-FRESH"]["status"] == "pass"


def test_a_service_without_timer_is_not_a_schedule(make_env, tmp_path: Path) -> None:
    systemd = tmp_path / "root/etc/systemd/system"
    systemd.mkdir(parents=True)
    (systemd / "clamscan-once.service").write_text("[Service]\nExecStart=/usr/bin/clamscan /home\n")
    assert antivirus.scheduled_scans(make_env()) == []


@pytest.mark.integration
def test_running_clamd_detects_eicar_over_its_socket(make_env, eicar_cud: Path, tmp_path: Path) -> None:
    clamd = start_clamd(tmp_path, eicar_cud.parent)
    try:
        env = make_env(config([eicar_cud.parent], clamd_socket=str(clamd.socket)), which=REAL)
        obs = antivirus.gather(env)
    finally:
        clamd.stop()
    p = obs[0].payload
    assert p["running"] is True and p["clamd_answers"] is True
    assert p["eicar"] == {**p["eicar"], "detected": True, "engine": "clamd"}
    assert findings(obs)["AV-RUNNING"]["status"] == "pass"


def test_clamd_configured_but_down_is_not_running(make_env, eicar_cud: Path, tmp_path: Path) -> None:
    env = make_env(config([eicar_cud.parent], clamd_socket=str(tmp_path / "none.sock"), eicar_test=False),
                   which=REAL)
    obs = antivirus.gather(env)
    assert obs[0].payload["running"] is False
    assert findings(obs)["AV-RUNNING"]["status"] == "fail"


def test_clamscan_proof_is_not_repeated_every_round(make_env, eicar_cud: Path, tmp_path: Path) -> None:
    env = make_env(config([eicar_cud.parent]), which=REAL, state_dir=tmp_path / "state")
    env.run = run_command
    first = antivirus.gather(env)[0].payload["eicar"]
    env.run = lambda argv, timeout_s: pytest.fail(f"{argv[0]} ran again")  # type: ignore[assignment]
    again = antivirus.gather(env)[0].payload["eicar"]
    assert first["detected"] is True and again == first and again["at"] == NOW.isoformat()


def test_last_scan_from_a_clamscan_log(tmp_path: Path) -> None:
    log = tmp_path / "scan.log"
    log.write_text("----------- SCAN SUMMARY -----------\nScanned files: 10\nStart Date: 2026:11:27 02:00:00\n"
                   "End Date:   2026:11:27 02:03:10\n\n----------- SCAN SUMMARY -----------\n"
                   "Start Date: 2026:11:28 02:00:00\nEnd Date:   2026:11:28 02:04:01\n")
    found = antivirus.last_scan(log)
    assert found is not None and found.startswith("2026-11-28T02:04:01")
    assert antivirus.last_scan(tmp_path / "missing.log") is None
