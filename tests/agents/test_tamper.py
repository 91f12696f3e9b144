from __future__ import annotations

from pathlib import Path

import pytest

from agents import tamper

FP = {"config_sha256": "c1", "program_sha256": "p1"}


@pytest.mark.parametrize("last_run, now_fp, now_s, booted_s, expected", [
    pytest.param(None, FP, 1000, 10, [], id="first start"),
    pytest.param(("stop", 990), FP, 1000, 10, [], id="clean restart"),
    pytest.param(("stop", 990), {**FP, "config_sha256": "c2"}, 1000, 10, ["config file changed"], id="config"),
    pytest.param(("stop", 990), {**FP, "program_sha256": "p2"}, 1000, 10, ["agent program changed"], id="program"),
    pytest.param(("crash", 990), FP, 1000, 10, ["without a clean shutdown"], id="killed"),
    pytest.param(("stop", 100), FP, 1000, 10, ["stopped for 15 min without a reboot"], id="service stopped"),
    pytest.param(("stop", 100), FP, 1000, 500, [], id="long stop across a reboot"),
])
def test_check_start(tmp_path: Path, last_run, now_fp, now_s, booted_s, expected) -> None:
    state = tmp_path / "state.json"
    if last_run is not None:
        tamper.check_start(state, FP, last_run[1] - 5, 180, booted_s)
        if last_run[0] == "stop":
            tamper.mark_stopped(state, FP, last_run[1])
    found = tamper.check_start(state, now_fp, now_s, 180, booted_s)
    assert len(found) == len(expected)
    for text, want in zip(found, expected, strict=True):
        assert want in text


def test_program_hash_covers_the_agent_modules() -> None:
    assert len(tamper.program_sha256()) == 64
    assert tamper.boot_time(Path("/proc")) is not None
