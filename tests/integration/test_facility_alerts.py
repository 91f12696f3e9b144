"""End to end: dummy UPS on battery -> poller -> collector -> Prometheus -> Alertmanager -> webhook."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

import httpx
import pytest
import yaml

from tests.integration.conftest import BIN
from tests.integration.monitoring import ROOT, Alertmanager, Prometheus, WebhookReceiver
from tests.integration.nut_server import DRIVER, NutServer

# Prometheus and Alertmanager stamp samples and alerts with the real clock, the collector with libfaketime's
pytestmark = [pytest.mark.integration, pytest.mark.realclock, pytest.mark.skipif(
    not (DRIVER.exists() and shutil.which("prometheus") and shutil.which("prometheus-alertmanager")),
    reason="needs nut-server, prometheus and prometheus-alertmanager")]

MAINS = {"ups.status": "OL", "battery.charge": "100", "battery.runtime": "2400", "ups.load": "35",
         "ups.test.result": "Done and passed", "ups.test.date": "2026-11-20"}


def ups_alert(status: str):
    def match(body: dict) -> bool:
        return any(a["labels"].get("alertname") == "UpsOnBattery" and a["status"] == status
                   and a["labels"].get("ups") == "ups-room-1" for a in body.get("alerts", []))
    return match


@pytest.fixture
def alerting(tmp_path):
    hook = WebhookReceiver()
    hook.start()
    am = Alertmanager(tmp_path, hook.url)
    try:
        am.start()
        yield hook, am
    finally:
        am.stop()
        hook.stop()


@pytest.fixture
def stack(tmp_path, collector, alerting):
    hook, am = alerting
    nut = NutServer(tmp_path / "nut", ["ups1"])
    nut.start(MAINS)
    collector.login("admin")
    reader = collector.login("auditor")
    with collector.client("admin") as c:
        r = c.post("/api/v1/source-tokens", json={"name": "facility-poller", "subject_kinds": ["ups", "sensor"]})
        r.raise_for_status()
        source_token = r.json()["token"]
    (tmp_path / "poller.token").write_text(source_token)
    (tmp_path / "poll.yaml").write_text(yaml.safe_dump({
        "interval_s": 1, "timeout_s": 2,
        "ups": [{"ups": "ups1", "port": nut.port, "id": "ups-room-1", "room": "room-1"}]}))
    with open(tmp_path / "poller.log", "wb") as log:
        poller = subprocess.Popen([str(BIN), "poll", "--config", str(tmp_path / "poll.yaml"), "--collector",
                                   collector.url, "--token-file", str(tmp_path / "poller.token"),
                                   "--spool", str(tmp_path / "poller-spool.db")],
                                  stdout=subprocess.DEVNULL, stderr=log, env=os.environ)
    prom = Prometheus(tmp_path, f"127.0.0.1:{collector.port}", reader, f"127.0.0.1:{am.port}")
    try:
        prom.start()
        yield nut, hook, prom
    finally:
        poller.send_signal(signal.SIGTERM)
        poller.wait(10)
        prom.stop()
        nut.stop()


def test_ups_on_battery_reaches_webhook_and_resolves(stack):
    nut, hook, prom = stack
    deadline = time.monotonic() + 30
    while not prom.query('clausewatch_ups_on_battery{ups="ups-room-1"} == 0') and time.monotonic() < deadline:
        time.sleep(0.5)
    assert prom.query('clausewatch_ups_on_battery{ups="ups-room-1"}'), "Prometheus never scraped the UPS"

    nut.set("ups1", ups_status="OB DISCHRG", battery_runtime="1500")
    fired = hook.wait_for(ups_alert("firing"), timeout_s=60)
    assert fired is not None, f"no firing notice; received {hook.bodies}"
    alert = next(a for a in fired["alerts"] if a["labels"]["alertname"] == "UpsOnBattery")
    assert alert["labels"]["severity"] == "critical" and alert["labels"]["team"] == "facility"
    assert alert["labels"]["room"] == "room-1"  # from the poller configuration, for inhibition by room
    assert alert["annotations"]["runbook_url"].endswith("#upsonbattery")

    nut.set("ups1", ups_status="OL CHRG", battery_runtime="2300")
    resolved = hook.wait_for(ups_alert("resolved"), timeout_s=60)
    assert resolved is not None, f"no resolved notice; received {hook.bodies}"
    assert prom.query('clausewatch_ups_on_battery{ups="ups-room-1"}')[0]["value"][1] == "0"

    # every dashboard query parses and runs on the real Prometheus
    for path in sorted((ROOT / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$site", ".*")
                r = httpx.get(prom.url + "/api/v1/query", params={"query": expr}, timeout=5).json()
                assert r["status"] == "success", f"{path.name} / {panel['title']}: {r.get('error')}"


def test_ups_on_battery_inhibits_only_within_its_room(alerting):
    _, am = alerting
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def alert(name: str, subject: str, site: str = "default", **labels: str) -> dict:
        return {"labels": {"alertname": name, "subject": subject, "site": site, **labels}, "startsAt": now}

    httpx.post(am.url + "/api/v2/alerts", json=[
        alert("UpsOnBattery", "ups-a", room="room-a", team="facility"),
        alert("HostNotReporting", "T001", room="room-a", team="security"),
        alert("MachineRoomClimateOutOfRange", "s-a", room="room-a", team="facility"),
        alert("MachineRoomClimateOutOfRange", "s-b", room="room-b", team="facility"),
        alert("HostNotReporting", "T005", team="security"),  # no room configured for it
        alert("HostNotReporting", "T009", site="other", room="room-a", team="security"),
        alert("DoorHeldOpenOrForced", "mr-a", room="room-a", team="facility"),
    ]).raise_for_status()
    want = {"ups-a": "active", "T001": "suppressed", "s-a": "suppressed", "s-b": "active", "T005": "active",
            "T009": "active", "mr-a": "active"}
    deadline = time.monotonic() + 20
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        got = httpx.get(am.url + "/api/v2/alerts").json()
        states = {a["labels"]["subject"]: a["status"]["state"] for a in got}
        if states == want:
            break
        time.sleep(0.3)
    assert states == want
