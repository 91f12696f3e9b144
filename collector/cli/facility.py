"""Facility commands: `audit access` (door and machine-room access logs), `poll` (UPS and climate)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.cli.audit_io import CollectorOpt, TokenOpt
from collector.cli.clikit import (
    DbOpt,
    JsonOpt,
    NowOpt,
    SpoolOpt,
    TzOpt,
    default_db,
    emit,
    fail_input,
    parse_now,
    site_zone,
    source_sink,
    store_at,
)


def _audit_group(app: typer.Typer) -> typer.Typer:
    """The shared `audit` group: other capabilities add their audits to the same one."""
    for group in app.registered_groups:
        if group.name == "audit" and group.typer_instance is not None:
            return group.typer_instance
    audit = typer.Typer(help="Log audits (exit 1 when violations are found).", no_args_is_help=True)
    app.add_typer(audit, name="audit")
    return audit


def register(app: typer.Typer) -> None:
    _audit_group(app).command("access")(audit_access)
    app.command("poll")(poll)
    app.command("notifications")(notifications)


def audit_access(
    events: Annotated[Path, typer.Option("--events", help="Access-controller event export (CSV/XLSX).")],
    approvals: Annotated[Path, typer.Option("--approvals", help="Entry approvals (CSV/XLSX).")],
    badges: Annotated[Path, typer.Option("--badges", help="Badge list (CSV/XLSX).")],
    site: Annotated[Path | None, typer.Option("--site", help="Site file: doors, rooms, working hours.")] = None,
    machine_room_door: Annotated[list[str] | None, typer.Option(
        "--machine-room-door", help="A machine-room door (repeat for several).")] = None,
    hours: Annotated[str | None, typer.Option("--hours", help="Working hours, e.g. 07:30-21:30.")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="Column-mapping file (YAML).")] = None,
    max_held_open_s: Annotated[float | None, typer.Option(
        "--max-held-open-s", min=0, help="Door held-open limit for this run (else control DOOR-CLOSED's).")] = None,
    escort_window_s: Annotated[float | None, typer.Option(
        "--escort-window-s", min=0, help="Escort window for this run (else control MACHINE-ROOM-ENTRY's).")] = None,
    site_tz: TzOpt = "Asia/Shanghai", now: NowOpt = None, as_json: JsonOpt = False,
    record: Annotated[bool, typer.Option("--record", help="Also store per-door results in --db.")] = False,
    db: DbOpt = default_db(), collector_url: CollectorOpt = None, token: TokenOpt = None,
) -> None:
    """Audit door and machine-room access: approvals, escorts, badges, hours, held-open and forced doors."""
    from collector.cli.audit_io import note_overrides, thresholds
    from collector.sources.importers.access_job import run_access_audit

    zone = site_zone(site_tz)
    when = parse_now(now, zone)
    limits, flags = thresholds("access.audit", {"max_held_open_s": max_held_open_s,
                                                "escort_window_s": escort_window_s})
    result = run_access_audit(events, approvals, badges, zone, site=site, hours=hours, mapping=mapping,
                              machine_room_doors=machine_room_door or (), limits=limits, overrides=flags)
    if not result.events:
        typer.echo(f"warning: {events}: no events: nothing was audited", err=True)
    data = {**result.as_dict(), "threshold_overrides": note_overrides(result.thresholds, limits)}
    if record or collector_url:
        _record((db if record else None, collector_url, token), result, when)
    lines = [f"{v['time']}  {v['type']:18} {v['door']:20} {v['badge']:12} {v['person']}  {v['detail']}"
             for v in data["violations"]]
    lines.append(f"{result.events} events, {len(result.violations)} violations: "
                 + ", ".join(f"{k}={n}" for k, n in data["counts"].items() if n))
    emit(data, as_json, "\n".join(lines))
    raise typer.Exit(1 if result.violations else 0)


def _record(target: tuple[Path | None, str | None, str | None], result, when) -> None:
    """Per-door results recorded the way every audit records: --record into --db, and/or --collector."""
    from collector.audits.access_report import door_observations
    from collector.cli.audit_io import record_observations
    from collector.settings import Settings

    obs = door_observations(result, site=Settings().site, source="import:access", observed_at=when)
    accepted = record_observations(target, obs, when, actor="cli:audit-access")
    if target[0] is not None:
        typer.echo(f"recorded {accepted} door audits in {target[0]}", err=True)


def poll(config: Annotated[Path, typer.Option("--config", help="Poller configuration (YAML).")],
         collector: Annotated[str | None, typer.Option(
             "--collector", help="Collector URL (several: comma-separated); else --db.")] = None,
         token_file: Annotated[Path | None, typer.Option("--token-file", help="Source token for --collector.")] = None,
         db: DbOpt = default_db(), once: Annotated[bool, typer.Option("--once", help="Poll once and exit.")] = False,
         spool: SpoolOpt = Path("var/poller-spool.db"), as_json: JsonOpt = False) -> None:
    """Poll UPSes (NUT, UPS-MIB) and climate probes (Modbus, SNMP) and ship the observations
    (to --collector through the --spool file on disk, or into the --db store)."""
    import asyncio
    import signal

    from agents.shipping.sink import StoreSink
    from collector.sources.pollers.config import load_poll_config
    from collector.sources.pollers.run import PollLoop, Sink

    cfg = load_poll_config(config)
    sink: Sink
    if collector:
        if token_file is None or not token_file.is_file():
            fail_input("--collector needs --token-file with a source token (subject kinds ups, sensor)")
        sink = source_sink(collector, token_file.read_text().strip(), spool)
    else:

        sink = StoreSink(store_at(db), actor="poller")
    loop = PollLoop(cfg, sink)

    async def main() -> list:
        if once:
            return await loop.cycle()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await loop.run(stop)
        return []

    observations = asyncio.run(main())
    if once:
        data = [o.model_dump(mode="json") for o in observations]
        emit(data, as_json, "\n".join(f"{o.subject_kind}/{o.subject_id} {o.kind} {o.payload}" for o in observations))
        raise typer.Exit(1 if loop.pending else 0)


def notifications(db: DbOpt = default_db(), as_json: JsonOpt = False,
                  limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 50) -> None:
    """The built-in notifier's delivery log; exit 1 when the latest attempt to some receiver failed."""
    from datetime import UTC, datetime

    from collector.notify.log import DeliveryLog

    entries = DeliveryLog(store_at(db)).entries(limit)
    for e in entries:
        e["at"] = datetime.fromtimestamp(e["at"], UTC).isoformat()
    latest: dict[str, bool] = {}
    for e in entries:
        latest.setdefault(e["receiver"], e["ok"])
    emit(entries, as_json, "\n".join(f"{e['at']} {e['receiver']:16} {e['status']:8} alerts={e['alerts']} "
                                      f"attempt={e['attempt']} {'ok' if e['ok'] else 'FAILED ' + str(e['error'])}"
                                      for e in entries))
    raise typer.Exit(0 if all(latest.values()) else 1)
