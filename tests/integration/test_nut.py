"""The UPS poller against the real upsd with the dummy-ups driver."""
from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest

from collector.sources.pollers.nut import UpsPoller, UpsTarget
from collector.sources.pollers.nut_client import NutClient, NutError
from rules.catalog import default_catalog
from rules.evaluate import evaluate_one
from rules.registry import load_checks
from tests.integration.clock import Clock
from tests.integration.nut_server import DRIVER, PASSWORD, USER, NutServer

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not DRIVER.exists(), reason="nut-server (dummy-ups, upsd) not installed")]

MAINS = {"ups.status": "OL", "battery.charge": "100", "battery.runtime": "2400", "ups.load": "35",
         "ups.test.result": "Done and passed", "ups.test.date": "2026-11-20"}


def serve(tmp_path, maxage_s: int):
    server = NutServer(tmp_path / "nut", ["ups1", "ups2"], maxage_s=maxage_s)
    server.start(MAINS)
    return server


@pytest.fixture
def nut(tmp_path):
    server = serve(tmp_path, 15)  # upsd's default: a busy machine must not make live data stale
    yield server
    server.stop()


@pytest.fixture
def impatient_nut(tmp_path):
    server = serve(tmp_path, 4)  # a paused driver's data goes stale quickly
    yield server
    server.stop()


def poll_until(poller: UpsPoller, ups: str, predicate, timeout_s: float = 15.0):
    """Poll until the UPS's ups.status payload satisfies predicate (the driver re-reads its file every ~2 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        obs = asyncio.run(poller.poll_once())
        status = next(o for o in obs if o.subject_id == ups and o.kind == "ups.status")
        if predicate(status.payload) or time.monotonic() > deadline:
            return obs, status.payload
        time.sleep(0.5)


def judge(control_id: str, payload: dict, now: datetime) -> str:
    from rules.model import Observation

    control = next(c for c in default_catalog() if c.id == control_id)
    obs = Observation(source="t", subject_kind="ups", subject_id="ups1", kind="ups.status", observed_at=now,
                      payload=payload)
    res = evaluate_one(control, load_checks()[control.check or ""], ("ups", "ups1"),
                       {("ups.status", ""): obs}, now, {})
    return res.status


def test_list_ups_and_vars_with_login(nut):
    async def talk():
        async with NutClient("127.0.0.1", nut.port, username=USER, password=PASSWORD) as c:
            await c.login("ups1")
            return await c.list_ups(), await c.list_var("ups1"), await c.get_var("ups1", "battery.runtime")

    ups, variables, runtime = asyncio.run(talk())
    assert ups == {"ups1": "ups1 test", "ups2": "ups2 test"}
    assert variables["ups.status"] == "OL" and variables["ups.test.result"] == "Done and passed"
    assert runtime == "2400"


@pytest.mark.parametrize(("command", "code"), [
    pytest.param(lambda c: c.get_var("nope", "ups.status"), "UNKNOWN-UPS", id="unknown-ups"),
    pytest.param(lambda c: c.get_var("ups1", "no.such.var"), "VAR-NOT-SUPPORTED", id="unknown-var"),
])
def test_errors_carry_the_nut_code(nut, command, code):
    async def talk():
        async with NutClient("127.0.0.1", nut.port) as c:
            await command(c)

    with pytest.raises(NutError) as e:
        asyncio.run(talk())
    assert e.value.code == code


def test_wrong_password_is_an_error_observation(nut):
    poller = UpsPoller([UpsTarget("ups1", port=nut.port, username=USER, password="wrong")])
    (obs,) = asyncio.run(poller.poll_once())
    assert obs.payload["error"] == "ACCESS-DENIED"


def test_mains_fails_runtime_drops_mains_returns(nut):
    clock = Clock()
    poller = UpsPoller([UpsTarget("ups1", port=nut.port, username=USER, password=PASSWORD),
                        UpsTarget("ups2", port=nut.port, subject="ups-b")], clock=clock)
    obs = asyncio.run(poller.poll_once())
    first = {o.subject_id: o.payload for o in obs}
    assert [o.kind for o in obs] == ["ups.status", "ups.status"]  # no event at first sight of mains
    assert first["ups1"]["flags"] == ["OL"] and first["ups1"]["battery_runtime_s"] == 2400
    assert first["ups1"]["test_date"] == "2026-11-20T00:00:00+08:00"
    assert judge("UPS-RUNTIME", first["ups1"], clock.now) == "pass"

    nut.set("ups1", ups_status="OB DISCHRG", battery_runtime="1500", battery_charge="80")
    clock.now += timedelta(minutes=1)
    obs, payload = poll_until(poller, "ups1", lambda p: "OB" in p["flags"])
    events = [o.payload for o in obs if o.kind == "ups.event"]
    assert payload["flags"] == ["OB", "DISCHRG"] and payload["battery_runtime_s"] == 1500
    assert events == [pytest.approx(events[0])] and events[0]["event"] == "on_battery"
    assert judge("UPS-RUNTIME", payload, clock.now) == "fail"

    nut.set("ups1", ups_status="OL CHRG", battery_runtime="2000")
    clock.now += timedelta(minutes=7)
    obs, payload = poll_until(poller, "ups1", lambda p: "OL" in p["flags"])
    (event,) = [o.payload for o in obs if o.kind == "ups.event"]
    assert event["event"] == "on_line" and event["duration_s"] >= 7 * 60
    assert {o.subject_id for o in obs} == {"ups1", "ups-b"}


def test_driver_gone_then_stale_is_never_a_pass(impatient_nut):
    nut = impatient_nut
    poller = UpsPoller([UpsTarget("ups1", port=nut.port), UpsTarget("ups2", port=nut.port)])
    nut.stop_driver("ups1")
    nut.stop_driver("ups2", signal.SIGSTOP)  # alive but silent: upsd calls its data stale after MAXAGE
    deadline = time.monotonic() + 20
    while True:
        payloads = {o.subject_id: o.payload for o in asyncio.run(poller.poll_once())}
        if payloads["ups2"]["error"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert payloads["ups1"]["error"] == "DRIVER-NOT-CONNECTED"
    assert payloads["ups2"]["error"] == "DATA-STALE"
    now = datetime.now(UTC)
    assert {judge("UPS-RUNTIME", p, now) for p in payloads.values()} == {"unknown"}
    assert not [o for o in asyncio.run(poller.poll_once()) if o.kind == "ups.event"]


def test_unreachable_server(nut):
    nut.stop()
    (obs,) = asyncio.run(UpsPoller([UpsTarget("ups1", port=nut.port)], timeout_s=1).poll_once())
    assert obs.payload["error"] == "CONNECT-FAILED"


def test_star_discovers_every_ups_of_a_server(nut):
    poller = UpsPoller([UpsTarget("*", port=nut.port, subject="room-a-")])
    obs = asyncio.run(poller.poll_once())
    assert sorted(o.subject_id for o in obs) == ["room-a-ups1", "room-a-ups2"]
    assert all(o.payload["flags"] == ["OL"] for o in obs)
