"""The osquery path, up to the process boundary: a fake `osqueryi` on the PATH answers with captured
JSON whose columns are those of osquery's table specs (osquery cannot be installed here)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from agents.config import AgentConfig
from agents.env import run_command
from agents.once import judge
from agents.probes import run_probes
from tests.agents.conftest import NOW

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "agent" / "osquery"
FAKE = """#!{python}
import re, sys, pathlib
sql = sys.argv[-1]
if sys.argv[1] != "--json":
    sys.exit("expected --json")
table = re.search(r"FROM\\s+(\\w+)", sql).group(1)
override = pathlib.Path({overrides!r}) / (table + ".json")
capture = override if override.exists() else pathlib.Path({captures!r}) / (table + ".json")
if not capture.exists():
    sys.stderr.write("Error: no such table: " + table + "\\n")
    sys.exit(1)
sys.stdout.write(capture.read_text())
"""


@pytest.fixture
def osqueryi(tmp_path: Path, monkeypatch) -> Path:
    """Install the fake osqueryi; returns a folder where a test can override a table's rows."""
    bindir, overrides = tmp_path / "bin", tmp_path / "overrides"
    bindir.mkdir()
    overrides.mkdir()
    exe = bindir / "osqueryi"
    exe.write_text(FAKE.format(python=sys.executable, captures=str(CAPTURES), overrides=str(overrides)))
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return overrides


def windows_env(make_env, **cfg):
    import shutil

    env = make_env(AgentConfig.model_validate({"software": {"allowlist": ["Microsoft *", "WPS Office*"]}, **cfg}),
                   platform="win32")
    env.run, env.which = run_command, shutil.which
    return env


def statuses(observations) -> dict[str, dict]:
    return {f["control"]: f for f in judge(observations, NOW)}


def test_windows_terminal_through_osquery(make_env, osqueryi: Path) -> None:
    obs = run_probes(windows_env(make_env))
    kinds = {o.kind: o.payload for o in obs}
    assert set(kinds) >= {"host.identity", "usb.devices", "antivirus.status", "mail.egress", "software.inventory",
                          "internet.egress"}
    assert kinds["usb.devices"]["enforcement"] == "windows_registry" and kinds["usb.devices"]["policy_ok"] is True
    assert kinds["antivirus.status"]["product"] == "Microsoft Defender Antivirus"
    assert kinds["antivirus.status"]["last_scan"] == "2026-11-28T22:00:00+00:00"
    assert kinds["mail.egress"]["connections"][0] == {"remote": "14.18.175.154", "remote_port": 465,
                                                      "state": "established", "pid": 7412, "process": "Foxmail.exe"}
    assert kinds["host.identity"]["interactive_users"] == ["chen.lei", "wang.fang"]
    f = statuses(obs)
    assert f["USB-BLOCK"]["status"] == "pass"
    assert f["AV-RUNNING"]["status"] == "pass" and f["AV-FRESH"]["status"] == "pass"
    assert f["MAIL-EGRESS-BLOCKED"]["status"] == "fail" and "Foxmail" in f["MAIL-EGRESS-BLOCKED"]["reason"]["en"]
    assert f["SOFTWARE-ALLOWLIST"]["status"] == "fail" and "Foxmail" in f["SOFTWARE-ALLOWLIST"]["reason"]["en"]
    assert f["DEDICATED-TERMINAL"]["status"] == "fail"


@pytest.mark.parametrize("table, rows, control, status", [
    pytest.param("registry", [{"key": "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR",
                               "path": "...\\Start", "name": "Start", "type": "REG_DWORD", "data": "3",
                               "mtime": "0"}], "USB-BLOCK", "fail", id="USBSTOR on demand"),
    pytest.param("registry", [], "USB-BLOCK", "fail", id="USBSTOR value missing"),
    pytest.param("windows_security_products", [
        {"type": "Antivirus", "name": "Microsoft Defender Antivirus", "state": "On", "state_timestamp": "",
         "remediation_path": "", "signatures_up_to_date": "0"}], "AV-FRESH", "fail", id="signatures out of date"),
    pytest.param("windows_security_products", [
        {"type": "Antivirus", "name": "Microsoft Defender Antivirus", "state": "Off", "state_timestamp": "",
         "remediation_path": "", "signatures_up_to_date": "1"}], "AV-RUNNING", "fail", id="defender off"),
    pytest.param("windows_security_products", [], "AV-RUNNING", "fail", id="no antivirus"),
])
def test_windows_failures(make_env, osqueryi: Path, table: str, rows: list, control: str, status: str) -> None:
    (osqueryi / f"{table}.json").write_text(json.dumps(rows))
    assert statuses(run_probes(windows_env(make_env)))[control]["status"] == status


def test_no_osqueryi_on_windows_is_never_silent(make_env, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    obs = run_probes(windows_env(make_env))
    assert all("osqueryi not found" in o.payload["probe_error"] for o in obs if o.kind != "internet.egress")
    f = statuses(obs)
    assert f["USB-BLOCK"]["status"] == "fail" and f["AV-RUNNING"]["status"] == "fail"


def test_osquery_failure_is_reported(make_env, osqueryi: Path) -> None:
    (osqueryi / "programs.json").write_text("not json")
    obs = run_probes(windows_env(make_env))
    assert any("not JSON" in o.payload.get("probe_error", "") for o in obs)
