"""The `clausewatch` command: thin subcommands over library calls.

Exit codes: 0 ran and all passed, 1 ran and found violations, 2 bad input or usage.
Read commands take --json (JSON alone on stdout; logs and progress go to stderr).
"""
from __future__ import annotations

import importlib

import typer

from collector.cli.clikit import InputErrorGroup

# Each capability adds its command module here; a module exposes register(app).
# An import failure is a packaging error and must fail loudly: no try/except.
COMMAND_MODULES: list[str] = [
    "collector.cli.serve",
    "collector.cli.controls",
    "collector.cli.ledger",
    "collector.cli.users",
    "collector.cli.enroll",
    "collector.cli.findings",
    "collector.cli.demo",
    "collector.cli.agent",
    "collector.cli.canary",
    "collector.cli.camera",
    "collector.cli.evidence",
    "collector.cli.reports",
    "collector.cli.facility",
    "collector.cli.lifecycle",
    "collector.cli.store",
]


def build_app() -> typer.Typer:
    app = typer.Typer(name="clausewatch", no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False, cls=InputErrorGroup,
                      help="Continuous, verifiable proof that a collection site keeps its tender's security clauses.")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main() -> None:
    build_app()()


if __name__ == "__main__":
    main()
