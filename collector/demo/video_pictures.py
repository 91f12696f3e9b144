"""Pictures of the simulated CCTV: the frames its cameras see (an office or a machine room, with a
fault injected), and what the camera worker ships: a JPEG thumbnail per camera (a frame with the
camera's name burnt in) and the floor plan coloured by coverage (SVG, then PNG).

Both are cached per camera state, so months of history store a handful of attachments.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

PLAN_FLOOR_M = (8.0, 6.0)  # each work floor on the simulated plan, width x depth
PLAN_SIDE_M = 6.0  # width of the column holding the machine room and the storage


def office_scene(seed: int, h: int = 180, w: int = 320) -> np.ndarray:
    """A quiet office as a camera sees it: walls, desks, a door, sensor noise."""
    import cv2

    img = np.full((h, w, 3), (88, 98, 106), np.uint8)
    cv2.rectangle(img, (0, int(h * 0.62)), (w, h), (56, 64, 74), -1)
    for i, x in enumerate(range(20, w - 60, 70)):
        cv2.rectangle(img, (x, int(h * 0.5)), (x + 50, int(h * 0.7)), (40 + 10 * i, 46, 52), -1)
        cv2.rectangle(img, (x + 15, int(h * 0.35)), (x + 38, int(h * 0.5)), (30, 30, 34), -1)
    cv2.rectangle(img, (w - 50, int(h * 0.15)), (w - 15, int(h * 0.62)), (98, 122, 138), -1)
    noise = np.random.default_rng(seed).normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def fault_frame(fault: str, i: int, scene: np.ndarray | None = None) -> np.ndarray:
    """Sample `i` of a camera showing `scene` (default: the office) with `fault` injected."""
    import cv2

    frame = scene.copy() if scene is not None else office_scene(0 if fault == "frozen" else i)
    if fault == "occluded":
        frame[:, : int(frame.shape[1] * 0.85)] = 120
    elif fault == "blurred":
        frame = cv2.GaussianBlur(frame, (0, 0), 4)
    elif fault == "moved":
        shift = np.array([[1.0, 0, 40], [0, 1.0, 18]], np.float32)
        frame = cv2.warpAffine(frame, shift, (frame.shape[1], frame.shape[0]), borderMode=cv2.BORDER_REFLECT)
    return frame


def _racks(seed: int, h: int = 180, w: int = 320) -> np.ndarray:
    """A machine room: a row of server racks with status lights, a raised floor, sensor noise."""
    import cv2

    img = np.full((h, w, 3), (70, 74, 78), np.uint8)
    cv2.rectangle(img, (0, int(h * 0.75)), (w, h), (120, 124, 126), -1)
    for x in range(15, w - 40, 60):
        cv2.rectangle(img, (x, int(h * 0.12)), (x + 45, int(h * 0.78)), (28, 28, 30), -1)
        for y in range(int(h * 0.16), int(h * 0.74), 9):
            cv2.line(img, (x + 4, y), (x + 41, y), (52, 52, 56), 1)
            cv2.circle(img, (x + 38, y + 3), 1, (60, 200, 80) if (x + y) % 3 else (40, 160, 230), -1)
    noise = np.random.default_rng(seed).normal(0, 4, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


@lru_cache(maxsize=64)
def thumbnail(cam: str, index: int, fault: str, machine_room: bool) -> bytes:
    """The camera's last sampled frame as the worker attaches it (camera.worker.thumbnail_jpeg)."""
    import cv2

    from camera.worker import thumbnail_jpeg

    frame = fault_frame(fault, 3, _racks(index) if machine_room else None)
    if index % 2:
        frame = np.ascontiguousarray(frame[:, ::-1])  # cameras face the room from either side
    cv2.putText(frame, cam.upper(), (8, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
    return thumbnail_jpeg(frame)


def plan_site(site_name: str, zones: tuple[str, ...], cams: tuple[str, ...]) -> Any:
    """The simulated site as a site.yaml would describe it: work floors two abreast, the machine room and the
    storage in a side column, each zone watched by one camera from a corner (zone i by camera i mod n)."""
    from camera.site import Site

    floors = [z for z in zones if z.startswith("floor-")]
    fw, fd = PLAN_FLOOR_M
    rows = max(1, math.ceil(len(floors) / 2))
    boxes: dict[str, tuple[float, float, float, float]] = {
        z: ((i % 2) * fw, (i // 2) * fd, fw, fd) for i, z in enumerate(floors)}
    side_h = rows * fd / 2
    boxes["machine-room"] = (2 * fw, side_h, PLAN_SIDE_M, side_h)
    boxes["storage"] = (2 * fw, 0.0, PLAN_SIDE_M, side_h)
    names = {"machine-room": ("机房", "Machine room", "machine_room"), "storage": ("档案室", "Storage", "storage")}
    zone_rows = []
    for z in zones:
        x, y, w, h = boxes[z]
        n = z.rsplit("-", 1)[-1]
        zh, en, kind = names.get(z, (f"{n}号作业区", f"Work floor {n}", "work_floor"))
        zone_rows.append({"id": z, "name": {"zh": zh, "en": en}, "kind": kind,
                          "polygon": [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]})
    cam_rows = []
    for i, cam in enumerate(cams):
        watched = [z for k, z in enumerate(zones) if k % len(cams) == i]
        x, y, w, h = boxes[watched[0]]
        # mounted in a corner, it sees its zones whole (walls stop the view): the cone only marks where it hangs
        view = {"position": [x + 0.3, y + 0.3], "heading_deg": 45, "fov_deg": 90, "range_m": 1.5}
        cam_rows.append({"id": cam, "source": f"rtsp://10.0.0.{21 + i}/stream1", "view": view, "zones": watched})
    return Site.model_validate({"site": site_name, "zones": zone_rows, "cameras": cam_rows})


@lru_cache(maxsize=32)
def floorplan(site_name: str, zones: tuple[str, ...], cams: tuple[str, ...],
              state: tuple[tuple[str, float, str], ...], min_fraction: float = 0.9) -> tuple[bytes, bytes, dict]:
    """(SVG, PNG, payload) of the plan for one coverage state: per zone (zone, fraction, why not covered)."""
    from camera.floorplan import render_png, render_svg

    site = plan_site(site_name, zones, cams)
    rows: list[dict[str, Any]] = [{"zone": z, "fraction": f, "covered": f >= min_fraction, "must_cover": True,
                                   "reason": why} for z, f, why in state]
    blind = [r for r in rows if not r["covered"]]
    unhealthy = {why.split(":")[0]: why.split(": ", 1)[-1] for _, _, why in state if why}
    coverage = {"zones": rows, "blind_spots": blind, "ok": not blind,
                "coverage_pct": round(100 * (len(rows) - len(blind)) / max(len(rows), 1), 1),
                "cameras": [{"camera": c, "healthy": c not in unhealthy, "why": unhealthy.get(c, "")} for c in cams]}
    payload = {"coverage_pct": coverage["coverage_pct"], "ok": not blind, "blind_spots": [r["zone"] for r in blind]}
    return render_svg(site, coverage).encode("utf-8"), render_png(site, coverage), payload
