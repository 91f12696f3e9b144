"""Camera benchmark: fault detection accuracy on a labelled clip set, health-metric throughput, probe speed
against `ffmpeg -f null`, and a retention scan of many segment files against `find | wc -l`.

Usage: python bench/bench_camera.py [--clips DIR] [--files 1000000] [--no-docs]
Prints tables and rewrites the `## camera` section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from make_clips import VARIANTS, build  # noqa: E402

from camera.health import FAULTS, HealthTracker, Thresholds  # noqa: E402
from camera.layouts import parse_layout  # noqa: E402
from camera.probe import ProbeOptions, enroll, load_reference, probe  # noqa: E402
from camera.retention import RetentionOptions, scan_store  # noqa: E402

IMAGE_FAULTS = [f for f in FAULTS if f != "offline"]
NEEDS_BASELINE = ("cover_from_start",)  # covered before the probe began


def enroll_scenes(clips: Path, names: list[str], out: Path) -> dict[str, Path]:
    """scene -> reference written by `camera enroll` from its healthy clip (scenes with a fixed view)."""
    refs = {}
    for scene in sorted({n.split("__")[0] for n in names}):
        healthy = next(iter(clips.glob(f"{scene}__healthy.*")), clips / "none")
        if (clips / f"{scene}__reference.png").is_file() and healthy.is_file():
            refs[scene] = Path(enroll(str(healthy), out / f"{scene}.png")["reference"])
    return refs


def run_clips(clips: Path, enrolled: dict[str, Path] | None = None) -> list[tuple[str, list[str], list[str]]]:
    """(clip, injected faults, reported faults) for every labelled clip.

    Without `enrolled`: no baseline; `moved` is judged against the scene's reference frame, and clips that
    only a baseline can judge (covered before the probe began) are left out. With `enrolled`: the clips of
    the scenes enrolled, each probed against its scene's reference and baseline from `camera enroll`."""
    labels: dict[str, list[str]] = json.loads((clips / "labels.json").read_text())
    out = []
    for name, want in sorted(labels.items()):
        scene, label = Path(name).stem.split("__")
        if enrolled is None:
            if label in NEEDS_BASELINE:
                continue
            ref_path = clips / f"{scene}__reference.png"
            ref, baseline = (load_reference(ref_path)[0] if ref_path.is_file() else None), None
        elif scene in enrolled:
            ref, baseline = load_reference(enrolled[scene])
        else:
            continue
        out.append((name, want, probe(str(clips / name), reference=ref, baseline=baseline)["faults"]))
    return out


def precision_recall(results: list[tuple[str, list[str], list[str]]]) -> list[str]:
    counts = {f: {"tp": 0, "fp": 0, "fn": 0} for f in IMAGE_FAULTS}
    for _, want, got in results:
        for f in IMAGE_FAULTS:
            key = "tp" if f in got and f in want else "fp" if f in got else "fn" if f in want else ""
            if key:
                counts[f][key] += 1
    lines = ["| fault | precision | recall | tp | fp | fn |", "|---|---|---|---|---|---|"]
    for f, c in counts.items():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
        lines.append(f"| {f} | {p:.3f} | {r:.3f} | {c['tp']} | {c['fp']} | {c['fn']} |")
    return lines


def confusion(results: list[tuple[str, list[str], list[str]]]) -> list[str]:
    """Rows = injected label (clip variant), columns = reported faults."""
    table: dict[str, dict[str, int]] = {}
    for name, _, got in results:
        row = table.setdefault(Path(name).stem.split("__")[1], {})
        for g in got or ["healthy"]:
            row[g] = row.get(g, 0) + 1
    cols = ["healthy", *IMAGE_FAULTS]
    lines = ["| injected \\ reported | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for label, row in sorted(table.items()):
        lines.append(f"| {label} | " + " | ".join(str(row.get(c, 0)) for c in cols) + " |")
    return lines


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def metric_throughput(clip: Path, frames: int = 300) -> tuple[float, float]:
    """Health metrics on 640x360 frames, everything a sample costs after decoding (working copy, measures,
    block map and partial-cover test, frozen comparison): frames per wall second and per CPU second."""
    cap = cv2.VideoCapture(str(clip))
    decoded: list[np.ndarray] = []
    while len(decoded) < 50:
        ok, f = cap.read()
        if not ok:
            break
        decoded.append(cv2.resize(f, (640, 360)))
    cap.release()
    cv2.setNumThreads(1)
    tracker = HealthTracker(thresholds=Thresholds(window_s=1e9))
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(frames):
        tracker.add(i * 0.2, decoded[i % len(decoded)])
    return frames / (time.perf_counter() - wall), frames / (time.process_time() - cpu)


def probe_vs_ffmpeg(clip: Path) -> tuple[float, float, float, float]:
    """Frames per wall and per CPU second: the probe (grab all, decode samples) and `ffmpeg -f null`,
    each with one decoder thread."""
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "threads;1"
    wall, cpu = time.perf_counter(), time.process_time()
    frames = probe(str(clip), ProbeOptions(seconds=3600))["frames"]
    probe_wall, probe_cpu = frames / (time.perf_counter() - wall), frames / (time.process_time() - cpu)
    wall, cpu = time.perf_counter(), _children_cpu_s()
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", "1", "-i", str(clip),
                    "-f", "null", "-"], check=True)
    return probe_wall, probe_cpu, frames / (time.perf_counter() - wall), frames / (_children_cpu_s() - cpu)


