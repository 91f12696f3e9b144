"""The floor plan as plain SVG: zones coloured by coverage, camera view cones, camera marks; PNG rendered
from that same SVG (cairosvg), so both pictures always agree."""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from camera.floor_coverage import camera_view
from camera.site import Site

SCALE_PX_PER_M = 40
MARGIN_PX = 30
COLOURS = {"covered": "#7fc97f", "blind": "#f0746e", "free": "#d9d9d9"}


def _rings(geom: BaseGeometry) -> list[list[tuple[float, float]]]:
    polys = list(getattr(geom, "geoms", [geom]))
    return [list(p.exterior.coords) for p in polys if isinstance(p, Polygon) and not p.is_empty]


def render_svg(site: Site, coverage: dict[str, Any]) -> str:
    """An SVG picture of the site; y grows north (up), as on an architect's plan."""
    plan = unary_union([Polygon(z.polygon) for z in site.zones])
    x0, y0, x1, y1 = plan.bounds
    width = (x1 - x0) * SCALE_PX_PER_M + 2 * MARGIN_PX
    height = (y1 - y0) * SCALE_PX_PER_M + 2 * MARGIN_PX + 20

    def pt(x: float, y: float) -> str:
        return f"{(x - x0) * SCALE_PX_PER_M + MARGIN_PX:.1f},{(y1 - y) * SCALE_PX_PER_M + MARGIN_PX:.1f}"

    def path(ring: list[tuple[float, float]]) -> str:
        return " ".join(pt(x, y) for x, y in ring)

    by_zone = {z["zone"]: z for z in coverage["zones"]}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'font-family="Noto Sans CJK SC, sans-serif" font-size="12">',
           f'<title>{escape(site.site)}: {coverage["coverage_pct"]:.0f}% of zones covered</title>']
    for zone in site.zones:
        z = by_zone[zone.id]
        colour = COLOURS["covered" if z["covered"] else "blind" if zone.must_cover else "free"]
        out.append(f'<polygon class="zone" data-zone="{escape(zone.id)}" points="{path(zone.polygon)}" '
                   f'fill="{colour}" stroke="#333" stroke-width="1.5"><title>{escape(zone.name.zh)} / '
                   f'{escape(zone.name.en)}: {z["fraction"]:.0%}</title></polygon>')
        c = Polygon(zone.polygon).representative_point()
        out.append(f'<text x="{pt(c.x, c.y).split(",")[0]}" y="{pt(c.x, c.y).split(",")[1]}" text-anchor="middle">'
                   f'{escape(zone.name.zh)} {z["fraction"]:.0%}</text>')
    health = {c["camera"]: c for c in coverage.get("cameras", [])}
    for cam in site.cameras:
        ok = health.get(cam.id, {}).get("healthy", True)
        colour = "#3b6fb6" if ok else "#8c2d2d"
        for ring in _rings(camera_view(cam, site).intersection(plan)):  # walls stop the view
            out.append(f'<polygon class="view" data-camera="{escape(cam.id)}" points="{path(ring)}" '
                       f'fill="{colour}" fill-opacity="{0.15 if ok else 0.05}" stroke="{colour}" '
                       f'stroke-dasharray="4 3"><title>{escape(cam.id)} {escape(health.get(cam.id, {}).get("why", ""))}'
                       '</title></polygon>')
        if cam.view is not None:
            x, y = pt(*cam.view.position).split(",")
            out.append(f'<circle cx="{x}" cy="{y}" r="5" fill="#3b6fb6"/>'
                       f'<text x="{x}" y="{float(y) - 8:.1f}" text-anchor="middle">{escape(cam.id)}</text>')
    out.append(f'<text x="{MARGIN_PX}" y="{height - 8:.0f}">覆盖 / covered {coverage["coverage_pct"]:.0f}%, '
               f'盲区 / blind spots: {len(coverage["blind_spots"])}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


PLAN_FORMATS = (".svg", ".png")


def render_png(site: Site, coverage: dict[str, Any]) -> bytes:
    """The SVG plan rasterised at its own pixel size (Cairo; CJK names through fontconfig's Noto Sans CJK)."""
    import cairosvg

    png = cairosvg.svg2png(bytestring=render_svg(site, coverage).encode("utf-8"), background_color="white")
    assert isinstance(png, bytes)
    return png


def write_plan(out: Path, site: Site, coverage: dict[str, Any], suffix: str | None = None) -> None:
    """Write the plan as SVG or PNG by `suffix` (default: the file's extension); replaced atomically, so a
    reader never sees half a picture. Raises ValueError for another format."""
    suffix = suffix or out.suffix.lower()
    if suffix not in PLAN_FORMATS:
        raise ValueError(f"{out}: the floor plan is written as .svg or .png")
    data = render_svg(site, coverage).encode("utf-8") if suffix == ".svg" else render_png(site, coverage)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
