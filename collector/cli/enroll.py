"""`clausewatch enroll-secret` and `reenroll-code`: what agents enroll with."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from collector.cli.clikit import DbOpt, JsonOpt, default_db, emit, fail_input, store_at

if TYPE_CHECKING:  # the commands import the store where they run: `clausewatch --help` stays quick
    pass


def register(app: typer.Typer) -> None:
    app.command("enroll-secret")(enroll_secret)
    app.command("reenroll-code")(reenroll_code)


def enroll_secret(db: DbOpt = default_db(), site: str = "default",
                  rotate: Annotated[bool, typer.Option("--rotate", help="Revoke the site's other secrets.")] = False
                  ) -> None:
    """Create an agent enroll secret (printed once on stdout). It enrolls new hosts only."""
    from collector import auth

    secret_id, secret = auth.create_enroll_secret(store_at(db), site, rotate=rotate)
    if rotate:
        typer.echo(f"enroll secret {secret_id} replaces every other secret of site {site}", err=True)
    typer.echo(secret)


def reenroll_code(host: Annotated[str, typer.Argument(help="Host id of an enrolled agent.")],
                  db: DbOpt = default_db(),
                  valid_hours: Annotated[float, typer.Option("--valid-hours", min=0.1, max=24 * 30)] = 24.0,
                  as_json: JsonOpt = False) -> None:
    """A one-time code that lets an enrolled host enroll again (printed once on stdout)."""
    from datetime import timedelta

    from collector import auth

    try:
        code, expires = auth.issue_reenroll_code(store_at(db), host, actor="cli",
                                                 ttl=timedelta(hours=valid_hours))
    except auth.AuthError as e:
        fail_input(str(e))
    emit({"host_id": host, "code": code, "expires_at": expires.isoformat()}, as_json, code)
    if not as_json:
        typer.echo(f"valid until {expires.isoformat()}; put it in the agent's [collector] reenroll_code_file",
                   err=True)
