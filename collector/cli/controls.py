"""`clausewatch controls`: list and validate the control catalog."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from collector.cli.clikit import JsonOpt, emit

if TYPE_CHECKING:  # the commands import the store where they run: `clausewatch --help` stays quick
    pass


def register(app: typer.Typer) -> None:
    controls = typer.Typer(help="The control catalog.", no_args_is_help=True)
    controls.command("list")(controls_list)
    controls.command("validate")(controls_validate)
    app.add_typer(controls, name="controls")


def controls_list(as_json: JsonOpt = False,
                  directory: Annotated[Path | None, typer.Option("--dir", help="Catalog folder.")] = None) -> None:
    """Print the control catalog."""
    from collector.cli.clikit import configured_catalog
    from rules.catalog import CatalogError, load_catalog

    try:
        controls = load_catalog(directory) if directory else configured_catalog()
    except CatalogError as e:
        for p in e.problems:
            typer.echo(p, err=True)
        raise typer.Exit(2) from None
    data = [c.model_dump(mode="json") for c in controls]
    lines = [f"{c.id:28} {','.join(c.clauses):22} {c.severity:8} {c.title.en}" for c in controls]
    emit(data, as_json, "\n".join(lines))


def controls_validate(directory: Annotated[Path, typer.Argument(help="Folder of control YAML files.")],
                      as_json: JsonOpt = False) -> None:
    """Validate a catalog folder; every problem as file:line: message (exit 2 when any)."""
    from rules.catalog import CatalogError, load_catalog

    try:
        controls = load_catalog(directory)
    except CatalogError as e:
        if as_json:
            emit({"ok": False, "problems": e.problems}, True)
        for p in e.problems:
            typer.echo(p, err=True)
        raise typer.Exit(2) from None
    emit({"ok": True, "controls": len(controls)}, as_json, f"ok: {len(controls)} controls")
