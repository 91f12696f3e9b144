"""SNMP pollers: climate probes (configurable OIDs, presets) and UPSes speaking RFC 1628 UPS-MIB.

Preset OIDs follow the vendors' published MIBs; check them against your device's MIB and
override any OID in the configuration.
"""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from collector.sources.pollers.climate import ClimateTracker
from collector.sources.pollers.power import PowerTracker
from rules.model import Observation

UPS_MIB = "1.3.6.1.2.1.33.1"
UPS_OIDS = {
    "battery_status": f"{UPS_MIB}.2.1.0",  # upsBatteryStatus: 2 normal, 3 low, 4 depleted
    "minutes_remaining": f"{UPS_MIB}.2.3.0",  # upsEstimatedMinutesRemaining
    "charge_pct": f"{UPS_MIB}.2.4.0",  # upsEstimatedChargeRemaining
    "output_source": f"{UPS_MIB}.4.1.0",  # upsOutputSource: 3 normal, 4 bypass, 5 battery
    "load_pct": f"{UPS_MIB}.4.4.1.5.1",  # upsOutputPercentLoad, first output line
    "test_result": f"{UPS_MIB}.7.3.0",  # upsTestResultsSummary
    "test_start_ticks": f"{UPS_MIB}.7.5.0",  # upsTestStartTime: sysUpTime when the last test began
    "uptime_ticks": "1.3.6.1.2.1.1.3.0",  # sysUpTime (hundredths of a second), to date the test
}
# agents that lack these still give a usable status
UPS_OPTIONAL = frozenset(UPS_OIDS[k] for k in ("charge_pct", "load_pct", "test_result", "test_start_ticks",
                                                 "uptime_ticks"))
_SOURCE_FLAGS = {3: ["OL"], 4: ["OL", "BYPASS"], 5: ["OB"], 6: ["OL", "BOOST"], 7: ["OL", "TRIM"]}
_BATTERY_FLAGS = {3: ["LB"], 4: ["LB"]}
_TEST_RESULTS = {1: "Done and passed", 2: "Done and warning", 3: "Done and error", 4: "Aborted",
                 5: "In progress", 6: "No test initiated"}
_NO_TEST = 6
_TICKS_WRAP = 2 ** 32  # TimeTicks is an unsigned 32-bit counter: sysUpTime wraps after ~497 days


class Oid(BaseModel):
    model_config = ConfigDict(extra="forbid")
    oid: str = Field(pattern=r"^\.?\d+(\.\d+)+$")
    scale: float = 1.0


# Environment probes: (temperature, humidity) of the first probe. N = probe index.
PRESETS: dict[str, tuple[Oid, Oid]] = {
    # APC NetBotz / EMS (PowerNet-MIB emsProbeStatusProbeTemperature / Humidity)
    "apc-ems": (Oid(oid="1.3.6.1.4.1.318.1.1.10.3.13.1.1.3.1"), Oid(oid="1.3.6.1.4.1.318.1.1.10.3.13.1.1.6.1")),
    # AKCP sensorProbe (SPAGENT-MIB sensorProbeTempDegree / sensorProbeHumidityPercent)
    "akcp": (Oid(oid="1.3.6.1.4.1.3854.1.2.2.1.16.1.3.0"), Oid(oid="1.3.6.1.4.1.3854.1.2.2.1.17.1.3.0")),
    # UPS-MIB has no humidity; upsBatteryTemperature only, for probes fitted to the UPS
}


class SnmpTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    host: str
    port: int = 161
    community: str = Field(default="public", repr=False)
    kind: Literal["sensor", "ups"] = "sensor"
    preset: str | None = None
    temperature_c: Oid | None = None
    humidity_pct: Oid | None = None
    probe: str = "cold-aisle"
    room: str = Field(default="", max_length=100)  # the room it measures or powers, for alert inhibition
    hosts: list[str] = Field(default_factory=list)  # kind ups: agents' host ids it powers
    timeout_s: float = 2.0

    @model_validator(mode="after")
    def _oids(self) -> SnmpTarget:
        if self.kind == "sensor":
            if self.preset is not None:
                if self.preset not in PRESETS:
                    raise ValueError(f"preset must be one of {', '.join(PRESETS)}")
                t, h = PRESETS[self.preset]
                self.temperature_c = self.temperature_c or t
                self.humidity_pct = self.humidity_pct or h
            if self.temperature_c is None or self.humidity_pct is None:
                raise ValueError("a sensor needs temperature_c and humidity_pct OIDs (or a preset)")
        return self


class SnmpError(Exception):
    pass


