"""The camera worker: probe every camera with a bounded pool, scan retention daily, ship observations
through the shared spooled sink (a round survives the collector being away)."""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from agents.shipping.http import HttpError
from agents.shipping.sink import HttpSink, ShipError
from camera.floor_coverage import CameraState, compute_coverage, state_from_probe
from camera.health import Thresholds
from camera.layouts import LayoutError, parse_layout
from camera.probe import BadReference, ProbeOptions, load_reference, probe
from camera.retention import RetentionOptions, scan_store
from camera.site import Camera, Site
from rules.model import EvidenceRef, Observation

log = logging.getLogger("clausewatch.camera")
SOURCE = "camera-worker"
THUMB_WIDTH = 320


def thumbnail_jpeg(frame: Any, width: int = THUMB_WIDTH) -> bytes:
    """A small JPEG of a BGR frame for the dashboard's camera grid."""
    import cv2

    h, w = frame.shape[:2]
    if w > width:
        frame = cv2.resize(frame, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 75])
    return buf.tobytes() if ok else b""


class Worker:
    def __init__(self, site: Site, sink: HttpSink, *, min_fraction: float, workers: int = 2,
                 site_tz: str = "Asia/Shanghai", clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        """`min_fraction`: the catalog's coverage requirement (camera.floor_coverage.required_fraction)."""
        self.site, self.sink, self.workers, self.clock = site, sink, workers, clock
        self.min_fraction = min_fraction
        self.tz = ZoneInfo(site_tz)
        self.last_retention: datetime | None = None
        self._thumbs: dict[str, bytes] = {}  # camera -> JPEG of the last frame sampled this round

    def _obs(self, kind: str, subject_kind: str, subject_id: str, payload: dict[str, Any], at: datetime) -> Observation:
        return Observation(source=SOURCE, site=self.site.site, subject_kind=subject_kind,  # type: ignore[arg-type]
                           subject_id=subject_id, kind=kind, observed_at=at, payload=payload)

    def probe_camera(self, cam: Camera) -> dict[str, Any]:
        th = self.site.thresholds
        limits = Thresholds(window_s=th.fault_window_s, low_fps_nominal_ratio_min=th.low_fps_ratio)
        opts = ProbeOptions(seconds=th.probe_seconds, nominal_fps=cam.fps, thresholds=limits)
        ref = baseline = None
        if cam.reference:
            try:
                ref, baseline = load_reference(self.site.resolve(cam.reference))
            except BadReference as e:
                log.warning("camera %s: %s", cam.id, e)
        try:
            frame: list[Any] = []
            result = probe(cam.source, opts, reference=ref, baseline=baseline, last_frame=frame)
            if frame:
                self._thumbs[cam.id] = thumbnail_jpeg(frame[0])
            return result
        except Exception as e:  # one broken camera must not stop the round
            log.warning("camera %s: probe failed: %s", cam.id, e)
            return {"source": cam.source, "online": False, "fps": 0.0, "frames": 0, "faults": ["offline"],
                    "metrics": {}}

    def retention(self, cam: Camera, at: datetime, scans: dict[tuple[str, str], dict[str, Any]]
                  ) -> dict[str, Any] | None:
        """This camera's part of its recording store's audit; each store is scanned once per round (`scans`)."""
        if cam.recording is None:
            return None
        th = self.site.thresholds
        root = self.site.resolve(cam.recording.path)
        key = (str(root), cam.recording.layout)
        if key not in scans:
            try:
                layout = parse_layout(cam.recording.layout, self.tz)
            except LayoutError as e:
                log.warning("camera %s: %s", cam.id, e)
                return None
            opts = RetentionOptions(days=th.retention_days, gap_s=th.gap_minutes * 60)
            scans[key] = scan_store(root, layout, opts, at.astimezone(self.tz))
        result = scans[key]
        name = cam.recording.camera or cam.id
        mine = next((c for c in result["cameras"] if c["camera"] == name), None)
        if mine is None:
            return {"oldest": None, "newest": None, "days": 0.0, "continuous_days": 0.0, "gaps": [],
                    "unreadable": [], "forecast_days": None, "ok": False, "root": str(root)}
        return {**mine, "forecast": result["forecast"], "forecast_days": result["forecast"]["capacity_days"],
                "retention_days": th.retention_days}

    def round(self) -> dict[str, Any]:
        """One pass: probes, coverage, retention when a day has passed; ships everything."""
        at = self.clock()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            probes = dict(zip([c.id for c in self.site.cameras],
                              pool.map(self.probe_camera, self.site.cameras), strict=True))
        obs = [self._with_thumbnail(self._obs("camera.health", "camera", cid, p, at), cid)
               for cid, p in probes.items()]
        states: dict[str, CameraState] = {cid: state_from_probe(p) for cid, p in probes.items()}
        cov = compute_coverage(self.site, states, min_fraction=self.min_fraction)
        self._draw(cov)
        obs.append(self._floorplan(cov, at))
        asked = self.site.thresholds.coverage_min_fraction
        site_asks = {"min_fraction": asked} if asked is not None else {}
        for z in cov["zones"]:
            obs.append(self._obs("zone.coverage", "zone", z["zone"], {
                "fraction": z["fraction"], "cameras": z["cameras"], "expected": z["expected"],
                "must_cover": z["must_cover"], "reason": z["reason"], "why": z["why"]} | site_asks, at))
        if self.last_retention is None or at - self.last_retention >= timedelta(days=1):
            scans: dict[tuple[str, str], dict[str, Any]] = {}
            for cam in self.site.cameras:
                r = self.retention(cam, at, scans)
                if r is not None:
                    obs.append(self._obs("camera.retention", "camera", cam.id, r, at))
            self.last_retention = at
        spooled = self.ship(obs)
        healthy = all(s.healthy for s in states.values())
        return {"at": at.isoformat(), "observations": len(obs), "spooled": spooled, "probes": probes,
                "coverage_pct": cov["coverage_pct"], "ok": healthy and cov["ok"]}

    def _upload(self, data: bytes, name: str, media_type: str) -> list[EvidenceRef]:
        """The attachment stored by the collector, or none when it cannot take it now: the observation
        itself still goes (through the spool), only its picture is missing."""
        digest = hashlib.sha256(data).hexdigest()
        try:
            r = self.sink.client.request("PUT", f"/api/v1/blobs/{digest}?name={quote(name)}", data,
                                         {"Content-Type": media_type, "Authorization": f"Bearer {self.sink.token()}"})
        except (HttpError, ShipError) as e:
            log.warning("attachment %s not uploaded: %s", name, e)
            return []
        if r.status_code >= 400:
            log.warning("attachment %s not uploaded: HTTP %d %s", name, r.status_code, r.text[:200])
            return []
        return [EvidenceRef(sha256=digest, name=name, media_type=media_type, size=len(data))]

    def _with_thumbnail(self, obs: Observation, camera: str) -> Observation:
        """Attach the camera's last sampled frame (the dashboard's thumbnail), when there is one."""
        jpeg = self._thumbs.pop(camera, None)
        if jpeg:
            obs.evidence = self._upload(jpeg, f"{camera}.jpg", "image/jpeg")
        return obs

    def _floorplan(self, coverage: dict[str, Any], at: datetime) -> Observation:
        """The floor plan coloured by this round's coverage, uploaded as attachments (dashboard, reports):
        the SVG first, then the same picture as PNG."""
        from camera.floorplan import render_png, render_svg

        svg = render_svg(self.site, coverage).encode()
        obs = self._obs("camera.floorplan", "site", self.site.site, {
            "coverage_pct": coverage["coverage_pct"], "ok": coverage["ok"],
            "blind_spots": [z["zone"] for z in coverage["zones"] if z["must_cover"] and not z["covered"]]}, at)
        obs.evidence = self._upload(svg, "floorplan.svg", "image/svg+xml")
        try:
            png = render_png(self.site, coverage)
        except (ImportError, OSError) as e:  # Cairo missing: the SVG still goes, the round must not stop
            log.warning("floor plan PNG not rendered: %s", e)
        else:
            obs.evidence += self._upload(png, "floorplan.png", "image/png")
        return obs

    def _draw(self, coverage: dict[str, Any]) -> None:
        """Redraw the plan files site.yaml names (floorplan_svg, floorplan_png)."""
        from camera.floorplan import write_plan

        for name in (self.site.floorplan_svg, self.site.floorplan_png):
            if name:
                try:
                    write_plan(self.site.resolve(name), self.site, coverage)
                except (ImportError, OSError) as e:  # an unwritable folder or no Cairo: report, keep probing
                    log.warning("floor plan %s not written: %s", name, e)

    def ship(self, obs: list[Observation]) -> int:
        """Spool this round's observations, then deliver what the spool holds; returns how many still wait."""
        try:
            self.sink.send(obs)
        except ShipError as e:
            log.warning("collector unreachable: %s", e)
        return self.sink.pending()

    def forever(self, interval_s: float, sleep: Callable[[float], None] = time.sleep) -> None:
        while True:
            started = time.monotonic()
            try:
                self.round()
            except Exception:  # the worker must outlive one bad round; the next one may succeed
                log.exception("camera round failed")
            sleep(max(0.0, interval_s - (time.monotonic() - started)))
