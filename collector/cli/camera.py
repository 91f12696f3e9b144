"""`clausewatch camera ...`: stream health, enrolment, floor-plan coverage, retention audit, the worker."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from collector.cli.clikit import JsonOpt, NowOpt, SpoolOpt, TzOpt, emit, fail_input, parse_now, site_zone, source_sink

SecondsOpt = Annotated[float | None, typer.Option("--seconds", min=0.5, help="How long to sample the source "
                                                  "(default: a stream for 10 s, a file to its end).")]


def register(app: typer.Typer) -> None:
    cam = typer.Typer(help="CCTV: stream health, coverage, retention.", no_args_is_help=True)
    cam.command("probe")(probe_cmd)
    cam.command("enroll")(enroll_cmd)
    cam.command("coverage")(coverage_cmd)
    cam.command("retention")(retention_cmd)
    cam.command("run")(run_cmd)
    app.add_typer(cam, name="camera")


def probe_cmd(source: Annotated[str, typer.Argument(help="Video file, http:// MJPEG or rtsp:// URL.")],
              reference: Annotated[Path | None, typer.Option("--reference", help="Reference image of the "
                                   "camera's view (from camera enroll); enables `moved`.")] = None,
              seconds: SecondsOpt = None,
              nominal_fps: Annotated[float | None, typer.Option("--nominal-fps", min=0.1,
                                     help="The camera's configured frame rate.")] = None,
              window_s: Annotated[float, typer.Option("--window", min=0.1,
                                  help="Seconds a fault must persist.")] = 3.0,
              as_json: JsonOpt = False) -> None:
    """Health of one stream or video file. Exit 0 healthy, 1 faults, 2 bad input."""
    from camera.health import Thresholds
    from camera.probe import BadReference, ProbeOptions, load_reference, probe
    from camera.sample import BadSource, check_source, is_live

    try:
        check_source(source)
        ref, baseline = load_reference(reference) if reference else (None, None)
    except (BadSource, BadReference) as e:
        fail_input(str(e))
    if reference and ref is not None and not ref.usable:
        fail_input(f"{reference}: too little detail to use as a reference view")
    opts = ProbeOptions(seconds=seconds, nominal_fps=nominal_fps, thresholds=Thresholds(window_s=window_s))
    result = probe(source, opts, reference=ref, baseline=baseline)
    if not result["online"] and not is_live(source):
        fail_input(f"{source}: not a readable video file")  # a file is there or not: "offline" is for streams
    text = f"{source}: {'online' if result['online'] else 'OFFLINE'}, {result['fps']:.1f} fps, " \
           f"{result['frames']} frames, faults: {', '.join(result['faults']) or 'none'}"
    emit(result, as_json, text)
    raise typer.Exit(1 if result["faults"] else 0)


def enroll_cmd(source: Annotated[str, typer.Argument(help="Video file, http:// MJPEG or rtsp:// URL.")],
               out: Annotated[Path, typer.Option("--out", help="Reference image to write (.png; the "
                                                 "baseline goes next to it as .json).")],
               seconds: SecondsOpt = 5.0, as_json: JsonOpt = False) -> None:
    """Store a healthy camera's reference frame and baselines (sharpness, brightness, frame rate)."""
    from camera.probe import ProbeOptions, enroll
    from camera.sample import BadSource, check_source, is_live

    try:
        check_source(source)
    except BadSource as e:
        fail_input(str(e))
    try:
        result = enroll(source, out, ProbeOptions(seconds=seconds))
    except ValueError as e:
        if not is_live(source):  # a file without frames is bad input; a stream without them is a camera down
            fail_input(f"{source}: not a readable video file")
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    emit(result, as_json, f"reference {result['reference']}, sharpness {result['sharpness']}")
    raise typer.Exit(1 if result["faults_at_enroll"] else 0)


def _catalog_fraction() -> float:
    """The zone coverage the catalog in force requires (control ZONE-COVERED's min_fraction)."""
    from collector.cli.clikit import configured_catalog
    from rules.catalog import check_param

    return float(check_param(configured_catalog(), "zone_covered", "min_fraction"))


