"""`clausewatch store stats|compact|backup|restore`: the store's size and growth, compaction, and consistent
copies of it."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from collector.cli.clikit import (
    DbOpt,
    JsonOpt,
    NowOpt,
    TzOpt,
    configured_catalog,
    default_db,
    emit,
    fail_input,
    parse_now,
    progress_enabled,
    shown_db,
    site_zone,
    store_at,
)


def register(app: typer.Typer) -> None:
    store = typer.Typer(help="The store: size and growth, compaction, backup and restore, copies across backends.",
                        no_args_is_help=True)
    store.command("stats")(store_stats)
    store.command("backup")(store_backup)
    store.command("restore")(store_restore)
    store.command("compact")(store_compact)
    store.command("copy")(store_copy)
    app.add_typer(store, name="store")


def store_stats(db: DbOpt = default_db(), as_json: JsonOpt = False, now: NowOpt = None,
                site_tz: TzOpt = "Asia/Shanghai",
                days: Annotated[int, typer.Option("--days", min=2, max=366,
                                                  help="Days of growth to show and average.")] = 7) -> None:
    """Rows and bytes per table and per observation kind, bytes per day, free disk and when it fills up."""
    from collector.store.stats_text import stats_text

    when = parse_now(now, site_zone(site_tz))
    store = store_at(db)
    try:
        stats = store.measure_size(when, days)
    finally:
        store.close()
    emit(stats.as_dict(), as_json, stats_text(stats))


def store_backup(out: Annotated[Path, typer.Argument(help="A new folder to hold the backup.")],
                 db: DbOpt = default_db(),
                 include_key: Annotated[bool, typer.Option(
                     "--include-key", help="Also copy the site's private key (keep such a backup locked away).")
                 ] = False,
                 as_json: JsonOpt = False) -> None:
    """A consistent copy of the store, its evidence files and public key, taken while the service runs."""
    from dataclasses import asdict

    from collector.store.backup import backup_store
    from collector.store.opening import postgres_url_of
    from collector.store.pgbackup import backup_postgres

    url = postgres_url_of(db)
    manifest = (backup_store(db, out, include_key=include_key, now=datetime.now(UTC)) if url is None
                else backup_postgres(url, out, include_key=include_key, now=datetime.now(UTC), on_chunk=_progress))
    emit({"out": str(out), **asdict(manifest)}, as_json,
         f"{out}: schema version {manifest.schema_version}, ledger head {manifest.ledger_head_seq} "
         f"{manifest.ledger_head_hash or '-'}, {manifest.evidence_files} evidence files"
         + (", private site key included" if manifest.private_key else ""))


def store_restore(backup: Annotated[Path, typer.Argument(help="A folder written by `store backup`.")],
                  db: Annotated[Path, typer.Option("--db", help="Where the store goes: a file that does not exist "
                                                               "yet, or an empty PostgreSQL database.")],
                  as_json: JsonOpt = False) -> None:
    """Put a backup in place as a new store; refuses to overwrite an existing one."""
    from dataclasses import asdict

    from collector.store.backup import restore_store
    from collector.store.opening import postgres_url_of
    from collector.store.pgbackup import restore_postgres

    url = postgres_url_of(db)
    if url is None:
        manifest = restore_store(backup, db)
        store_at(db).close()  # opened once: a restore that cannot be read fails here, not at the next command
        own_key = manifest.private_key
    else:
        manifest, own_key = restore_postgres(backup, url)
    emit({"db": shown_db(db), **asdict(manifest)}, as_json,
         f"{shown_db(db)}: restored, ledger head {manifest.ledger_head_seq} {manifest.ledger_head_hash or '-'}"
         + ("" if own_key else "; the backup held no private site key: a new one signs from now on"))


def store_compact(db: DbOpt = default_db(), now: NowOpt = None, site_tz: TzOpt = "Asia/Shanghai",
                  keep_raw_days: Annotated[float | None, typer.Option(
                      "--keep-raw-days", help="Raw window in days for kinds without their own "
                                              "(default: rules/retention.yaml).")] = None,
                  lang: Annotated[str, typer.Option("--lang", help="zh (default) or en.")] = "zh",
                  as_json: JsonOpt = False) -> None:
    """Drop raw observations beyond their window that no finding, evidence or keyframe needs; one ledger entry."""
    from collector.store.compaction import CompactionRefused
    from collector.store.compaction_text import compaction_text
    from collector.store.retention import RetentionError, load_policy

    if lang not in ("zh", "en"):
        fail_input("--lang: zh or en")
    if keep_raw_days is not None and not 0 <= keep_raw_days < 100_000:
        fail_input(f"--keep-raw-days: must be a number of days from 0 up, got {keep_raw_days:g}")
    when = parse_now(now, site_zone(site_tz))
    try:
        policy = load_policy().with_raw_days(keep_raw_days)
    except RetentionError as e:
        fail_input(str(e))
    store = store_at(db)
    name = shown_db(db)
    say = (lambda phase: typer.echo(f"compact: {phase}", err=True)) if progress_enabled() else None
    try:
        result = store.compact(policy, configured_catalog(), when, actor="cli", progress=say)
    except CompactionRefused as e:
        fail_input(f"{name}: {e}")
    finally:
        store.close()
    emit({"db": name, "now": when.isoformat(), **result.as_dict()}, as_json,
         compaction_text(result, name, when, lang))


def store_copy(src: Annotated[str, typer.Option("--from", help="The store to copy: an SQLite file or postgresql://...")],
               dst: Annotated[str, typer.Option("--to", help="Where the copy goes: a new SQLite file or an empty "
                                                            "PostgreSQL database, or a copy this command began.")],
               as_json: JsonOpt = False) -> None:
    """Copy a store into another backend (SQLite to PostgreSQL or back), with the same ledger; an
    interrupted copy continues when run again."""
    from collector.store.transfer import copy_store

    src_name, dst_name = _store_name(src), _store_name(dst)
    if src_name == dst_name:
        fail_input(f"--to {dst_name}: the same store as --from")
    source = store_at(src)
    try:
        target = store_at(dst, create=True)
        try:
            report = copy_store(source, target, src_name=src_name, dst_name=dst_name, on_chunk=_progress)
        finally:
            target.close()
    finally:
        source.close()
    emit(report.as_dict(), as_json,
         f"{dst_name}: {'continued' if report.resumed else 'copied'} from {src_name}: "
         f"{sum(report.rows.values())} rows, {report.evidence_files} evidence files"
         + (f", {sum(report.dropped.values())} rows the source no longer holds dropped"
            if sum(report.dropped.values()) else "")
         + f"; ledger head {report.ledger_head_seq} {report.ledger_head_hash or '-'}"
         + (f"; {len(report.evidence_unreadable)} evidence files unreadable in the source"
            if report.evidence_unreadable else ""))


def _store_name(text: str) -> str:
    """--from or --to as the copy names it: a file by its full path (two spellings of one file are one store),
    a database as `shown_db` does."""
    from collector.store.opening import postgres_url_of

    return str(Path(text).resolve()) if postgres_url_of(text) is None else shown_db(text)


def _progress(table: str, rows: int) -> None:
    if progress_enabled():
        typer.echo(f"{table}: {rows} rows", err=True)
