"""`clausewatch audit calls`: call records and recordings."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from collector.cli.audit_io import CollectorOpt, DbOptional, MapOpt, TokenOpt, parse_mapping, record
from collector.cli.clikit import JsonOpt, NowOpt, TzOpt, emit, fail_input, parse_now, site_zone


def register(group: typer.Typer) -> None:
    group.command("calls")(audit_calls_cmd)


def read_exceptions(path: Path | None) -> set[str]:
    """Call ids agreed with the debtor: one per line, or a CSV with a call_id column."""
    if path is None:
        return set()
    if not path.is_file():
        fail_input(f"{path}: no such file")
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if lines and "call_id" in lines[0].split(","):
        col = lines[0].split(",").index("call_id")
        return {ln.split(",")[col].strip() for ln in lines[1:] if len(ln.split(",")) > col}
    return {ln.split(",")[0].strip() for ln in lines}


def audit_calls_cmd(
    cdr: Annotated[Path, typer.Option("--cdr", help="Call records (CSV).")],
    primary: Annotated[Path, typer.Option("--primary", help="Primary recording store (folder).")],
    backup: Annotated[Path, typer.Option("--backup", help="Backup recording store (folder).")],
    exceptions: Annotated[Path | None, typer.Option("--exceptions", help="Call ids with agreed times.")] = None,
    pattern: Annotated[str | None, typer.Option("--pattern", help="Regex on file names with (?P<call_id>...).")] = None,
    mapping: MapOpt = None,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Hash copies and read durations.")] = True,
    retention_years: Annotated[float | None, typer.Option(
        "--retention-years", min=0, help="For this run (else control RECORDING-RETENTION's).")] = None,
    stall_hours: Annotated[float | None, typer.Option(
        "--stall-hours", min=0.01, help="Hours with calls and no recording (else RECORDER-ALIVE's).")] = None,
    min_recorded_ratio: Annotated[float | None, typer.Option(
        "--min-recorded-ratio", min=0, max=1, help="Recorded share of a call (else CALLS-RECORDED's).")] = None,
    first_call: Annotated[str | None, typer.Option("--first-call", help="The site's first call (ISO 8601).")] = None,
    system: Annotated[str, typer.Option("--system", help="Subject id of the recording system.")] = "recorder-1",
    db: DbOptional = None, collector_url: CollectorOpt = None, token: TokenOpt = None,
    now: NowOpt = None, site_tz: TzOpt = "Asia/Shanghai", as_json: JsonOpt = False,
) -> None:
    """Calling hours, recordings present, complete and backed up, retention, recorder alive (exit 1 on any)."""
    from collector.audits.calls import CallsPolicy, Content, audit_calls
    from collector.cli.audit_io import note_overrides, thresholds
    from collector.sources.importers.cdr import FIELDS, read_cdr
    from collector.sources.importers.recordings import audio_duration_s, inventory, sha256_file, walk

    tz = site_zone(site_tz)
    when = parse_now(now, tz)
    first = parse_now(first_call, tz, "--first-call") if first_call else None
    for p, what in ((cdr, "file"), (primary, "folder"), (backup, "folder")):
        if not (p.is_file() if what == "file" else p.is_dir()):
            fail_input(f"{p}: no such {what}")
    try:
        regex = re.compile(pattern) if pattern else None
    except re.error as e:
        fail_input(f"--pattern: {e}")
    if regex is not None and "call_id" not in regex.groupindex:
        fail_input("--pattern: needs a named group (?P<call_id>...)")
    calls = read_cdr(cdr, tz, parse_mapping(mapping, FIELDS))
    limits, flags = thresholds("calls.audit", {"retention_years": retention_years, "max_silence_h": stall_hours,
                                               "min_recorded_ratio": min_recorded_ratio})
    policy = CallsPolicy(exceptions=read_exceptions(exceptions)).with_thresholds({**limits, **flags})
    report = audit_calls(calls, inventory(walk(str(primary)), regex), inventory(walk(str(backup)), regex), tz=tz,
                         now=when, policy=policy, content=Content(audio_duration_s, sha256_file, verify),
                         first_call=first)
    report["threshold_overrides"] = note_overrides(report["thresholds"], limits)
    if db is not None or collector_url:
        summary = {k: v for k, v in report.items() if k not in ("violations", "unreadable", "threshold_overrides")}
        record((db, collector_url, token), "calls.audit", "call_system", system,
               {**summary, "violations": report["violations"][:100]}, when)
    failing = any(report["counts"].values()) or report["retention"]["ok"] is False or report["recorder"][
        "stalled_periods"]
    lines = [f"{v['type']:20} {v['call_id']:20} {v['detail']}" for v in report["violations"]]
    lines.append(f"{report['calls']} calls: " + ", ".join(f"{k}={n}" for k, n in report["counts"].items()))
    lines.append(f"retention ok={report['retention']['ok']} primary_oldest={report['retention']['primary_oldest']}"
                 f" backup_oldest={report['retention']['backup_oldest']}")
    lines += [f"recorder stalled {s['start']} .. {s['end']} ({s['calls']} calls)"
              for s in report["recorder"]["stalled_periods"]]
    emit(report, as_json, "\n".join(lines))
    raise typer.Exit(1 if failing else 0)
