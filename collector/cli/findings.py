"""`clausewatch posture` and `findings`: the site's findings now or at a past moment."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from collector.cli.clikit import DbOpt, JsonOpt, TzOpt, default_db, emit, parse_now, site_zone, store_at

if TYPE_CHECKING:  # the commands import the store where they run: `clausewatch --help` stays quick
    pass


def register(app: typer.Typer) -> None:
    app.command("posture")(posture)
    app.command("findings")(findings)


def posture(db: DbOpt = default_db(), at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time.")] = None,
            site: Annotated[str | None, typer.Option("--site", help="Only this site's subjects.")] = None,
            site_tz: TzOpt = "Asia/Shanghai", as_json: JsonOpt = False) -> None:
    """Every control's status at a moment (default now) and why; exit 1 if any control fails."""
    from collector.cli.clikit import configured_catalog
    from collector.posture import posture_at, statuses_at

    when = parse_now(at, site_zone(site_tz), "--at")
    if as_json:
        data = posture_at(store_at(db), configured_catalog(), when, site=site)
        emit(data, as_json)
        raise typer.Exit(1 if data["totals"].get("fail") else 0)
    shown = statuses_at(store_at(db), configured_catalog(), when, site=site)  # the subjects are not printed
    emit(None, as_json, "\n".join(f"{control:28} {status:8} " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
                                  for control, status, counts in shown))
    raise typer.Exit(1 if any(status == "fail" for _, status, _ in shown) else 0)


def findings(db: DbOpt = default_db(), status: Annotated[str | None, typer.Option()] = None,
             control: Annotated[str | None, typer.Option()] = None, as_json: JsonOpt = False) -> None:
    """Current findings; exit 1 if any fails."""
    rows = store_at(db).current_findings(status=status, control=control)
    data: list[dict[str, Any]] = [
        {"control": f.control, "subject_kind": f.subject_kind, "subject": f.subject_id, "status": f.status,
         "since": f.since.isoformat(), "value": f.value, "reason": {"zh": f.reason_zh, "en": f.reason_en}}
        for f in rows]
    emit(data, as_json, "\n".join(f"{d['control']:26} {d['subject_kind']}/{d['subject']:20} {d['status']:8} "
                                  f"{d['reason']['en']}" for d in data))
    raise typer.Exit(1 if any(d["status"] == "fail" for d in data) else 0)
