"""`clausewatch demo`: collector, accounts, simulated site and this machine's own agent."""
import datetime as dt
import json
import re
import subprocess
import time

import httpx
import pytest

from tests.integration.conftest import BIN, cli, free_port

pytestmark = pytest.mark.integration


def start_demo(log, deadline: float, *args: str) -> tuple[subprocess.Popen, str]:
    """A running `clausewatch demo ARGS` and the password it printed for the accounts."""
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(BIN), "demo", *args], stdout=out, stderr=subprocess.STDOUT)
    password = None
    while time.monotonic() < deadline and password is None:
        m = re.search(r"manager / (\S+)", log.read_text())
        password = m.group(1) if m else None
        time.sleep(0.5)
    if password is None:
        proc.terminate()
        proc.wait(30)
        raise AssertionError(log.read_text())
    return proc, password


def test_live_demo_serves_the_simulated_site_and_the_local_agent(tmp_path):
    port = free_port()
    log = tmp_path / "demo.log"
    deadline = time.monotonic() + 120
    proc, password = start_demo(log, deadline, "--db", str(tmp_path / "cw.db"), "--days", "1", "--port", str(port),
                                "--terminals", "5", "--feed-interval", "5")
    try:
        url = f"http://127.0.0.1:{port}"
        token = httpx.post(url + "/api/v1/auth/token", json={"username": "security", "password": password}).json()
        headers = {"Authorization": f"Bearer {token['token']}"}
        hosts: set[str] = set()
        while time.monotonic() < deadline and not {"T001", "demo-local"} <= hosts:
            hosts = {a["host_id"] for a in httpx.get(url + "/api/v1/agents", headers=headers).json()}
            time.sleep(1)
        assert {"T001", "T005", "demo-local"} <= hosts
        while time.monotonic() < deadline:
            rows = httpx.get(url + "/api/v1/findings", params={"subject": "demo-local", "control": "USB-BLOCK"},
                             headers=headers).json()
            if rows:
                break
            time.sleep(1)
        assert rows and rows[0]["status"] == "fail" and "switched off" in rows[0]["reason"]["en"]
        # the demo's own machine is not a collection terminal: its failures are waived, with the reason, so the
        # posture shows the simulated site's planted faults, not this machine's
        posture = httpx.get(url + "/api/v1/posture", headers=headers).json()
        usb = next(c for c in posture["controls"] if c["id"] == "USB-BLOCK")
        local = [s for s in usb["subjects"] if s["subject"] == "demo-local"]
        assert local and local[0]["status"] == "excepted" and local[0]["measured_status"] == "fail"
        waived = httpx.get(url + "/api/v1/exceptions", headers=headers).json()
        assert any(w["subject_id"] == "demo-local" and w["control"] == "USB-BLOCK"
                   and "not a collection terminal" in w["reason"] for w in waived)
        # the facility, camera, lifecycle and canary sources feed live too (one source token)
        kinds: set[str] = set()
        while time.monotonic() < deadline and not {"ups", "camera", "canary"} <= kinds:
            recent = httpx.get(url + "/api/v1/observations", params={"limit": 2000}, headers=headers).json()
            kinds = {o["subject_kind"] for o in recent if o["source"].startswith("source:")}
            time.sleep(1)
        assert {"ups", "camera", "canary"} <= kinds, kinds
        # the live feed uploads the pictures its observations name: camera thumbnails and the floor plan
        for kind, media in (("camera.health", "image/jpeg"), ("camera.floorplan", "image/png")):
            live = [o for o in recent if o["kind"] == kind and o["source"].startswith("source:")]
            ref = next(e for e in live[0]["evidence"] if e["media_type"] == media)
            blob = httpx.get(f"{url}/api/v1/evidence/{ref['sha256']}", headers=headers)
            assert blob.status_code == 200 and blob.headers["content-type"] == media, (kind, blob.status_code)
        assert "demo feed failed" not in log.read_text()
        # the built-in notifier delivers the open alerts to the demo's local inbox, and logs each delivery
        inbox = tmp_path / "cw.inbox.jsonl"
        while time.monotonic() < deadline and not (inbox.exists() and inbox.read_text().strip()):
            time.sleep(1)
        delivered = [json.loads(line) for line in inbox.read_text().splitlines()]
        assert delivered and delivered[0]["alerts"] and str(inbox) in log.read_text()
        sent = json.loads(cli("notifications", "--db", str(tmp_path / "cw.db"), "--json").stdout)
        assert any(e["receiver"] == "demo-inbox" and e["ok"] for e in sent), sent
    finally:
        proc.terminate()
        proc.wait(30)


def test_demo_started_again_on_its_store_enrolls_its_terminals_again(tmp_path):
    """Its terminals are enrolled already: the demo issues itself a re-enrollment code for each."""
    db, port = tmp_path / "cw.db", free_port()
    url = f"http://127.0.0.1:{port}"
    for run in (1, 2):
        log = tmp_path / f"demo-{run}.log"
        deadline = time.monotonic() + 90
        proc, password = start_demo(log, deadline, "--db", str(db), "--days", "0", "--port", str(port),
                                    "--terminals", "2", "--feed-interval", "2")
        try:
            started = time.time()
            token = httpx.post(url + "/api/v1/auth/token", json={"username": "admin", "password": password}).json()
            headers = {"Authorization": f"Bearer {token['token']}"}
            fresh = []
            while time.monotonic() < deadline and not fresh:
                fresh = httpx.get(url + "/api/v1/observations", headers=headers, params={
                    "subject_kind": "host", "subject": "T001", "repeats": "true",  # the same facts as the last run's
                    "since": dt.datetime.fromtimestamp(started, dt.UTC).isoformat()}).json()
                time.sleep(0.5)
            assert fresh, log.read_text()
            assert "Traceback" not in log.read_text()
        finally:
            proc.terminate()
            proc.wait(30)
