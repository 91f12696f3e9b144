"""`clausewatch store stats`: the store's size and growth."""
from __future__ import annotations

from typing import Annotated

import typer

from collector.clikit import DbOpt, JsonOpt, NowOpt, TzOpt, default_db, emit, parse_now, site_zone, store_at


def register(app: typer.Typer) -> None:
    store = typer.Typer(help="The store: size and growth.", no_args_is_help=True)
    store.command("stats")(store_stats)
    app.add_typer(store, name="store")


def store_stats(db: DbOpt = default_db(), as_json: JsonOpt = False, now: NowOpt = None,
                site_tz: TzOpt = "Asia/Shanghai",
                days: Annotated[int, typer.Option("--days", min=2, max=366,
                                                  help="Days of growth to show and average.")] = 7) -> None:
    """Rows and bytes per table and per observation kind, bytes per day, free disk and when it fills up."""
    from collector.store.stats import measure
    from collector.store.stats_text import stats_text

    when = parse_now(now, site_zone(site_tz))
    store = store_at(db)
    try:
        stats = measure(store, when, days)
    finally:
        store.close()
    emit(stats.as_dict(), as_json, stats_text(stats))
