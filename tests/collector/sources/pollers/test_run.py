from __future__ import annotations

import asyncio

from collector.sources.pollers.config import PollConfig
from collector.sources.pollers.run import PollLoop
from tests.integration.nut_server import free_port


class FlakySink:
    def __init__(self, failures: int):
        self.failures, self.delivered = failures, []

    def send(self, observations):
        if self.failures:
            self.failures -= 1
            raise OSError("collector restarting")
        self.delivered.append(list(observations))


def test_failed_delivery_is_retried_with_the_next_cycle():
    config = PollConfig.model_validate({"site": "pudong", "timeout_s": 1,
                                        "ups": [{"ups": "ups1", "port": free_port(), "id": "ups-a"}]})
    sink = FlakySink(failures=1)
    loop = PollLoop(config, sink)
    asyncio.run(loop.cycle())
    assert sink.delivered == [] and len(loop.pending) == 1
    asyncio.run(loop.cycle())
    (batch,) = sink.delivered
    assert [o.payload["error"] for o in batch] == ["CONNECT-FAILED", "CONNECT-FAILED"]
    assert {o.site for o in batch} == {"pudong"} and not loop.pending


def test_observations_say_which_room_their_ups_or_probe_serves():
    config = PollConfig.model_validate({"timeout_s": 1, "ups": [
        {"ups": "ups1", "port": free_port(), "id": "ups-a", "room": "room-a", "hosts": ["T001", "T002"]},
        {"ups": "ups2", "port": free_port(), "id": "ups-x"}],
        "modbus": [{"id": "s-b", "host": "127.0.0.1", "port": free_port(), "room": "room-b", "timeout_s": 0.5}]})
    observations = asyncio.run(PollLoop(config, FlakySink(0)).poll())
    placed = {o.subject_id: {k: o.payload.get(k) for k in ("room", "hosts")} for o in observations}
    assert placed == {"ups-a": {"room": "room-a", "hosts": ["T001", "T002"]},
                      "ups-x": {"room": None, "hosts": None},  # no room configured: no field
                      "s-b": {"room": "room-b", "hosts": None}}
