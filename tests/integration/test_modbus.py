"""Climate probes over Modbus TCP against pymodbus's own server on a loopback port."""
from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from collector.sources.pollers.climate import ClimateTracker
from collector.sources.pollers.modbus import ModbusProbe, Register, poll_modbus
from tests.integration.clock import Clock
from tests.integration.nut_server import free_port

pytestmark = pytest.mark.integration


class ModbusServer:
    """pymodbus's TCP server in a thread: device 1 with 16 registers shared by the input and holding tables."""

    def __init__(self) -> None:
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def _set(self, func_code: int, address: int, values: tuple[int, ...]) -> None:
        asyncio.run_coroutine_threadsafe(self.server.async_setValues(1, func_code, address, list(values)),
                                         self.loop).result(5)

    def set_input(self, address: int, *values: int) -> None:
        self._set(4, address, values)

    def set_holding(self, address: int, *values: int) -> None:
        self._set(3, address, values)

    def start(self) -> None:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        self.thread.start()
        device = SimDevice(id=1, simdata=[SimData(0, count=16, values=0, datatype=DataType.REGISTERS)])

        async def make():
            self.server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
            await self.server.listen()

        asyncio.run_coroutine_threadsafe(make(), self.loop).result(10)

    def stop(self) -> None:
        if self.server is None:
            return
        server, self.server = self.server, None
        asyncio.run_coroutine_threadsafe(server.shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def modbus():
    server = ModbusServer()
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize(("probe", "setup", "want"), [
    pytest.param({}, lambda s: s.set_input(0, 231, 455), (23.1, 45.5), id="default-map-input-x10"),
    pytest.param({}, lambda s: s.set_input(0, 0x10000 - 25, 300), (-2.5, 30.0), id="signed-negative"),
    pytest.param({"temperature_c": Register(address=4, table="holding", scale=0.01),
                  "humidity_pct": Register(address=6, table="holding", scale=1, signed=False)},
                 lambda s: s.set_holding(4, 2255, 0, 58), (22.55, 58.0), id="holding-x100"),
])
def test_register_maps(modbus, probe, setup, want):
    setup(modbus)
    probes = [ModbusProbe(id="sensor-1", host="127.0.0.1", port=modbus.port, **probe)]
    (obs,) = asyncio.run(poll_modbus(probes, ClimateTracker()))
    p = obs.payload
    assert (p["temperature_c"], p["humidity_pct"]) == pytest.approx(want)
    assert p["error"] is None and p["transport"] == "modbus" and p["dew_point_c"] < p["temperature_c"]


def test_rate_of_change_and_silent_probe(modbus):
    clock = Clock()
    tracker = ClimateTracker(clock=clock)
    probes = [ModbusProbe(id="sensor-1", host="127.0.0.1", port=modbus.port)]
    modbus.set_input(0, 220, 450)
    (first,) = asyncio.run(poll_modbus(probes, tracker))
    assert first.payload["rate_c_per_h"] is None  # one reading says nothing about change
    clock.now += timedelta(minutes=30)
    modbus.set_input(0, 250, 450)
    (second,) = asyncio.run(poll_modbus(probes, tracker))
    assert second.payload["rate_c_per_h"] == pytest.approx(6.0)
    modbus.stop()
    (gone,) = asyncio.run(poll_modbus([probes[0].model_copy(update={"timeout_s": 1})], tracker))
    assert gone.payload["error"].startswith("NO-ANSWER")
