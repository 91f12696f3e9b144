"""`clausewatch audit accounts`: the collection system's user list and login/operation logs."""
from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated

import typer

from collector.cli.audit_io import CollectorOpt, DbOptional, TokenOpt, parse_mapping, record
from collector.cli.clikit import JsonOpt, NowOpt, TzOpt, emit, fail_input, parse_now, site_zone


def parse_hours(text: str) -> tuple[time, time]:
    """'08:00-21:00' -> (08:00, 21:00); exit 2 on anything else."""
    start, sep, end = text.partition("-")
    try:
        hours = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        hours = None
    if not sep or hours is None or hours[0] >= hours[1]:
        fail_input(f"--work-hours: {text!r} is not HH:MM-HH:MM")
    return hours


def audit_accounts_cmd(
    users: Annotated[Path, typer.Option("--users", help="User list (CSV): account, name, end_date.")],
    logins: Annotated[Path, typer.Option("--logins", help="Login/operation log (CSV): time, account, terminal, "
                                                          "action, records.")],
    map_users: Annotated[list[str] | None, typer.Option("--map-users", help="field=column for the user list.")] = None,
    map_logins: Annotated[list[str] | None, typer.Option("--map-logins", help="field=column for the log.")] = None,
    export_limit: Annotated[int | None, typer.Option(
        "--export-limit", min=0, help="Records per window, for this run (else control BULK-EXPORT-WATCH's).")] = None,
    export_window_min: Annotated[float | None, typer.Option(
        "--export-window-min", min=0.01, help="For this run (else control BULK-EXPORT-WATCH's).")] = None,
    max_gap_h: Annotated[float | None, typer.Option(
        "--max-gap-h", min=0.01, help="Working hours without log entries (else AUDIT-LOG-COMPLETE's).")] = None,
    work_hours: Annotated[str, typer.Option("--work-hours", help="Site working hours, HH:MM-HH:MM.")] = "08:00-21:00",
    system: Annotated[str, typer.Option("--system", help="Subject id of the collection system.")] = "cms",
    db: DbOptional = None, collector_url: CollectorOpt = None, token: TokenOpt = None,
    now: NowOpt = None, site_tz: TzOpt = "Asia/Shanghai", as_json: JsonOpt = False,
) -> None:
    """Shared and generic accounts, departed users, after-hours logins, bulk exports, log gaps (exit 1 on any)."""
    from collector.audits.accounts import AccountsPolicy, audit_accounts
    from collector.cli.audit_io import note_overrides, thresholds
    from collector.sources.importers.accountlogs import LOG_COLUMNS, USER_COLUMNS, read_events, read_users

    tz = site_zone(site_tz)
    when = parse_now(now, tz)
    for p in (users, logins):
        if not p.is_file():
            fail_input(f"{p}: no such file")
    user_list = read_users(users, parse_mapping(map_users, tuple(USER_COLUMNS)))
    events = read_events(logins, tz, parse_mapping(map_logins, tuple(LOG_COLUMNS)))
    day_start, day_end = parse_hours(work_hours)
    limits, flags = thresholds("accounts.audit", {"export_limit": export_limit,
                                                  "export_window_min": export_window_min, "max_gap_h": max_gap_h})
    policy = AccountsPolicy(day_start=day_start, day_end=day_end).with_thresholds({**limits, **flags})
    report = audit_accounts(user_list, events, tz=tz, policy=policy)
    overrides = note_overrides(report["thresholds"], limits)
    if db is not None or collector_url:
        record((db, collector_url, token), "accounts.audit", "collection_system", system,
               {**{k: v for k, v in report.items() if k != "violations"}, "violations": report["violations"][:100]},
               when)
    report["threshold_overrides"] = overrides
    lines = [f"{v['type']:22} {v['account']:16} {v['detail']}" for v in report["violations"]]
    lines.append(f"{report['events']} events: " + ", ".join(f"{k}={n}" for k, n in report["counts"].items()))
    emit(report, as_json, "\n".join(lines))
    raise typer.Exit(1 if any(report["counts"].values()) else 0)
