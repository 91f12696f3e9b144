"""`clausewatch audit calls|accounts`: call records, recordings, collection-system accounts."""
from __future__ import annotations

import typer


def register(group: typer.Typer) -> None:
    pass