def coverage_cmd(site: Annotated[Path, typer.Argument(help="site.yaml")],
                 health: Annotated[Path | None, typer.Option("--health", help="Probe results: a JSON list "
                                   "of probe outputs, or {camera id: probe output}.")] = None,
                 svg: Annotated[Path | None, typer.Option("--svg", help="Write the floor plan here as SVG.")] = None,
                 plan: Annotated[list[Path] | None, typer.Option("--plan", help="Write the floor plan here: "
                                 "OUT.svg or OUT.png by extension (may be given twice).")] = None,
                 as_json: JsonOpt = False) -> None:
    """Zones covered by healthy cameras, and blind spots. Exit 1 when a must-cover zone is blind."""
    from camera.floor_coverage import compute_coverage, load_health, required_fraction
    from camera.floorplan import PLAN_FORMATS, write_plan
    from camera.site import SiteError, load_site

    for out in plan or []:
        if out.suffix.lower() not in PLAN_FORMATS:
            fail_input(f"--plan {out}: the floor plan is written as .svg or .png")
    try:
        cfg = load_site(site)
        states = load_health(health, cfg) if health else {}
    except SiteError as e:
        fail_input(str(e))
    result = compute_coverage(cfg, states, min_fraction=required_fraction(_catalog_fraction(), cfg))
    if svg:
        write_plan(svg, cfg, result, suffix=".svg")
        result["svg"] = str(svg)
    if plan:
        for out in plan:
            write_plan(out, cfg, result)
        result["plan"] = [str(p) for p in plan]
    lines = [f"{z['zone']:20} {z['fraction']:6.1%} "
             f"{'ok' if z['covered'] else 'BLIND: ' + z['reason'] if z['must_cover'] else 'not required'}"
             for z in result["zones"]]
    emit(result, as_json, "\n".join(lines))
    raise typer.Exit(0 if result["ok"] else 1)


def retention_cmd(directory: Annotated[Path, typer.Argument(help="Recording store folder.")],
                  layout: Annotated[str, typer.Option("--layout", help="frigate, zoneminder-medium, "
                                      "zoneminder-deep, or a pattern such as "
                                      "{camera}/{start:%Y%m%d}/{start:%H%M%S}-{end:%H%M%S}.mp4")] = "frigate",
                  days: Annotated[float, typer.Option("--days", min=0.01, help="Required retention.")] = 92,
                  gap_min: Annotated[float, typer.Option("--gap-minutes", min=0,
                                     help="Longest break that is not a gap.")] = 10.0,
                  sample: Annotated[int, typer.Option("--sample", min=0,
                                    help="Segments per camera to decode.")] = 3,
                  now: NowOpt = None, site_tz: TzOpt = "Asia/Shanghai", as_json: JsonOpt = False) -> None:
    """Footage retention of a recording store. Exit 1 when any camera lacks N continuous days."""
    from camera.layouts import LayoutError, parse_layout
    from camera.retention import RetentionOptions, scan_store

    tz = site_zone(site_tz)
    at = parse_now(now, tz).astimezone(tz)
    if not directory.is_dir():
        fail_input(f"{directory}: no such folder")
    try:
        lay = parse_layout(layout, tz)
    except LayoutError as e:
        fail_input(f"--layout: {e}")
    result = scan_store(directory, lay, RetentionOptions(days=days, gap_s=gap_min * 60, sample=sample), at)
    lines = [f"{c['camera']:16} {c['days']:7.2f} d  gaps {len(c['gaps'])}  unreadable {len(c['unreadable'])}  "
             f"{'ok' if c['ok'] else 'FAIL'}" for c in result["cameras"]]
    emit(result, as_json, "\n".join(lines) or "no footage found")
    raise typer.Exit(0 if result["ok"] else 1)


def run_cmd(site: Annotated[Path, typer.Option("--site", help="site.yaml")],
            collector: Annotated[str, typer.Option(
                "--collector", help="Collector base URL (several of one store: comma-separated).")],
            token: Annotated[str, typer.Option("--token", envvar="CLAUSEWATCH_TOKEN", help="Source token.")],
            interval_s: Annotated[float, typer.Option("--interval", min=1, help="Seconds between probes.")] = 300,
            workers: Annotated[int, typer.Option("--workers", min=1, help="Cameras probed at once.")] = 2,
            once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
            spool: SpoolOpt = Path("var/camera-spool.db"), as_json: JsonOpt = False) -> None:
    """Probe every camera on a schedule, scan retention daily, ship observations to the collector
    (through a spool on disk: what the collector has not taken yet waits there for the next round)."""
    from camera.site import SiteError, load_site
    from camera.worker import Worker

    try:
        cfg = load_site(site)
    except SiteError as e:
        fail_input(str(e))
    from camera.floor_coverage import required_fraction

    worker = Worker(cfg, source_sink(collector, token, spool), workers=workers,
                    min_fraction=required_fraction(_catalog_fraction(), cfg))
    if once:
        report = worker.round()
        emit(report, as_json, json.dumps(report, ensure_ascii=False))
        raise typer.Exit(0 if report["ok"] else 1)
    worker.forever(interval_s)