def make_store(root: Path, files: int) -> None:
    """Empty frigate segments (10 s each) spread over 8 cameras, newest ending now."""
    cams = 8
    per_cam = files // cams
    now = datetime(2026, 11, 29, tzinfo=UTC)
    for c in range(cams):
        t = now - timedelta(seconds=10 * per_cam)
        last_dir = None
        for _ in range(per_cam):
            d = root / t.strftime("%Y-%m-%d/%H") / f"cam{c}"
            if d != last_dir:
                d.mkdir(parents=True, exist_ok=True)
                last_dir = d
            open(d / t.strftime("%M.%S.mp4"), "wb").close()
            t += timedelta(seconds=10)


def retention_speed(files: int) -> tuple[tuple[float, float], tuple[float, float], int]:
    """(wall s, CPU s) of the retention scan and of `find | wc -l` on the same tree, and the segment count."""
    with tempfile.TemporaryDirectory(prefix="cw-store-") as tmp:
        root = Path(tmp)
        make_store(root, files)
        subprocess.run(["sync"], check=False)
        wall, cpu = time.perf_counter(), _children_cpu_s()
        out = subprocess.run(f"find {root} -type f | wc -l", shell=True, capture_output=True, text=True, check=True)
        find = (time.perf_counter() - wall, _children_cpu_s() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        result = scan_store(root, parse_layout("frigate", UTC), RetentionOptions(sample=0),
                            datetime(2026, 11, 29, tzinfo=UTC))
        scan = (time.perf_counter() - wall, time.process_time() - cpu)
        segs = sum(c["segments"] for c in result["cameras"])
        assert segs == int(out.stdout.strip()), (segs, out.stdout)
        return scan, find, segs


def write_docs(section: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text(encoding="utf-8") if doc.is_file() else "# Benchmarks\n"
    start = text.find("\n## camera\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + text[end:] if end >= 0 else text[:start] + "\n"
    doc.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")


def accuracy_section(plain: list[tuple[str, list[str], list[str]]],
                     enrolled: list[tuple[str, list[str], list[str]]]) -> list[str]:
    out = []
    for title, results in (("Without a baseline", plain), ("With an enrolled baseline", enrolled)):
        scenes = sorted({n.split("__")[0] for n, _, _ in results})
        wrong = [name for name, want, got in results if sorted(want) != sorted(got)]
        out += [f"### {title}: {len(results)} clips, scenes {', '.join(scenes)}", "",
                "Precision and recall per fault:", "", *precision_recall(results), "",
                "Confusion (clips per injected label; a clip may report more than one fault):", "",
                *confusion(results), "", f"Wrong clips: {', '.join(wrong) or 'none'}", ""]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=Path, help="an existing clip set (else one is made in a temporary folder)")
    ap.add_argument("--files", type=int, default=1_000_000)
    ap.add_argument("--no-docs", action="store_true")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cw-clips-") as tmp:
        clips = a.clips or Path(tmp)
        if not (clips / "labels.json").is_file():
            build(clips)
        plain = run_clips(clips)
        refs = enroll_scenes(clips, [n for n, _, _ in plain], Path(tmp) / "enrolled")
        enrolled = run_clips(clips, refs)
        metric_wall, metric_cpu = metric_throughput(clips / "testsrc2__healthy.mp4")
        long_clip = Path(tmp) / "speed.mp4"  # long enough that process start-up does not count
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=s=640x360:r=25", "-t", "60", "-c:v", "libx264", "-preset", "veryfast",
                        str(long_clip)], check=True)
        probe_wall, probe_cpu, ffmpeg_wall, ffmpeg_cpu = probe_vs_ffmpeg(long_clip)
    scan, find, segs = retention_speed(a.files)
    rows = [f"| {n} | {', '.join(w) or 'healthy'} | {', '.join(g) or 'healthy'} |" for n, w, g in plain + enrolled]
    perf = ["| measure | ours (wall / CPU) | baseline (wall / CPU) | ratio, CPU |", "|---|---|---|---|",
            f"| health metrics, 640x360, frames/s on one core | {metric_wall:.0f} / {metric_cpu:.0f} | "
            f"150 (target) | {metric_cpu / 150:.1f}x |",
            f"| probe of a 60 s 640x360 H.264 clip, frames/s, one decoder thread | {probe_wall:.0f} / "
            f"{probe_cpu:.0f} | ffmpeg -f null: {ffmpeg_wall:.0f} / {ffmpeg_cpu:.0f} | {probe_cpu / ffmpeg_cpu:.2f} |",
            f"| retention scan of {segs:,} empty frigate segments, s | {scan[0]:.1f} / {scan[1]:.1f} | "
            f"find \\| wc -l: {find[0]:.1f} / {find[1]:.1f} | {scan[1] / max(find[1], 0.01):.1f}x |"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    section = "\n".join([
        "## camera", "", f"{datetime.now(UTC):%Y-%m-%d}, {machine}. `python bench/bench_camera.py`: clips from "
        "`bench/make_clips.py` (faults injected from 1 s of 6 s clips, 640x360; partial covers `cover_*` hide "
        "30-60% of the view). Without a baseline, `moved` is judged against the reference frame of the scenes "
        "with a fixed view, and `cover_from_start` (covered before the probe began) is not judged: nothing tells "
        "it from the scene. With a baseline, each fixed-view scene is enrolled from its healthy clip "
        "(`camera enroll`) and all its clips are probed against that reference and baseline. Frozen recordings "
        "(`frozen_start`: the first frame repeated; `frozen_midway`: frozen from 4 s of 8 s) with their healthy "
        "clip, per codec, size and frame rate: " + "; ".join(
            f"{scene} {codec} {size} {fps} fps" for scene, size, codec, fps in VARIANTS) + ".", "",
        *accuracy_section(plain, enrolled), "### Speed", "", *perf, ""])
    print(section)
    print("\n".join(["", "| clip | injected | reported |", "|---|---|---|", *rows]), file=sys.stderr)
    if not a.no_docs:
        write_docs(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
