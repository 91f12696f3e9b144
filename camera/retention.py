"""Audit a recording store: per camera oldest and newest footage, gaps, unreadable segments, capacity forecast."""
from __future__ import annotations

import os
import random
import shutil
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from camera.layouts import Layout

DAY_S = 86400.0


@dataclass
class RetentionOptions:
    days: float = 92.0
    gap_s: float = 600.0
    sample: int = 3  # segments per camera decoded to prove the footage is readable
    seed: int = 0


@dataclass
class Segment:
    path: str  # relative to the store root
    start: float  # epoch seconds
    end: float | None
    size: int


def decode_check(path: Path) -> float | None:
    """Decode one frame; the container's duration in seconds, or None when the file is unreadable."""
    import cv2

    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            return None
        ok, frame = cap.read()
        if not ok or frame is None:
            return None
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        frames = cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0
        return frames / fps if fps > 0 and frames > 0 else 0.0
    finally:
        cap.release()


def walk_dirs(root: str) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """Every folder under root as (relative path with '/', its regular files); scandir keeps this near `find`."""
    stack = [("", root)]
    while stack:
        rel, full = stack.pop()
        files: list[os.DirEntry[str]] = []
        try:
            with os.scandir(full) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        stack.append((f"{rel}/{e.name}" if rel else e.name, e.path))
                    elif e.is_file(follow_symlinks=False):
                        files.append(e)
        except OSError:
            continue
        yield rel, files


_FILE_SECONDS = {"s_M": 60.0, "s_S": 1.0}


def _in_hour_folders(layout: Layout) -> bool:
    """Folders give camera and hour, file names only minutes and seconds (frigate, ZoneMinder deep): then a
    file's start is its folder's start plus arithmetic, the fast path for stores of millions of segments."""
    if layout.dir_regex is None or layout.file_regex is None or layout.has_end or layout.start_from_mtime:
        return False
    names = set(layout.file_regex.groupindex)
    return names <= set(_FILE_SECONDS) and "camera" in layout.dir_regex.groupindex


def _segments_by_hour(root: Path, layout: Layout) -> Iterator[tuple[str, str, float]]:
    assert layout.dir_regex is not None and layout.file_regex is not None
    file_regex = layout.file_regex
    weights = [(name, _FILE_SECONDS[name]) for name in file_regex.groupindex]
    for rel_dir, files in walk_dirs(str(root)):
        dm = layout.dir_regex.fullmatch(rel_dir)
        if dm is None:
            continue
        groups = dm.groupdict()
        folder = layout.from_groups({**groups, **{n: "00" for n, _ in weights}})
        if folder is None or folder[1] is None:
            continue
        camera, base = folder[0], folder[1]
        for entry in files:
            fm = file_regex.fullmatch(entry.name)
            if fm is not None:
                yield camera, f"{rel_dir}/{entry.name}", base + sum(int(fm.group(n)) * w for n, w in weights)


def _segments(root: Path, layout: Layout) -> Iterator[tuple[str, str, os.DirEntry[str], float | None, float | None]]:
    """(camera, relative path, entry, start, end) of every file the layout names; each folder is matched once."""
    file_regex = layout.file_regex or layout.regex
    for rel_dir, files in walk_dirs(str(root)):
        if layout.dir_regex is None:
            if rel_dir:
                continue
            dir_groups: dict[str, str | None] = {}
        else:
            dm = layout.dir_regex.fullmatch(rel_dir)
            if dm is None:
                continue
            dir_groups = dm.groupdict()
        prefix = f"{rel_dir}/" if rel_dir else ""
        for entry in files:
            fm = file_regex.fullmatch(entry.name)
            if fm is None:
                continue
            parsed = layout.from_groups({**dir_groups, **fm.groupdict()})
            if parsed is not None:
                yield parsed[0], prefix + entry.name, entry, parsed[1], parsed[2]


def collect(root: Path, layout: Layout) -> dict[str, list[Segment]]:
    """Segments per camera, read from file names alone (ZoneMinder medium also needs each file's mtime)."""
    cams: dict[str, list[Segment]] = {}
    if _in_hour_folders(layout):
        for camera, rel, start_s in _segments_by_hour(root, layout):
            cams.setdefault(camera, []).append(Segment(rel, start_s, None, 0))
        return cams
    for camera, rel, entry, start, end in _segments(root, layout):
        if start is None:
            # the recorder closes the file when the segment ends; the start is fixed once its duration is known
            st = entry.stat(follow_symlinks=False)
            cams.setdefault(camera, []).append(Segment(rel, st.st_mtime, st.st_mtime, st.st_size))
        else:
            cams.setdefault(camera, []).append(Segment(rel, start, end, 0))
    return cams


def _fill_ends(segs: list[Segment], durations: dict[str, float]) -> None:
    """Segments named by start only last their decoded duration, else the camera's typical segment length."""
    steps = [b.start - a.start for a, b in zip(segs, segs[1:], strict=False) if b.start > a.start]
    typical = statistics.median(steps) if steps else 0.0
    known = [d for d in durations.values() if d > 0]
    if known:
        typical = statistics.median(known)
    for s in segs:
        if s.end is None:
            s.end = s.start + durations.get(s.path, typical)


