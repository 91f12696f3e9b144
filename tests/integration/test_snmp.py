"""SNMP pollers against the real Debian snmpd, values served by a `pass` script."""
from __future__ import annotations

import asyncio
import shutil

import pytest

from collector.sources.pollers.climate import ClimateTracker
from collector.sources.pollers.snmp import PRESETS, UPS_OIDS, Oid, SnmpTarget, poll_snmp
from tests.integration.snmp_agent import COMMUNITY, SnmpAgent

pytestmark = [pytest.mark.integration, pytest.mark.skipif(shutil.which("snmpd") is None, reason="snmpd missing")]

CUSTOM_T, CUSTOM_H = "1.3.6.1.4.1.99999.1.1.0", "1.3.6.1.4.1.99999.1.2.0"


@pytest.fixture
def agent(tmp_path):
    a = SnmpAgent(tmp_path / "snmp", ["1.3.6.1.4.1", "1.3.6.1.2.1.33"])
    a.start()
    yield a
    a.stop()


def target(agent: SnmpAgent, **kw) -> SnmpTarget:
    return SnmpTarget(host="127.0.0.1", port=agent.port, community=COMMUNITY, timeout_s=1, **kw)


def test_preset_probe(agent):
    t, h = PRESETS["apc-ems"]
    agent.set(t.oid, 24)
    agent.set(h.oid, 51)
    (obs,) = asyncio.run(poll_snmp([target(agent, id="sensor-apc", preset="apc-ems")], ClimateTracker()))
    assert (obs.subject_kind, obs.kind) == ("sensor", "climate.reading")
    assert obs.payload["temperature_c"] == 24 and obs.payload["humidity_pct"] == 51
    assert obs.payload["dew_point_c"] == pytest.approx(13.3, abs=0.2)


def test_configured_oids_with_scale(agent):
    agent.set(CUSTOM_T, 215)
    agent.set(CUSTOM_H, 603, "gauge")
    probe = target(agent, id="sensor-x", temperature_c=Oid(oid=CUSTOM_T, scale=0.1),
                   humidity_pct=Oid(oid=CUSTOM_H, scale=0.1))
    (obs,) = asyncio.run(poll_snmp([probe], ClimateTracker()))
    assert obs.payload["temperature_c"] == pytest.approx(21.5) and obs.payload["humidity_pct"] == pytest.approx(60.3)


@pytest.mark.parametrize(("source", "battery", "minutes", "flags", "runtime_s"), [
    pytest.param(3, 2, 45, ["OL"], 2700, id="on-line"),
    pytest.param(5, 3, 4, ["OB", "LB"], 240, id="on-battery-low"),
])
def test_ups_mib(agent, source, battery, minutes, flags, runtime_s):
    for key, value in (("output_source", source), ("battery_status", battery), ("minutes_remaining", minutes),
                       ("charge_pct", 88), ("load_pct", 41), ("test_result", 1)):
        agent.set(UPS_OIDS[key], value)
    (obs,) = asyncio.run(poll_snmp([target(agent, id="ups-snmp", kind="ups")], ClimateTracker()))
    assert obs.kind == "ups.status" and obs.payload["flags"] == flags
    assert obs.payload["battery_runtime_s"] == runtime_s and obs.payload["test_result"] == "Done and passed"


@pytest.mark.parametrize("trouble", ["missing-oid", "agent-silent"])
def test_no_answer_is_an_error_reading(agent, trouble):
    if trouble == "agent-silent":
        agent.set(CUSTOM_T, 200)
        agent.set(CUSTOM_H, 500)
        agent.pause()
    probe = target(agent, id="sensor-x", temperature_c=Oid(oid=CUSTOM_T), humidity_pct=Oid(oid=CUSTOM_H))
    (obs,) = asyncio.run(poll_snmp([probe], ClimateTracker()))
    assert obs.payload["error"].startswith("NO-ANSWER")


def test_sensor_needs_oids():
    with pytest.raises(ValueError, match="temperature_c and humidity_pct"):
        SnmpTarget(id="s", host="127.0.0.1")


def test_ups_mib_switch_to_battery_and_back_is_an_event(agent):
    from collector.sources.pollers.power import PowerTracker

    for key, value in (("output_source", 3), ("battery_status", 2), ("minutes_remaining", 45)):
        agent.set(UPS_OIDS[key], value)  # a minimal agent: no charge, load or test result
    power, tracker, ups = PowerTracker(), ClimateTracker(), [target(agent, id="ups-snmp", kind="ups")]
    assert [o.kind for o in asyncio.run(poll_snmp(ups, tracker, power=power))] == ["ups.status"]
    agent.set(UPS_OIDS["output_source"], 5)
    obs = asyncio.run(poll_snmp(ups, tracker, power=power))
    assert [o.payload.get("event") for o in obs if o.kind == "ups.event"] == ["on_battery"]
    agent.set(UPS_OIDS["output_source"], 3)
    (event,) = [o.payload for o in asyncio.run(poll_snmp(ups, tracker, power=power)) if o.kind == "ups.event"]
    assert event["event"] == "on_line" and event["duration_s"] >= 0


@pytest.mark.parametrize(("start_ticks", "result", "age_days", "status"), [
    # the agent's own sysUpTime dates the test: one tick after snmpd started
    pytest.param(1, 1, 0, "pass", id="tested-since-agent-start"),
    # sysUpTime wrapped (an agent up ~497 days) since a test 40 days ago
    pytest.param(2 ** 32 - 40 * 86400 * 100, 1, 40, "fail", id="forty-days-ago"),
    pytest.param(1, 3, 0, "fail", id="test-found-an-error"),
    pytest.param(0, 6, None, "unknown", id="never-tested"),
])
def test_ups_mib_selftest_is_dated_from_sysuptime(agent, start_ticks, result, age_days, status):
    from datetime import UTC, datetime, timedelta

    from rules.catalog import default_catalog
    from rules.evaluate import evaluate_one
    from rules.registry import load_checks

    for key, value in (("output_source", 3), ("battery_status", 2), ("minutes_remaining", 45), ("test_result", result)):
        agent.set(UPS_OIDS[key], value)
    agent.set(UPS_OIDS["test_start_ticks"], start_ticks, "timeticks")
    (obs,) = asyncio.run(poll_snmp([target(agent, id="ups-snmp", kind="ups")], ClimateTracker()))
    if age_days is None:
        assert obs.payload["test_date"] is None
    else:
        age = obs.observed_at - datetime.fromisoformat(obs.payload["test_date"])
        started = agent.started_at
        assert abs(age - (obs.observed_at - started) - timedelta(days=age_days)) < timedelta(seconds=2)
    control = next(c for c in default_catalog() if c.id == "UPS-SELFTEST")
    verdict = evaluate_one(control, load_checks()[control.check or ""], ("ups", "ups-snmp"),
                           {("ups.status", ""): obs}, datetime.now(UTC))
    assert verdict.status == status
