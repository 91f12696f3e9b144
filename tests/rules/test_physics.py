"""Derived quantities the sources report and the checks judge."""
from __future__ import annotations

import pytest

from rules.physics import dew_point_c


@pytest.mark.parametrize(("temperature_c", "humidity_pct", "dew_c"), [
    pytest.param(20.0, 50.0, 9.3, id="office"),
    pytest.param(25.0, 100.0, 25.0, id="saturated"),
    pytest.param(30.0, 60.0, 21.4, id="humid"),
    pytest.param(0.0, 80.0, -3.0, id="cold"),
])
def test_dew_point_matches_the_magnus_tables(temperature_c: float, humidity_pct: float, dew_c: float) -> None:
    assert dew_point_c(temperature_c, humidity_pct) == pytest.approx(dew_c, abs=0.2)


def test_a_sensor_reading_zero_humidity_gives_a_number_not_a_crash() -> None:
    assert -100 < dew_point_c(22.0, 0.0) < -40  # read as 0.01 %: log(0) would raise
