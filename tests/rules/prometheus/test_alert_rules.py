"""Alert rules and the example Alertmanager configuration, checked by the real promtool and amtool."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.exported_metrics import exported_metric_names

ROOT = Path(__file__).resolve().parents[3]
RULES = sorted((ROOT / "rules" / "prometheus").glob("*.yml"))
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
needs = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) missing")


def all_rules() -> list[dict]:
    return [r for f in RULES for g in yaml.safe_load(f.read_text())["groups"] for r in g["rules"]]


@needs
def test_promtool_check_and_unit_tests():
    check = subprocess.run(["promtool", "check", "rules", *map(str, RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = sorted((ROOT / "rules" / "prometheus" / "tests").glob("*.yml"))
    run = subprocess.run(["promtool", "test", "rules", *map(str, tests)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r["alert"])
def test_rule_conventions(rule):
    assert re.fullmatch(r"(?:[A-Z][a-z0-9]+)+", rule["alert"]), "alert names are CamelCase"
    assert rule["labels"]["severity"] in ("critical", "warning", "info")
    assert rule["labels"]["team"] in ("facility", "security")
    ann = rule["annotations"]
    assert ann["summary"] and ann["description"]
    anchor = ann["runbook_url"].split("#", 1)[1]
    headings = {h.strip().lower() for h in re.findall(r"^## (.+)$", RUNBOOKS.read_text(), re.M)}
    assert anchor in headings, f"docs/runbooks.md has no section for #{anchor}"


def test_rules_name_only_metrics_we_export(tmp_path):
    exported = exported_metric_names(tmp_path)
    used = {m for r in all_rules() for m in re.findall(r"\bclausewatch_[a-z_]+", r["expr"])}
    assert used and used <= exported, used - exported


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool (Debian prometheus-alertmanager) missing")
@pytest.mark.parametrize(("labels", "receiver"), [
    pytest.param(["alertname=UpsOnBattery", "team=facility", "severity=critical"], "facility-urgent", id="ups"),
    pytest.param(["alertname=DoorHeldOpenOrForced", "team=facility", "severity=warning"], "facility", id="door"),
    pytest.param(["alertname=ControlFailing", "team=security", "severity=critical"], "it-security", id="usb"),
    pytest.param(["alertname=Other"], "it-security", id="default"),
])
def test_alertmanager_routes(labels, receiver):
    check = subprocess.run(["amtool", "check-config", str(ALERTMANAGER)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    got = subprocess.run(["amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels],
                         capture_output=True, text=True)
    assert got.stdout.strip() == receiver


def _matches(matchers: list[str], alertname: str) -> bool:
    """Alertmanager's alertname matchers (= or =~, anchored) against one alert name."""
    for m in matchers:
        op, value = re.fullmatch(r'alertname(=~|=)"(.*)"', m).groups()  # type: ignore[union-attr]
        if not (re.fullmatch(value, alertname) if op == "=~" else value == alertname):
            return False
    return True


@pytest.mark.parametrize("target", ["HostNotReporting", "MachineRoomClimateOutOfRange", "ClimateSensorSilent",
                                    "UpsRuntimeBelowRequired"])
def test_ups_on_battery_inhibits_only_within_its_room(target):
    assert target in {r["alert"] for r in all_rules()}
    config = yaml.safe_load(ALERTMANAGER.read_text())
    rules = [r for r in config["inhibit_rules"]
             if r["source_matchers"] == ['alertname="UpsOnBattery"'] and _matches(r["target_matchers"], target)]
    assert rules and all(set(r["equal"]) == {"site", "room"} for r in rules)


def test_nothing_else_is_inhibited():
    config = yaml.safe_load(ALERTMANAGER.read_text())
    inhibited = {r["alert"] for r in all_rules() for rule in config["inhibit_rules"]
                 if _matches(rule["target_matchers"], r["alert"])}
    assert inhibited == {"HostNotReporting", "MachineRoomClimateOutOfRange", "ClimateSensorSilent",
                         "UpsRuntimeBelowRequired"}
