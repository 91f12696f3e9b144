"""Poll 50 UPSes (real upsd + dummy-ups) and 200 climate probes (pymodbus server) every 10 s:
the poller must stay within 20 % of one core.

Measured: CPU seconds of this process (the poller) over several cycles, against the same loop
with no targets as the baseline. The servers run in other processes and are not counted. The
sink serialises every observation to JSON as it would for the collector's API.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson  # noqa: E402
from benchdoc import machine, update_section  # noqa: E402

from collector.sources.pollers.config import PollConfig  # noqa: E402
from collector.sources.pollers.run import PollLoop  # noqa: E402
from tests.integration.nut_server import NutServer, free_port  # noqa: E402

UPS, SENSORS, INTERVAL_S, CYCLES, BUDGET = 50, 200, 10.0, 4, 0.20


def modbus_server(port: int, devices: int) -> None:
    from pymodbus.server import StartAsyncTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    devs = [SimDevice(id=i, simdata=[SimData(0, values=[220 + i % 30, 450], datatype=DataType.REGISTERS)])
            for i in range(1, devices + 1)]
    asyncio.run(StartAsyncTcpServer(devs, address=("127.0.0.1", port)))


class JsonSink:
    def __init__(self) -> None:
        self.observations = 0

    def send(self, observations) -> None:
        orjson.dumps({"observations": [o.model_dump(mode="json") for o in observations]})
        self.observations += len(observations)


def measure(config: PollConfig, cycles: int) -> tuple[float, float, int, list[str]]:
    sink = JsonSink()
    loop = PollLoop(config, sink)
    errors: list[str] = []

    async def run() -> None:
        stop = asyncio.Event()
        await loop.run(stop, cycles=cycles)

    c0, w0 = time.process_time(), time.perf_counter()
    asyncio.run(run())
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    last = asyncio.run(loop.poll())
    errors = [f"{o.subject_id}: {o.payload.get('error')}" for o in last if o.payload.get("error")]
    return cpu, wall, sink.observations, errors


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        nut = NutServer(Path(d) / "nut", [f"ups{i}" for i in range(1, UPS + 1)])
        nut.start({"ups.status": "OL", "battery.charge": "100", "battery.runtime": "2400", "ups.load": "35"})
        port = free_port()
        server = multiprocessing.Process(target=modbus_server, args=(port, SENSORS), daemon=True)
        server.start()
        time.sleep(2)
        try:
            config = PollConfig.model_validate({
                "interval_s": INTERVAL_S,
                "ups": [{"ups": f"ups{i}", "port": nut.port} for i in range(1, UPS + 1)],
                "modbus": [{"id": f"sensor-{i}", "host": "127.0.0.1", "port": port, "unit": i}
                           for i in range(1, SENSORS + 1)]})
            base_cpu, base_wall, _, _ = measure(PollConfig(interval_s=INTERVAL_S), 1)
            cpu, wall, n, errors = measure(config, CYCLES)
        finally:
            server.terminate()
            nut.stop()
    share = cpu / wall
    rows = [("no targets (baseline)", 0, base_cpu, base_wall, base_cpu / base_wall),
            (f"{UPS} UPS + {SENSORS} Modbus probes", n, cpu, wall, share)]
    lines = ["| run | observations | CPU s | wall s | share of one core |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r[0]} | {r[1]:,} | {r[2]:.2f} | {r[3]:.1f} | {100 * r[4]:.1f} % |" for r in rows]
    per_cycle = cpu / CYCLES - base_cpu
    verdict = "within" if share <= BUDGET and not errors else "OVER"
    body = (f"Facility polling (`bench/bench_facility.py`), {machine()}, {CYCLES} cycles every {INTERVAL_S:g} s, "
            f"load average {os.getloadavg()[0]:.1f}.\n\n" + "\n".join(lines)
            + f"\n\n{per_cycle:.2f} CPU s per cycle above the baseline; {100 * share:.1f} % of one core is {verdict} "
              f"the {100 * BUDGET:g} % budget" + (f"; {len(errors)} targets failed: {errors[:3]}" if errors else "."))
    print(body)
    update_section("facility: polling", body)
    if verdict != "within":
        sys.exit(1)


if __name__ == "__main__":
    main()
