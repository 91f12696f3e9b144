"""Report charts (matplotlib, SVG with text drawn as paths so no font is needed to view them):
posture over time, machine-room climate, UPS runtime, camera retention, coverage."""
from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from collector.i18n import translate  # noqa: E402
from collector.reports.timeline import sample  # noqa: E402
from collector.store.base import Store  # noqa: E402

matplotlib.rcParams.update({"font.family": ["Noto Sans CJK SC", "Noto Serif CJK SC", "DejaVu Sans"],
                            "svg.fonttype": "path", "axes.unicode_minus": False, "font.size": 8,
                            "svg.hashsalt": "clausewatch"})
_COLORS = {"pass": "#2e7d32", "excepted": "#8e24aa", "unknown": "#9e9e9e", "fail": "#c62828", "no_data": "#e0e0e0"}
SAMPLES = 240
MAX_ZONES = 25


def series(store: Store, kind: str, start: datetime, end: datetime, fields: Sequence[str],
           site: str | None = None) -> dict[str, list[tuple[datetime, dict[str, Any]]]]:
    """Per subject, (time, {field: value}) of one observation kind in the period, oldest first."""
    out: dict[str, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    for subject, ts, payload in store.payload_series(kind, start, end, site):
        out[subject].append((datetime.fromtimestamp(ts, start.tzinfo),
                             {f: payload.get(f) for f in fields}))
    return out


def with_gaps(times: Sequence[datetime], values: Sequence[float | None]) -> tuple[list[datetime], list[float]]:
    """The series with a NaN where samples stop for over three usual intervals, so an outage is drawn as a gap
    (matplotlib breaks a line at NaN) instead of a straight line across it."""
    steps = sorted((b - a).total_seconds() for a, b in zip(times, times[1:], strict=False) if b > a)
    limit = 3 * steps[len(steps) // 2] if steps else float("inf")
    ts: list[datetime] = []
    vs: list[float] = []
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        if i and (t - times[i - 1]).total_seconds() > limit:
            ts.append(times[i - 1] + (t - times[i - 1]) / 2)
            vs.append(float("nan"))
        ts.append(t)
        vs.append(float("nan") if v is None else float(v))
    return ts, vs


def _legend_below(ax: Any, *more: Any) -> None:
    """One legend under the plot, so it never covers a line."""
    handles, names = ax.get_legend_handles_labels()
    for other in more:
        h, n = other.get_legend_handles_labels()
        handles, names = handles + h, names + n
    ax.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=min(len(names), 6), fontsize=7,
              frameon=False)


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


# tick label formats by the spacing of the ticks (in days): the site's YYYY-MM-DD HH:mm, shortened
_DATE_FORMATS = {365.0: "%Y", 30.0: "%Y-%m", 1.0: "%m-%d", 1 / 24: "%m-%d %H:%M", 1 / 1440: "%H:%M"}


def _fig(title: str, lang: str, tz: ZoneInfo) -> tuple[Figure, Any]:
    """A time chart whose axis reads in the site's zone (matplotlib would show UTC) and says so."""
    fig, ax = plt.subplots(figsize=(7.2, 2.6))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    locator = mdates.AutoDateLocator(tz=tz, maxticks=10)
    formatter = mdates.AutoDateFormatter(locator, tz=tz)
    formatter.scaled = dict(_DATE_FORMATS)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel(translate("axis_time", lang, tz=tz.key))
    fig.autofmt_xdate()
    return fig, ax


def posture_chart(results: Sequence[Any], start: datetime, end: datetime, lang: str,
                  tz: ZoneInfo) -> str:
    step = (end - start) / SAMPLES
    times = [start + step * i for i in range(SAMPLES)]
    counts = {s: [0] * SAMPLES for s in _COLORS}
    for r in results:
        for i, st in enumerate(sample(r.segments, times)):
            if st in counts:
                counts[st][i] += 1
    fig, ax = _fig(translate("posture_chart", lang), lang, tz)
    ax.stackplot(times, *[counts[s] for s in _COLORS], labels=[translate(s, lang) for s in _COLORS],
                 colors=list(_COLORS.values()), alpha=0.85)
    _legend_below(ax)
    ax.set_ylim(0, max(1, len(results)))
    ax.set_ylabel(translate("axis_controls", lang))
    return _svg(fig)


def limits(results: Sequence[Any]) -> dict[str, Any]:
    """The catalog's thresholds (whatever the site configured) for the charts' reference lines."""
    out: dict[str, Any] = {"min_temp_c": 18.0, "max_temp_c": 27.0, "max_rh_pct": 60.0, "min_runtime_s": 1800,
                           "retention_days": 90, "min_fraction": 0.9}
    for r in results:
        out.update({k: v for k, v in r.control.params.items() if k in out})
    return out


def climate_chart(store: Store, start: datetime, end: datetime, lang: str,
                  lim: dict[str, Any]) -> str | None:
    data = series(store, "climate.reading", start, end, ("temperature_c", "humidity_pct"), lim["site"])
    if not data:
        return None
    fig, ax = _fig(translate("climate_chart", lang), lang, lim["tz"])
    ax2 = ax.twinx()
    for sensor, pts in sorted(data.items()):
        ts = [t for t, _ in pts]
        ax.plot(*with_gaps(ts, [v["temperature_c"] for _, v in pts]), lw=0.8,
                label=translate("chart_sensor_temperature", lang, sensor=sensor))
        ax2.plot(*with_gaps(ts, [v["humidity_pct"] for _, v in pts]), lw=0.8, ls="--",
                 label=translate("chart_sensor_humidity", lang, sensor=sensor))
    ax.axhspan(lim["min_temp_c"], lim["max_temp_c"], color="#2e7d32", alpha=0.06)
    ax.set_ylabel(translate("axis_temperature", lang))
    ax2.set_ylabel(translate("axis_humidity", lang))
    ax2.axhline(lim["max_rh_pct"], color="#c62828", lw=0.6)
    _legend_below(ax, ax2)
    return _svg(fig)


def ups_chart(store: Store, start: datetime, end: datetime, lang: str,
              lim: dict[str, Any]) -> str | None:
    data = series(store, "ups.status", start, end, ("battery_runtime_s",), lim["site"])
    if not data:
        return None
    fig, ax = _fig(translate("ups_chart", lang), lang, lim["tz"])
    for ups, pts in sorted(data.items()):
        runtime_min = [None if v["battery_runtime_s"] is None else v["battery_runtime_s"] / 60 for _, v in pts]
        ax.plot(*with_gaps([t for t, _ in pts], runtime_min), lw=1, label=ups)
    need_min = float(lim["min_runtime_s"]) / 60
    ax.axhline(need_min, color="#c62828", lw=0.8, label=f"{need_min:g} " + translate("unit_min", lang))
    ax.set_ylabel(translate("axis_runtime", lang))
    ax.set_ylim(bottom=0)
    _legend_below(ax)
    return _svg(fig)


def retention_chart(store: Store, start: datetime, end: datetime, lang: str,
                    lim: dict[str, Any]) -> str | None:
    data = series(store, "camera.retention", start, end, ("days",), lim["site"])
    if not data:
        return None
    by_day: dict[datetime, list[float]] = defaultdict(list)
    for pts in data.values():
        for t, v in pts:
            if v["days"] is not None:
                by_day[t.replace(minute=0, second=0, microsecond=0)].append(float(v["days"]))
    ts = sorted(by_day)
    fig, ax = _fig(translate("retention_chart", lang), lang, lim["tz"])
    ax.plot(ts, [min(by_day[t]) for t in ts], lw=1, label=translate("chart_minimum", lang))
    ax.plot(ts, [median(by_day[t]) for t in ts], lw=1, label=translate("chart_median", lang))
    ax.axhline(lim["retention_days"], color="#c62828", lw=0.8, label=str(lim["retention_days"]))
    ax.set_ylabel(translate("axis_days_kept", lang))
    _legend_below(ax)
    return _svg(fig)


def coverage_chart(store: Store, start: datetime, end: datetime, lang: str,
                   lim: dict[str, Any]) -> str | None:
    data = series(store, "zone.coverage", max(start, end - timedelta(days=2)), end, ("fraction",), lim["site"])
    if not data:
        return None
    title = translate("coverage_chart", lang)
    latest = {z: 100 * float(pts[-1][1]["fraction"] or 0) for z, pts in data.items()}
    # the least covered zones first; a big floor plan shows only the worst MAX_ZONES
    zones = sorted(latest, key=lambda z: (latest[z], z))[:MAX_ZONES][::-1]
    if len(latest) > len(zones):
        title += f" ({len(zones)} / {len(latest)})"
    fig, ax = plt.subplots(figsize=(7.2, 0.22 * len(zones) + 1))
    ax.set_title(title)
    vals = [latest[z] for z in zones]
    need = 100 * float(lim["min_fraction"])
    ax.barh(zones, vals, color=["#2e7d32" if v >= need else "#c62828" for v in vals])
    ax.axvline(need, color="#c62828", lw=0.8)
    ax.set_xlim(0, 100)
    ax.set_xlabel(translate("axis_covered", lang))
    ax.set_ylabel(translate("axis_zone", lang))
    return _svg(fig)


def floorplan(store: Store, end: datetime, site: str | None = None) -> str | None:
    """The camera worker's latest floor plan (zones coloured by coverage) at the period end, if any;
    a site's plan is about the whole site: its subject is ("site", <site>)."""
    plans = store.observations(kind="camera.floorplan", until=end + timedelta(seconds=1), limit=1,
                               subject_kind="site", subject_id=site)
    if not plans or not plans[0].evidence:
        return None
    data = store.get_evidence(plans[0].evidence[0].sha256)
    return data.decode("utf-8", errors="replace") if data else None


def all_charts(store: Store, results: Sequence[Any], start: datetime, end: datetime,
               lang: str, site: str | None = None, tz: ZoneInfo | None = None) -> dict[str, str]:
    """Every chart the period has data for, in `lang`; times on their axes in `tz` (the site's zone)."""
    tz = tz or ZoneInfo("Asia/Shanghai")
    out = {"posture": posture_chart(results, start, end, lang, tz)}
    lim = {**limits(results), "site": site, "tz": tz}
    for name, fn in (("climate", climate_chart), ("ups", ups_chart), ("retention", retention_chart),
                     ("coverage", coverage_chart)):
        svg = fn(store, start, end, lang, lim)
        if svg:
            out[name] = svg
    plan = floorplan(store, end, site)
    if plan:
        out["floorplan"] = plan
    return out
