"""Charts drawn on the server as inline SVG: they need no script and no library, and print well."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

COLOURS = ("#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c")  # legend keys: .key.c0 … .c4 in style.css


def sparkline(values: Sequence[float | None], *, label: str, width_px: int = 120, height_px: int = 24,
              top: float | None = None, color: str = "#b42318") -> Markup:
    """A small line of `values` (None = no data) scaled to [0, top] in `color` (the status it shows); its label
    is read out by screen readers."""
    known = [v for v in values if v is not None]
    if not known:
        return Markup(f'<svg class="spark" width="{width_px}" height="{height_px}" role="img" '
                      f'aria-label="{escape(label)}"><title>{escape(label)}</title></svg>')
    top = top if top is not None else max(max(known), 1e-9)
    step = width_px / max(len(values) - 1, 1)
    pts = [f"{i * step:.1f},{height_px - 2 - (v / top if top else 0) * (height_px - 4):.1f}"
           for i, v in enumerate(values) if v is not None]
    last = pts[-1].split(",")
    return Markup(
        f'<svg class="spark" width="{width_px}" height="{height_px}" viewBox="0 0 {width_px} {height_px}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<polyline fill="none" stroke="{escape(color)}" stroke-width="1.5" points="{" ".join(pts)}"/>'
        f'<circle cx="{last[0]}" cy="{last[1]}" r="2" fill="{escape(color)}"/></svg>')


def bar_pct(fraction: float | None, *, threshold: float | None = None) -> Markup:
    """A horizontal bar for a fraction in [0, 1], red under the threshold."""
    if fraction is None:
        return Markup('<span class="muted">—</span>')
    f = max(0.0, min(1.0, float(fraction)))
    bad = threshold is not None and f < threshold
    # drawn in SVG: a width given as a style attribute would need 'unsafe-inline' styles (web/headers.py)
    return Markup(f'<svg class="bar{" bad" if bad else ""}" viewBox="0 0 100 6" preserveAspectRatio="none" '
                  f'role="img" aria-label="{f:.0%}"><rect class="track" width="100" height="6"/>'
                  f'<rect class="fill" width="{f * 100:.0f}" height="6"/></svg> {f:.0%}')


def value_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """About `count` round values (1, 2, 2.5 or 5 times a power of ten apart) between low and high."""
    raw = (high - low) / count
    if raw <= 0:
        return [low]
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def runs(points: Sequence[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """The points split where samples stop for over three usual intervals: an outage is drawn as a gap."""
    steps = [b[0] - a[0] for a, b in zip(points, points[1:], strict=False) if b[0] > a[0]]
    limit = 3 * statistics.median(steps) if steps else math.inf
    out: list[list[tuple[float, float]]] = []
    for p in points:
        if out and p[0] - out[-1][-1][0] <= limit:
            out[-1].append(p)
        else:
            out.append([p])
    return out


@dataclass
class Series:
    label: str
    points: list[tuple[float, float]]  # (unix seconds, value)


@dataclass
class Chart:
    """A time chart with its thresholds drawn as dashed lines; the region outside them is shaded."""

    title: str
    unit: str
    series: list[Series]
    low: float | None = None
    high: float | None = None
    width_px: int = 560
    height_px: int = 180
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def _bounds(self) -> tuple[float, float, float, float]:
        xs = [x for s in self.series for x, _ in s.points]
        ys = [y for s in self.series for _, y in s.points] + [v for v in (self.low, self.high) if v is not None]
        y0, y1 = min(ys), max(ys)
        pad = (y1 - y0) * 0.1 or 1.0
        return min(xs), max(xs), y0 - pad, y1 + pad

    def svg(self) -> Markup:
        if not any(s.points for s in self.series):
            return Markup(f'<p class="muted">{escape(self.title)}: —</p>')
        x0, x1, y0, y1 = self._bounds()
        left, right, top, bottom = 44, 8, 8, 22
        w, h = self.width_px - left - right, self.height_px - top - bottom

        def px(x: float) -> float:
            return left + (x - x0) / ((x1 - x0) or 1) * w

        def py(y: float) -> float:
            return top + (1 - (y - y0) / ((y1 - y0) or 1)) * h

        parts = [f'<svg class="chart" viewBox="0 0 {self.width_px} {self.height_px}" role="img" '
                 f'aria-label="{escape(self.title)}"><title>{escape(self.title)}</title>',
                 f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="#fff" stroke="#d0d5dd"/>']
        if self.high is not None:
            parts.append(f'<rect x="{left}" y="{top}" width="{w}" height="{max(py(self.high) - top, 0):.1f}" '
                         f'fill="#fee4e2"/>')
        if self.low is not None:
            parts.append(f'<rect x="{left}" y="{py(self.low):.1f}" width="{w}" '
                         f'height="{max(top + h - py(self.low), 0):.1f}" fill="#fee4e2"/>')
        for tick in value_ticks(y0, y1):
            parts.append(f'<line x1="{left}" x2="{left + w}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" '
                         f'stroke="#eaecf0"/><text x="{left - 4}" y="{py(tick) + 4:.1f}" text-anchor="end" '
                         f'class="tick">{tick:g}</text>')
        for v in (self.low, self.high):
            if v is not None:
                parts.append(f'<line x1="{left}" x2="{left + w}" y1="{py(v):.1f}" y2="{py(v):.1f}" '
                             f'stroke="#b42318" stroke-dasharray="4 3"/><text x="{left - 4}" y="{py(v) + 4:.1f}" '
                             f'text-anchor="end" class="tick">{v:g}</text>')
        for i, s in enumerate(self.series):
            for run in runs(sorted(s.points)):
                pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in run)
                parts.append(f'<polyline fill="none" stroke="{COLOURS[i % len(COLOURS)]}" stroke-width="1.6" '
                             f'points="{pts}"><title>{escape(s.label)}</title></polyline>')
        for x, anchor in ((x0, "start"), (x1, "end")):
            stamp = datetime.fromtimestamp(x, self.tz).strftime("%m-%d %H:%M")
            parts.append(f'<text x="{px(x):.1f}" y="{self.height_px - 6}" text-anchor="{anchor}" '
                         f'class="tick">{stamp}</text>')
        parts.append(f'<text x="{left + 4}" y="{top + 12}" text-anchor="start" class="tick unit">'
                     f'{escape(self.unit)}</text></svg>')
        legend = "".join(f'<span class="key c{i % len(COLOURS)}">{escape(s.label)}</span>'
                         for i, s in enumerate(self.series))
        return Markup(f'<figure class="chart"><figcaption>{escape(self.title)} {legend}</figcaption>'
                      + "".join(parts) + "</figure>")