def _starts_from_ends(segs: list[Segment], durations: dict[str, float]) -> None:
    """Names without a start time: the segment ends at its mtime and lasts its (or the typical) duration."""
    segs.sort(key=lambda s: s.end or s.start)
    steps = [(b.end or 0) - (a.end or 0) for a, b in zip(segs, segs[1:], strict=False) if (b.end or 0) > (a.end or 0)]
    known = [d for d in durations.values() if d > 0]
    typical = statistics.median(known) if known else statistics.median(steps) if steps else 0.0
    for s in segs:
        s.start = (s.end or s.start) - durations.get(s.path, typical)


def store_bytes(root: Path, segs: list[Segment], rng: random.Random, sample: int = 200) -> int:
    """Bytes a camera's footage takes, from the sizes of a random sample (stat-ing every file would be slow)."""
    if not segs:
        return 0
    picks = segs if len(segs) <= sample else rng.sample(segs, sample)
    sizes = []
    for s in picks:
        try:
            sizes.append(s.size or (root / s.path).stat().st_size)
        except OSError:
            continue
    return round(statistics.fmean(sizes) * len(segs)) if sizes else 0


def _iso(t: float, tz: Any) -> str:
    return datetime.fromtimestamp(t, tz).isoformat()


def audit_camera(camera: str, segs: list[Segment], root: Path, opt: RetentionOptions, now: datetime,
                 layout: Layout, decode: Callable[[Path], float | None] = decode_check) -> dict[str, Any]:
    rng = random.Random(f"{opt.seed}:{camera}")
    picks = rng.sample(segs, min(opt.sample, len(segs)))
    durations: dict[str, float] = {}
    unreadable: list[str] = []
    for s in picks:
        d = decode(root / s.path)
        if d is None:
            unreadable.append(str(root / s.path))  # as the user named the store
        else:
            durations[s.path] = d
    if layout.start_from_mtime:
        _starts_from_ends(segs, durations)
    segs.sort(key=lambda s: s.start)
    _fill_ends(segs, durations)
    tz = now.tzinfo
    now_s = now.timestamp()
    window_start = now_s - opt.days * DAY_S
    gaps: list[dict[str, str]] = []
    covered_to = segs[0].end or segs[0].start
    last_gap_end = segs[0].start
    for s in segs[1:]:
        if s.start - covered_to > opt.gap_s:
            gaps.append({"start": _iso(covered_to, tz), "end": _iso(s.start, tz)})
            last_gap_end = s.start
        covered_to = max(covered_to, s.end or s.start)
    # footage held and recording now are two facts: a recorder stopped for 40 minutes still holds its 92 days
    lag_s = max(0.0, now_s - covered_to)
    if lag_s > opt.gap_s:
        gaps.append({"start": _iso(covered_to, tz), "end": _iso(now_s, tz)})
    oldest, newest = segs[0].start, covered_to
    in_window = [g for g in gaps if datetime.fromisoformat(g["end"]).timestamp() > window_start]
    continuous = max(0.0, min(now_s, newest) - last_gap_end) / DAY_S
    ok = oldest <= window_start + opt.gap_s and not in_window and not unreadable
    return {"camera": camera, "oldest": _iso(oldest, tz), "newest": _iso(newest, tz),
            "days": round((newest - oldest) / DAY_S, 4), "continuous_days": round(continuous, 4),
            "recording_lag_s": round(lag_s), "gaps": gaps, "unreadable": unreadable, "segments": len(segs),
            "bytes": store_bytes(root, segs, rng), "ok": ok}


def forecast(root: Path, cameras: list[dict[str, Any]], opt: RetentionOptions, now: datetime,
             disk_usage: Callable[[Path], Any] = shutil.disk_usage) -> dict[str, Any]:
    """How many days the store holds when full (recorders delete the oldest), and when it fills."""
    used = sum(c["bytes"] for c in cameras)
    span = max((c["days"] for c in cameras), default=0.0)
    free = int(disk_usage(root).free)
    rate = used / span if span > 0 else 0.0
    if rate <= 0:
        return {"bytes_per_day": 0, "free_bytes": free, "capacity_days": None, "full_at": None, "ok": True}
    capacity = (used + free) / rate
    full_at = now + timedelta(days=free / rate)
    return {"bytes_per_day": round(rate), "free_bytes": free, "capacity_days": round(capacity, 2),
            "full_at": full_at.isoformat(), "ok": capacity >= opt.days}


def scan_store(root: Path, layout: Layout, opt: RetentionOptions, now: datetime,
               decode: Callable[[Path], float | None] = decode_check) -> dict[str, Any]:
    """The retention JSON: {cameras: [...], ok, forecast}."""
    cams = collect(root, layout)
    results = [audit_camera(cam, segs, root, opt, now, layout, decode) for cam, segs in sorted(cams.items())]
    fc = forecast(root, results, opt, now)
    for c in results:
        c["forecast_days"] = fc["capacity_days"]
    return {"root": str(root), "layout": layout.pattern, "days_required": opt.days, "now": now.isoformat(),
            "cameras": results, "forecast": fc, "ok": bool(results) and all(c["ok"] for c in results)}
