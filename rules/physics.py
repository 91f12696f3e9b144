"""Physical quantities derived from measurements, shared by the sources that measure and the checks
that judge (no thresholds here: a helper computes, the catalog decides)."""
from __future__ import annotations

import math


def dew_point_c(temperature_c: float, humidity_pct: float) -> float:
    """Magnus formula (Sonntag 1990 constants), good to ±0.35 °C between -45 and 60 °C."""
    a, b = 17.62, 243.12
    gamma = math.log(max(humidity_pct, 0.01) / 100.0) + a * temperature_c / (b + temperature_c)
    return b * gamma / (a - gamma)
