"""site.yaml: the floor plan's zones, the cameras and what they see, their recording stores, thresholds.

Validated with pydantic; every error names the file, the line and the key.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ZoneKind = Literal["work_floor", "machine_room", "storage", "door", "entrance"]
Point = tuple[float, float]


class SiteError(ValueError):
    """site.yaml is wrong; the message is 'file:line: key: problem'."""


class Name(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


def _polygon(points: list[Point]) -> list[Point]:
    from shapely.geometry import Polygon

    if len(points) < 3:
        raise ValueError("a polygon needs at least 3 points [x, y] in metres")
    poly = Polygon(points)
    if not poly.is_valid or poly.area <= 0:
        raise ValueError("the polygon crosses itself or has no area")
    return points


class Zone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: Name
    kind: ZoneKind
    polygon: list[Point]
    must_cover: bool = True

    _check_polygon = field_validator("polygon")(_polygon)


class View(BaseModel):
    """A camera's view cone on the floor plan: apex at the camera, heading and spread in degrees, range in metres."""

    model_config = ConfigDict(extra="forbid")
    position: Point
    heading_deg: float
    fov_deg: float = Field(gt=0, le=360)
    range_m: float = Field(gt=0)


class Recording(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1)
    layout: str = "frigate"
    camera: str | None = None  # the camera's name inside the store, when it differs from its id


class Camera(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    source: str = Field(min_length=1)
    fps: float | None = Field(default=None, gt=0)
    zones: list[str] = Field(default_factory=list)  # zones it sees whole
    view: View | None = None
    polygon: list[Point] | None = None  # what it sees on the floor plan, when not a cone
    reference: str | None = None  # reference image from `camera enroll`
    recording: Recording | None = None

    @field_validator("polygon")
    @classmethod
    def _valid_polygon(cls, v: list[Point] | None) -> list[Point] | None:
        return None if v is None else _polygon(v)

    @model_validator(mode="after")
    def _sees_something(self) -> Camera:
        if not self.zones and self.view is None and self.polygon is None:
            raise ValueError("a camera needs zones, view or polygon to say what it sees")
        return self


class SiteThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # None: the catalog's (zone_covered min_fraction); a site may only ask more
    coverage_min_fraction: float | None = Field(default=None, gt=0, le=1)
    retention_days: float = Field(default=92, gt=0)
    gap_minutes: float = Field(default=10, ge=0)
    fault_window_s: float = Field(default=3, gt=0)
    low_fps_ratio: float = Field(default=0.6, gt=0, le=1)
    probe_seconds: float = Field(default=10, gt=0)


class Site(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site: str = "default"
    zones: list[Zone] = Field(min_length=1)
    cameras: list[Camera] = Field(default_factory=list)
    thresholds: SiteThresholds = Field(default_factory=SiteThresholds)
    floorplan_svg: str | None = None  # the worker redraws the floor plan here after every round
    floorplan_png: str | None = None  # the same plan as a PNG picture
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _references(self) -> Site:
        zone_ids = [z.id for z in self.zones]
        for kind, ids in (("zone", zone_ids), ("camera", [c.id for c in self.cameras])):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(dup)}")
        return self

    def zone(self, zone_id: str) -> Zone:
        return next(z for z in self.zones if z.id == zone_id)

    def resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.base_dir / p


def _node_at(node: yaml.Node, loc: tuple[Any, ...]) -> yaml.Node:
    """Follow a pydantic error location into the YAML node tree as far as it goes."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                return node
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node


def load_site(path: Path) -> Site:
    """Read and validate site.yaml; raise SiteError naming file, line and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SiteError(f"{path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise SiteError(f"{path}:1: not UTF-8 text ({e.reason})") from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as e:  # RecursionError: hostile nesting
        mark = getattr(e, "problem_mark", None)
        raise SiteError(f"{path}:{mark.line + 1 if mark else 1}: YAML: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(data, dict) or root is None:
        raise SiteError(f"{path}:1: the file must be a mapping with zones and cameras")
    try:
        site = Site.model_validate({**data, "base_dir": path.parent})
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        node = _node_at(root, loc)
        key = ".".join(str(p) for p in loc) or "site"
        more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        raise SiteError(f"{path}:{node.start_mark.line + 1}: {key}: {err['msg'].removeprefix('Value error, ')}{more}") \
            from None
    zone_ids = {z.id for z in site.zones}
    for i, cam in enumerate(site.cameras):
        unknown = [z for z in cam.zones if z not in zone_ids]
        if unknown:
            node = _node_at(root, ("cameras", i, "zones"))
            line = node.start_mark.line + 1
            raise SiteError(f"{path}:{line}: cameras.{i}.zones: unknown zone(s) {', '.join(unknown)}")
    return site
