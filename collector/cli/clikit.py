"""What every subcommand shares: --db, --json, --now, --site-tz, exit codes, stderr progress."""
from __future__ import annotations

import json
import os
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from typer.core import TyperGroup

from collector.inputs import InputProblem

if TYPE_CHECKING:
    from agents.shipping.http import HttpClient
    from agents.shipping.sink import HttpSink
    from collector.settings import Settings
    from collector.store.sqlite import SqliteStore
    from rules.model import Control

DEFAULT_DB = "var/clausewatch.db"  # in collector/store/opening.py's LOCAL_FOLDER

DbOpt = Annotated[Path, typer.Option("--db", envvar="CLAUSEWATCH_DB",
                                      help="The store: an SQLite file, or postgresql://user@host:port/database.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
NowOpt = Annotated[str | None, typer.Option("--now", help="Evaluate as of this time (ISO 8601).")]
TzOpt = Annotated[str, typer.Option("--site-tz", help="The site's time zone.")]
SpoolOpt = Annotated[Path, typer.Option("--spool", help="Observations wait here until the collector has them.")]


def default_db() -> Path:
    return Path(os.environ.get("CLAUSEWATCH_DB", DEFAULT_DB))


def fail_input(message: str) -> NoReturn:
    """Bad input or usage: one clear line on stderr, exit 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


class InputErrorGroup(TyperGroup):
    """The command tree's root: any InputProblem a command lets through is exit 2 with its one line.

    Readers raise InputProblem subclasses naming the file, line or field; commands need not catch them.
    """

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context type is private
        try:
            return super().invoke(ctx)
        except InputProblem as e:
            typer.echo(f"error: {e.one_line()}", err=True)
            raise typer.Exit(2) from None


def shown_db(db: Path | str) -> str:
    """--db as messages name it: a file as given, a PostgreSQL URL whole and without its password."""
    from collector.store.opening import postgres_url_of

    url = postgres_url_of(db)
    if url is None:
        return str(db)
    from collector.store.postgres import redacted

    return redacted(url)


def store_at(db: Path | str, *, create: bool = False) -> SqliteStore:
    """The store behind --db; only set-up commands pass `create` (see collector/store/opening.py)."""
    from collector.store.opening import open_store

    return open_store(db, create=create)


def collector_client(url: str) -> HttpClient:
    """The HTTP client for --collector: one URL, or several collectors of one store separated by commas
    (tried in turn when one is away); a URL that is not http(s)://host[:port] is exit 2."""
    from agents.shipping.http import HttpClient, split_urls

    try:
        return HttpClient(split_urls(url), timeout_s=30)
    except ValueError as e:
        fail_input(f"--collector: {e}")


def source_sink(url: str, token: str, spool: Path) -> HttpSink:
    """Delivery to --collector with a source token, spooled in the file --spool names."""
    from agents.shipping.sink import HttpSink
    from agents.shipping.spool import Spool

    client = collector_client(url)
    try:
        return HttpSink(Spool(spool), client, token=token)
    except (OSError, sqlite3.Error) as e:
        fail_input(f"--spool {spool}: {e}")


def service_settings(**values: Any) -> Settings:
    """The settings from the environment (CLAUSEWATCH_*) and `values`; a bad one is exit 2 naming it."""
    from pydantic import ValidationError

    from collector.settings import Settings

    try:
        return Settings(**values)
    except ValidationError as e:
        fail_input(f"CLAUSEWATCH_{str(e.errors()[0]['loc'][0]).upper()}: {e.errors()[0]['msg']}")


def configured_catalog() -> list[Control]:
    """The catalog the service judges with (CLAUSEWATCH_CONTROLS_DIR, else the built-in one), so a
    command and the service never judge one store two ways; a broken catalog is exit 2, each problem
    as file:line: message."""
    from rules.catalog import CatalogError

    try:
        return service_settings().catalog()
    except CatalogError as e:
        for p in e.problems:
            typer.echo(p, err=True)
        raise typer.Exit(2) from None


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    elif text is not None:
        typer.echo(text)


def site_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        fail_input(f"--site-tz: unknown time zone {name!r}")


def parse_now(text: str | None, tz: ZoneInfo, option: str = "--now") -> datetime:
    """--now: ISO 8601; a time without offset is site local time."""
    if text is None:
        return datetime.now(tz)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        fail_input(f"{option}: {text!r} is not an ISO 8601 time")
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def progress_enabled() -> bool:
    return sys.stderr.isatty()
