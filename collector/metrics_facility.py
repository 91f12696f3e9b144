"""Per-value facility gauges read from the engine's latest observations at scrape time.

Findings say pass/fail; these say how far: UPS runtime and charge, on battery or not, climate
readings, and the latest access-audit counts per door. Dashboards and alert rules use both.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily, Metric

from collector.rooms import subject_rooms

if TYPE_CHECKING:
    from collector.engine import Engine

UPS_VALUES = (("battery_runtime_s", "clausewatch_ups_battery_runtime_seconds", "UPS runtime at present load"),
              ("battery_charge_pct", "clausewatch_ups_battery_charge_percent", "UPS battery charge"),
              ("ups_load_pct", "clausewatch_ups_load_percent", "UPS output load"))
CLIMATE_VALUES = (("temperature_c", "clausewatch_climate_temperature_celsius", "Machine-room temperature"),
                  ("humidity_pct", "clausewatch_climate_humidity_percent", "Machine-room relative humidity"),
                  ("dew_point_c", "clausewatch_climate_dew_point_celsius", "Machine-room dew point"),
                  ("rate_c_per_h", "clausewatch_climate_temperature_change_celsius_per_hour",
                   "Rate of temperature change"))


def _gauges(spec: tuple[tuple[str, str, str], ...], labels: list[str]) -> dict[str, GaugeMetricFamily]:
    return {field: GaugeMetricFamily(name, doc, labels=labels) for field, name, doc in spec}


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


class FacilityCollector:
    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with self.engine._lock:
            latest = {s: dict(v) for s, v in self.engine.latest.items() if s[0] in ("ups", "sensor", "door")}
            sites = dict(self.engine.sites)
        rooms = subject_rooms(latest)
        ups = _gauges(UPS_VALUES, ["ups", "site", "room"])
        on_battery = GaugeMetricFamily("clausewatch_ups_on_battery", "1 while the UPS runs on battery",
                                       labels=["ups", "site", "room"])
        ups_error = GaugeMetricFamily("clausewatch_ups_data_error", "1 while the UPS's data is unavailable",
                                      labels=["ups", "site", "room", "error"])
        climate = _gauges(CLIMATE_VALUES, ["sensor", "site", "room"])
        sensor_error = GaugeMetricFamily("clausewatch_climate_sensor_error", "1 while the probe does not answer",
                                         labels=["sensor", "site", "room"])
        violations = GaugeMetricFamily("clausewatch_access_violations", "Violations in the latest access audit",
                                       labels=["door", "site", "room", "type"])
        events = GaugeMetricFamily("clausewatch_access_events", "Events in the latest access audit",
                                   labels=["door", "site", "room"])
        seen = GaugeMetricFamily("clausewatch_observation_timestamp_seconds",
                                 "When the latest facility observation of each subject was made",
                                 labels=["subject_kind", "subject", "site", "kind"])
        for (kind, subject), obs_by_kind in sorted(latest.items()):
            site, room = sites.get((kind, subject), "default"), rooms.get((kind, subject), "")
            for (obs_kind, _), o in obs_by_kind.items():
                p = o.payload
                seen.add_metric([kind, subject, site, obs_kind], o.as_of.timestamp())
                if obs_kind == "ups.status":
                    self._ups(p, [subject, site, room], ups, on_battery, ups_error)
                elif obs_kind == "climate.reading":
                    self._climate(p, [subject, site, room], climate, sensor_error)
                elif obs_kind == "access.audit":
                    events.add_metric([p.get("door", subject), site, room], float(p.get("events") or 0))
                    for t, n in sorted((p.get("counts") or {}).items()):
                        violations.add_metric([p.get("door", subject), site, room, t], float(n))
        yield from ups.values()
        yield from (on_battery, ups_error)
        yield from climate.values()
        yield from (sensor_error, violations, events, seen)

    @staticmethod
    def _ups(p: dict, labels: list[str], ups: dict[str, GaugeMetricFamily], on_battery: GaugeMetricFamily,
             error: GaugeMetricFamily) -> None:
        if p.get("error"):
            error.add_metric([*labels, str(p["error"]).split(":")[0]], 1)
            return
        for field, family in ups.items():
            if (v := _num(p.get(field))) is not None:
                family.add_metric(labels, v)
        on_battery.add_metric(labels, 1.0 if "OB" in (p.get("flags") or []) else 0.0)

    @staticmethod
    def _climate(p: dict, labels: list[str], climate: dict[str, GaugeMetricFamily],
                 error: GaugeMetricFamily) -> None:
        error.add_metric(labels, 1.0 if p.get("error") else 0.0)
        for field, family in climate.items():
            if (v := _num(p.get(field))) is not None:
                family.add_metric(labels, v)
