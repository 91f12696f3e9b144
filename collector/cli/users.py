"""`clausewatch users`: local accounts."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from collector.cli.clikit import DbOpt, JsonOpt, default_db, emit, fail_input, store_at

if TYPE_CHECKING:  # the commands import the store where they run: `clausewatch --help` stays quick
    pass


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="Local accounts.", no_args_is_help=True)
    users.command("add")(users_add)
    users.command("list")(users_list)
    app.add_typer(users, name="users")


def users_add(name: Annotated[str, typer.Argument(help="User name.")],
              role: Annotated[str, typer.Option("--role", help="admin, security, auditor, facility or manager")],
              db: DbOpt = default_db()) -> None:
    """Add a local account; the password is read from stdin when it is not a terminal."""
    from collector import auth

    if role not in auth.ROLES:
        fail_input(f"--role: must be one of {', '.join(auth.ROLES)}")
    if sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        auth.check_new_user(name, role, password)  # a refused account leaves no new store behind
        # the first account is made before the first start: users add may create the store
        auth.add_user(store_at(db, create=True), name, role, password, actor="cli")
    except auth.AuthError as e:
        fail_input(str(e))
    typer.echo(f"added {name} ({role})", err=True)


def users_list(db: DbOpt = default_db(), as_json: JsonOpt = False) -> None:
    """List local accounts."""
    from collector import auth

    rows = auth.list_users(store_at(db))
    emit(rows, as_json, "\n".join(f"{u['name']:20} {u['role']}" for u in rows))