async def snmp_get(target: SnmpTarget, oids: list[str], engine: Any = None, *,
                   optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    """GET the OIDs in one request (SNMP v2c); raises SnmpError on timeout, error status or a missing
    object (objects in `optional` may be missing and are left out)."""
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        get_cmd,
    )

    engine = engine or SnmpEngine()
    transport = await UdpTransportTarget.create((target.host, target.port), timeout=target.timeout_s, retries=0)
    err, status, index, binds = await get_cmd(engine, CommunityData(target.community, mpModel=1), transport,
                                              ContextData(), *(ObjectType(ObjectIdentity(o.lstrip("."))) for o in oids))
    if err:
        raise SnmpError(str(err))
    if status:
        raise SnmpError(f"{status.prettyPrint()} at {oids[int(index) - 1] if index else '?'}")
    out: dict[str, Any] = {}
    for oid, (_name, value) in zip(oids, binds, strict=True):
        if value.__class__.__name__ in ("NoSuchObject", "NoSuchInstance", "EndOfMibView"):
            if oid in optional:
                continue
            raise SnmpError(f"no such object {oid}")
        out[oid] = value
    return out


def _num(v: Any, scale: float = 1.0) -> float:
    try:
        return float(v) * scale
    except (TypeError, ValueError):
        return float(str(v)) * scale


def selftest_date(test_result: int | None, test_start_ticks: int | None, uptime_ticks: int | None,
                  polled_at: datetime) -> datetime | None:
    """When the last self-test began: upsTestStartTime is the agent's sysUpTime at that moment, so it
    lies (sysUpTime - upsTestStartTime) before the poll. None when no test was run, or it predates
    the agent's last restart (a start time of 0) and so cannot be dated."""
    if test_result in (None, _NO_TEST) or not test_start_ticks or uptime_ticks is None:
        return None
    ago_ticks = (uptime_ticks - test_start_ticks) % _TICKS_WRAP
    return (polled_at - timedelta(seconds=ago_ticks / 100)).replace(microsecond=0)


def _int(v: Any) -> int | None:
    return int(v) if v is not None else None


def ups_payload(values: dict[str, Any], polled_at: datetime) -> dict[str, Any]:
    """UPS-MIB values read at `polled_at` -> the `ups.status` payload NUT would give."""
    v = {k: values.get(oid) for k, oid in UPS_OIDS.items()}
    source, battery = int(v["output_source"] or 0), int(v["battery_status"] or 0)
    flags = _SOURCE_FLAGS.get(source, []) + _BATTERY_FLAGS.get(battery, [])
    test = _int(v["test_result"])
    tested = selftest_date(test, _int(v["test_start_ticks"]), _int(v["uptime_ticks"]), polled_at)
    return {"status": " ".join(flags), "flags": flags,
            "battery_runtime_s": _num(v["minutes_remaining"], 60) if v["minutes_remaining"] is not None else None,
            "battery_charge_pct": _num(v["charge_pct"]) if v["charge_pct"] is not None else None,
            "ups_load_pct": _num(v["load_pct"]) if v["load_pct"] is not None else None,
            "test_result": _TEST_RESULTS.get(test) if test is not None else None,
            "test_date": tested.isoformat() if tested else None, "error": None, "transport": "snmp"}


async def poll_snmp(targets: list[SnmpTarget], tracker: ClimateTracker, engine: Any = None,
                    power: PowerTracker | None = None) -> list[Observation]:
    """climate.reading for sensors; ups.status (and ups.event on a switch to battery and back) for UPS-MIB agents."""
    from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

    engine = engine or SnmpEngine()
    results = await asyncio.gather(*(_poll_one(t, tracker, engine) for t in targets))
    out = list(results)
    if power is not None:
        for o in results:
            if o.kind == "ups.status" and (event := power.transition(o.subject_id, o.payload, o.observed_at)):
                out.append(o.model_copy(update={"id": str(uuid.uuid4()), "kind": "ups.event", "payload": event}))
    return out


async def _poll_one(t: SnmpTarget, tracker: ClimateTracker, engine: Any) -> Observation:
    if t.kind == "ups":
        try:
            values = await snmp_get(t, list(UPS_OIDS.values()), engine, optional=UPS_OPTIONAL)
            polled_at = tracker.clock()  # right after the answer: sysUpTime was read at this moment
            payload = ups_payload(values, polled_at)
        except SnmpError as e:
            polled_at = tracker.clock()
            payload = {"status": None, "flags": [], "battery_runtime_s": None, "error": f"NO-ANSWER: {e}",
                       "transport": "snmp"}
        return Observation(source=tracker.source, site=tracker.site, subject_kind="ups", subject_id=t.id,
                           kind="ups.status", observed_at=polled_at, payload=payload)
    assert t.temperature_c is not None and t.humidity_pct is not None
    try:
        values = await snmp_get(t, [t.temperature_c.oid, t.humidity_pct.oid], engine)
    except SnmpError as e:
        return tracker.failure(t.id, f"NO-ANSWER: {e}", probe=t.probe, transport="snmp")
    return tracker.reading(t.id, _num(values[t.temperature_c.oid], t.temperature_c.scale),
                           _num(values[t.humidity_pct.oid], t.humidity_pct.scale), probe=t.probe, transport="snmp")
