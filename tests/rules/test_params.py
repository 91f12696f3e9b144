"""A check sees only the parameters it declares: reading another one is a fault of the check, and its
finding is unknown, never a pass."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.catalog import default_catalog
from rules.evaluate import Result, evaluate_one
from rules.model import Observation
from rules.registry import CheckInput, CheckSpec, Verdict, passed

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
OBS = Observation(source="t", subject_kind="ups", subject_id="u1", kind="ups.status", observed_at=NOW,
                  payload={"battery_runtime_s": 2400})


def _reads(name: str):
    def func(inp: CheckInput) -> Verdict:
        inp.require("ups.status")
        return passed("好", "fine", value=inp.params[name])
    return func


def _judge(spec: CheckSpec) -> Result:
    control = next(c for c in default_catalog() if c.id == "UPS-RUNTIME")
    return evaluate_one(control, spec, ("ups", "u1"), {("ups.status", ""): OBS}, NOW)


def test_a_declared_param_reads_the_controls_value():
    spec = CheckSpec("reads_runtime", _reads("min_runtime_s"), ("ups.status",), params={"min_runtime_s": 60})
    assert _judge(spec).value == {"value": 1800}  # UPS-RUNTIME sets 1800 over the default 60


@pytest.mark.parametrize("read", [
    pytest.param(lambda p: p["max_temp_c"], id="subscript"),
    pytest.param(lambda p: p.get("max_temp_c", 27), id="get-with-default"),
])
def test_reading_an_undeclared_param_is_never_a_pass(read):
    def func(inp: CheckInput) -> Verdict:
        inp.require("ups.status")
        return passed("好", "fine", value=read(inp.params))

    verdict = _judge(CheckSpec("reads_other", func, ("ups.status",), params={"min_runtime_s": 1800}))
    assert verdict.status == "unknown" and verdict.value == {"undeclared_param": "max_temp_c"}
    assert "does not declare (max_temp_c)" in verdict.reason_en
