"""`clausewatch evidence add|list`: evidence files for manual controls."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.cli.clikit import (
    DbOpt,
    JsonOpt,
    NowOpt,
    TzOpt,
    default_db,
    emit,
    fail_input,
    parse_now,
    site_zone,
    store_at,
)


def register(app: typer.Typer) -> None:
    ev = typer.Typer(help="Evidence files for manual controls.", no_args_is_help=True)
    ev.command("add")(evidence_add)
    ev.command("list")(evidence_list)
    app.add_typer(ev, name="evidence")


def evidence_add(control: Annotated[str, typer.Argument(help="Manual control id, e.g. EXTINGUISHER-OFFICE.")],
                 file: Annotated[Path, typer.Argument(help="The evidence file (scan, photo, register...).")],
                 valid_until: Annotated[str, typer.Option("--valid-until", help="Last valid day (site time).")],
                 note: Annotated[str, typer.Option("--note")] = "",
                 dated: Annotated[str | None, typer.Option(
                     "--dated", help="The evidence's own date (e.g. inspection day); default: today.")] = None,
                 user: Annotated[str, typer.Option("--user", help="Who uploads it.")] = "cli",
                 db: DbOpt = default_db(), site: Annotated[str, typer.Option(envvar="CLAUSEWATCH_SITE")] = "default",
                 now: NowOpt = None, site_tz: TzOpt = "Asia/Shanghai", as_json: JsonOpt = False) -> None:
    """Store an evidence file for a manual control and judge the control again. A validity
    beyond the control's cadence (counted from --dated or today) is capped, and the output says so."""
    from collector.cli.clikit import configured_catalog
    from collector.engine import Engine
    from collector.people import evidence as ev

    tz = site_zone(site_tz)
    when = parse_now(now, tz)
    if not file.is_file():
        fail_input(f"{file}: no such file")
    controls = configured_catalog()
    store = store_at(db)
    try:
        until = ev.parse_valid_until(valid_until, tz)
        upload = ev.Upload(control, file.read_bytes(), file.name, until, note, dated=ev.parse_dated(dated))
        obs = ev.add_evidence(store, controls, upload, actor=f"user:{user}", site=site, now=when, tz=tz)
    except ev.EvidenceError as e:
        fail_input(f"{file}: {e}" if str(e).startswith("file") else str(e))
    engine = Engine(store, controls, site=site)
    engine.evaluate(engine.note([obs]), now=when)
    f = store.current_findings(control=control)
    status = f[0].status if f else "unknown"
    p = {**obs.payload, "uploaded_at": obs.observed_at.isoformat()}
    notice = ev.cap_notice(p)
    text = f"{control}: {p['filename']} sha256 {p['sha256']} valid until {p['valid_until']} -> {status}"
    emit({**p, "status": status, "capped": notice is not None, "notice": notice}, as_json,
         text + (f"\n{notice['zh']}\n{notice['en']}" if notice else ""))


def evidence_list(db: DbOpt = default_db(), control: Annotated[str | None, typer.Option()] = None,
                  as_json: JsonOpt = False) -> None:
    """Who uploaded which evidence, when, valid until when."""
    from collector.people import evidence as ev

    rows = ev.list_evidence(store_at(db), control=control)
    emit(rows, as_json, "\n".join(f"{r['control']:28} {r['uploaded_at'][:16]} {r['uploaded_by'] or '?':10} "
                                  f"{(r['valid_until'] or '')[:10]} {r['filename']}" for r in rows))
