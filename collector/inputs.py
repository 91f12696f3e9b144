"""Bad input a user gave, said in one line that names the file, line or field.

Every reader of user files raises a subclass of `InputProblem`; the command line turns any of
them into exit 2 with that one line (`collector/cli/clikit.py`), never a traceback.
"""
from __future__ import annotations

from pathlib import Path


class InputProblem(ValueError):
    """A file, option or field the user gave cannot be used; str() names it."""

    def one_line(self) -> str:
        return " ".join(str(self).split("\n")).strip()


class InputError(InputProblem):
    """A malformed input: names the file, line and field."""

    def __init__(self, path: Path | str, line: int | None, message: str, field: str | None = None):
        self.path, self.line, self.field = str(path), line, field
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


class StoreOpenError(InputProblem):
    """A --db that is missing, not SQLite, or not a clausewatch store."""
