"""`clausewatch batch register|certificate`: the bank's batches and the proof they were purged."""
from __future__ import annotations

import typer


def register(group: typer.Typer) -> None:
    pass
