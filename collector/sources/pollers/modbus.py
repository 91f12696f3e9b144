"""Climate probes over Modbus TCP: a register map per probe (e.g. input registers holding °C × 10)."""
from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from collector.sources.pollers.climate import ClimateTracker
from rules.model import Observation


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: int = Field(ge=0, le=65535)
    table: Literal["input", "holding"] = "input"
    scale: float = 0.1
    signed: bool = True


class ModbusProbe(BaseModel):
    """One probe; the defaults fit the common 'temperature at input register 0, humidity at 1, ×10' devices."""

    model_config = ConfigDict(extra="forbid")
    id: str
    host: str
    port: int = 502
    unit: int = 1
    probe: str = "cold-aisle"
    room: str = Field(default="", max_length=100)  # the room it measures, for alert inhibition
    temperature_c: Register = Register(address=0)
    humidity_pct: Register = Register(address=1, signed=False)
    timeout_s: float = 3.0


def _value(raw: int, reg: Register) -> float:
    if reg.signed and raw >= 0x8000:
        raw -= 0x10000
    return raw * reg.scale


async def _read(client, reg: Register, unit: int) -> int:
    call = client.read_input_registers if reg.table == "input" else client.read_holding_registers
    rr = await call(reg.address, count=1, device_id=unit)
    if rr.isError():
        raise OSError(f"modbus exception reading {reg.table} register {reg.address}: {rr}")
    return int(rr.registers[0])


async def read_probe(probe: ModbusProbe) -> tuple[float, float]:
    """(temperature °C, relative humidity %) as the probe reports them."""
    from pymodbus.client import AsyncModbusTcpClient
    from pymodbus.exceptions import ModbusException

    client = AsyncModbusTcpClient(probe.host, port=probe.port, timeout=probe.timeout_s, retries=0)
    try:
        if not await client.connect():
            raise OSError(f"cannot connect to {probe.host}:{probe.port}")
        t = await _read(client, probe.temperature_c, probe.unit)
        h = await _read(client, probe.humidity_pct, probe.unit)
    except ModbusException as e:
        raise OSError(str(e)) from None
    finally:
        client.close()
    return _value(t, probe.temperature_c), _value(h, probe.humidity_pct)


async def poll_modbus(probes: list[ModbusProbe], tracker: ClimateTracker) -> list[Observation]:
    results = await asyncio.gather(*(read_probe(p) for p in probes), return_exceptions=True)
    out = []
    for probe, res in zip(probes, results, strict=True):
        if isinstance(res, BaseException):
            out.append(tracker.failure(probe.id, f"NO-ANSWER: {res}", probe=probe.probe, transport="modbus"))
        else:
            out.append(tracker.reading(probe.id, res[0], res[1], probe=probe.probe, transport="modbus"))
    return out
