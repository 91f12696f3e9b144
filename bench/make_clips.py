"""Build a labelled clip set with ffmpeg: healthy scenes and scenes with one injected camera fault.

Usage: python bench/make_clips.py OUT_DIR [--seconds 6] [--size 640x360] [--only NAME,...]

Writes OUT_DIR/<scene>__<label>.mp4, OUT_DIR/<scene>__reference.png (the unmoved view) and
OUT_DIR/labels.json ({clip file: [expected faults]}). Every fault starts at 1 s and lasts to the end,
so it persists longer than the 3 s fault window in a 6 s clip.

Frozen recordings are also made across codecs, sizes and frame rates (VARIANTS, label `freezes`): for
each, a healthy clip, one frozen from its first frame and one frozen midway, 8 s long; their scene
is named <scene>-<codec>-<W>x<H>-<fps>fps.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

FPS = 25
FAULT_START_S = 1

# A scene is an ffmpeg lavfi source graph producing WxH at FPS; `{w}`, `{h}`, `{r}` are filled in.
# Scenes whose view has a fixed background, so that a reference frame can tell a moved camera.
FIXED_VIEW = ("testsrc2", "bars", "quiet")
# No scene is a still picture without noise: a camera's sensor adds noise to every frame, so a picture that
# stays bit-identical is a frozen camera, encoder or recorder (a test pattern alone is a `frozen_start` clip).
SCENES: dict[str, str] = {
    "testsrc2": "testsrc2=s={w}x{h}:r={r}",
    "bars": "smptehdbars=s={w}x{h}:r={r},noise=alls=6:allf=t",
    "mandelbrot": "mandelbrot=s={w}x{h}:r={r}",
    "life": "life=s={w}x{h}:r={r}:seed=7:mold=10:ratio=0.3:death_color=#202020:life_color=#e0e0e0,"
            "gblur=sigma=0.6",
    # a quiet, static room: flat walls, a desk and a door, and the sensor's noise
    "quiet": "color=c=0x6a6258:s={w}x{h}:r={r},"
             "drawbox=x=0:y=ih*0.62:w=iw:h=ih*0.38:c=0x4a4038:t=fill,"
             "drawbox=x=iw*0.12:y=ih*0.18:w=iw*0.16:h=ih*0.44:c=0x8a7a62:t=fill,"
             "drawbox=x=iw*0.45:y=ih*0.5:w=iw*0.35:h=ih*0.2:c=0x2e2a26:t=fill,"
             "drawbox=x=iw*0.55:y=ih*0.3:w=iw*0.12:h=ih*0.2:c=0x1a1e24:t=fill,"
             "drawgrid=w=iw/8:h=ih/6:c=0x5a544c:t=1,noise=alls=8:allf=t",
}

_ON = f"enable='gte(t,{FAULT_START_S})'"

# Faults only a reference view or an enrolled baseline can show: made for the scenes with a fixed view.
NEEDS_REFERENCE = ("moved", "cover_from_start")

# A fault is a filter chain appended to the scene; label -> (chain, faults expected).
FAULTS: dict[str, tuple[str, list[str]]] = {
    "healthy": ("null", []),
    "black": (f"drawbox=c=black:t=fill:{_ON}", ["black"]),
    "blurred": (f"boxblur=luma_radius=12:chroma_radius=12:{_ON}", ["blurred"]),
    "blurred_mild": (f"boxblur=luma_radius=5:chroma_radius=5:{_ON}", ["blurred"]),
    "defocused": (f"gblur=sigma=5:{_ON}", ["blurred"]),
    "occluded": (f"drawbox=x=0:y=0:w=iw*0.85:h=ih:c=0x777777:t=fill:{_ON}", ["occluded"]),
    "occluded_dark": (f"drawbox=x=iw*0.1:y=ih*0.1:w=iw*0.9:h=ih*0.9:c=0x141414:t=fill:{_ON}", ["occluded"]),
    "occluded_tape": (f"drawbox=x=0:y=ih*0.25:w=iw:h=ih*0.75:c=0xc8b08a:t=fill:{_ON}", ["occluded"]),
    # partial covers, 30-60 % of the view: a box at the side, tape over the lower half, a bag in a corner,
    # a hand close to the lens (smooth, lit unevenly)
    "cover_third": (f"drawbox=x=0:y=0:w=iw*0.32:h=ih:c=0x808080:t=fill:{_ON}", ["occluded"]),
    "cover_half": (f"drawbox=x=0:y=ih*0.5:w=iw:h=ih*0.5:c=0xc8b08a:t=fill:{_ON}", ["occluded"]),
    "cover_corner": (f"drawbox=x=iw*0.4:y=0:w=iw*0.6:h=ih*0.75:c=0x2a2a30:t=fill:{_ON}", ["occluded"]),
    "cover_hand": ("hand", ["occluded"]),
    # covered before the probe began: only the camera's enrolled baseline can tell it from the scene
    "cover_from_start": ("drawbox=x=iw*0.55:y=0:w=iw*0.45:h=ih:c=0x9a9a9a:t=fill", ["occluded"]),
    "frozen": ("freeze", ["frozen"]),
    # frozen before the recording began: the first frame repeated (a test pattern, or a camera frozen earlier)
    "frozen_start": ("trim=end_frame=1,tpad=stop_duration={seconds}:stop_mode=clone", ["frozen"]),
    "frozen_midway": ("freeze_midway", ["frozen"]),
    # a recorder repeating the last frame it got, at a lower quality
    "stuck": (f"trim=end={FAULT_START_S},tpad=stop_duration={{seconds}}:stop_mode=clone", ["frozen"]),
    "low_fps": ("fps=2", ["low_fps"]),
    # knocked aside: the view shifts by a tenth of the frame and zooms slightly
    "moved": ("crop=iw*0.82:ih*0.82:iw*0.16:ih*0.12,scale={w}:{h}", ["moved"]),
}


# Frozen recordings across codecs, sizes and frame rates: (scene, WxH, codec, fps), each made healthy,
# frozen_start and frozen_midway. Noise levels and bit rates as cameras and recorders ship them.
VARIANTS = [
    ("quiet", "1280x720", "h265", 15),
    ("quiet", "320x180", "mjpeg", 10),
    ("bars", "640x360", "mpeg4", 12),
    ("testsrc2", "1920x1080", "h264", 30),
    ("mandelbrot", "480x272", "h264", 20),
    ("life", "640x360", "h264", 25),
]
VARIANT_LABELS = ("healthy", "frozen_start", "frozen_midway")
VARIANT_SECONDS = 8
# codec -> (ffmpeg output options, file extension)
CODECS: dict[str, tuple[list[str], str]] = {
    "h264": (["-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p"], "mp4"),
    "h265": (["-c:v", "libx265", "-preset", "ultrafast", "-crf", "28", "-pix_fmt", "yuv420p",
              "-x265-params", "log-level=error"], "mp4"),
    "mpeg4": (["-c:v", "mpeg4", "-q:v", "6", "-pix_fmt", "yuv420p"], "avi"),
    "mjpeg": (["-c:v", "mjpeg", "-q:v", "8", "-pix_fmt", "yuvj420p"], "avi"),
}


def filter_graph(scene: str, label: str, w: int, h: int, seconds: int, fps: int = FPS) -> str:
    src = SCENES[scene].format(w=w, h=h, r=fps)
    chain, _ = FAULTS[label]
    if chain == "hand":
        cw, ch = round(w * 0.55) // 2 * 2, h
        return (f"{src}[view];gradients=s={cw}x{ch}:r={fps}:c0=0xc89878:c1=0x6a4a3a:x0=0:y0=0:x1={cw}:y1={ch}:"
                f"speed=0.00001[hand];[view][hand]overlay=x={w - cw}:y=0:{_ON},format=yuv420p")
    if chain in ("freeze", "freeze_midway"):
        first = round((FAULT_START_S if chain == "freeze" else seconds / 2) * fps)
        return (f"{src},split[a][b];[a][b]freezeframes=first={first}:last={seconds * fps}:replace={first},"
                "format=yuv420p")
    return f"{src},{chain.format(w=w, h=h, seconds=seconds)},format=yuv420p"


def run(args: list[str]) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_clip(out: Path, scene: str, label: str, w: int, h: int, seconds: int, fps: int = FPS,
              codec: str = "h264", name: str | None = None) -> Path:
    options, ext = CODECS[codec]
    path = out / f"{name or scene}__{label}.{ext}"
    graph = filter_graph(scene, label, w, h, seconds, fps)
    run(["-f", "lavfi", "-i", graph, "-t", str(seconds), *options, "-g", str(2 * fps), str(path)])
    return path


Variant = tuple[str, str, str, int]


def parse_variant(text: str) -> Variant:
    """`scene:WxH:codec:fps`, as --variants takes it."""
    scene, size, codec, fps = text.split(":")
    if scene not in SCENES or codec not in CODECS:
        raise ValueError(f"{text}: unknown scene or codec")
    return scene, size, codec, int(fps)


def make_variants(out: Path, variants: list[Variant]) -> dict[str, list[str]]:
    """The frozen-recording clips of `variants`, with a reference frame for the scenes with a fixed view."""
    labels: dict[str, list[str]] = {}
    for scene, size, codec, fps in variants:
        w, h = (int(v) for v in size.split("x"))
        name = f"{scene}-{codec}-{size}-{fps}fps"
        if scene in FIXED_VIEW:
            make_reference(out, scene, w, h, name)
        for label in VARIANT_LABELS:
            clip = make_clip(out, scene, label, w, h, VARIANT_SECONDS, fps, codec, name)
            labels[clip.name] = FAULTS[label][1]
    return labels


def make_reference(out: Path, scene: str, w: int, h: int, name: str | None = None) -> Path:
    path = out / f"{name or scene}__reference.png"
    src = SCENES[scene].format(w=w, h=h, r=FPS)
    run(["-f", "lavfi", "-i", src, "-ss", "2", "-frames:v", "1", str(path)])
    return path


def build(out: Path, seconds: int = 6, size: str = "640x360", only: list[str] | None = None,
          scenes: list[str] | None = None, variants: list[Variant] | None = None) -> dict[str, list[str]]:
    w, h = (int(v) for v in size.split("x"))
    out.mkdir(parents=True, exist_ok=True)
    labels: dict[str, list[str]] = {}
    for scene in [] if only == ["freezes"] else scenes or list(SCENES):
        if scene in FIXED_VIEW:
            make_reference(out, scene, w, h)
        for label in only or [f for f in FAULTS if f not in VARIANT_LABELS[1:]]:
            if label == "freezes" or (label in NEEDS_REFERENCE and scene not in FIXED_VIEW):
                continue
            clip = make_clip(out, scene, label, w, h, seconds)
            labels[clip.name] = FAULTS[label][1]
    if (only is None and scenes is None) or (only and "freezes" in only):
        labels.update(make_variants(out, variants or VARIANTS))
    (out / "labels.json").write_text(json.dumps(labels, indent=2) + "\n")
    return labels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--only", default="", help="comma-separated fault labels (`freezes`: the VARIANTS clips)")
    ap.add_argument("--scenes", default="", help="comma-separated scene names")
    ap.add_argument("--variants", default="", help="comma-separated scene:WxH:codec:fps for the `freezes` clips "
                                                   "(default: VARIANTS)")
    a = ap.parse_args(argv)
    labels = build(a.out, a.seconds, a.size, [x for x in a.only.split(",") if x] or None,
                   [x for x in a.scenes.split(",") if x] or None,
                   [parse_variant(x) for x in a.variants.split(",") if x] or None)
    print(f"{len(labels)} clips in {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
