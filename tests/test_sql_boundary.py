"""Only the store speaks SQL: no module outside collector/store/ runs a statement, holds a connection
or spells a query (the agent's own spool keeps its SQLite file). A second storage backend then
needs nothing but a second implementation of the Store protocol."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agents", "camera", "collector", "rules")
STORE = ROOT / "collector" / "store"
OWN_SQLITE = {ROOT / "agents" / "shipping" / "spool.py"}  # the agent's spool on the terminal, not the collector's store
DB_CALLS = {"execute", "executemany", "executescript", "cursor", "connect"}
STATEMENT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA)\s+\S", re.S)


def sql_uses(path: Path) -> list[str]:
    """`line: what` for each database call, connection attribute or SQL statement in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DB_CALLS:
            owner = ast.unparse(node.func.value)
            if node.func.attr != "connect" or owner in ("sqlite3", "psycopg", "psycopg2"):
                out.append(f"{node.lineno}: {owner}.{node.func.attr}(...)")
        elif isinstance(node, ast.Attribute) and node.attr == "conn":
            out.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and STATEMENT.match(node.value):
            out.append(f"{node.lineno}: {node.value[:60]!r}")
    return out


def outside_store() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))
            if STORE not in p.parents and p not in OWN_SQLITE]


def test_no_sql_outside_the_store() -> None:
    found = {str(p.relative_to(ROOT)): uses for p in outside_store() if (uses := sql_uses(p))}
    assert found == {}


@pytest.mark.parametrize("source, expected", [
    pytest.param("rows = store.read.execute('SELECT 1')", 2, id="a query on the store's connection"),
    pytest.param("with store.write() as c:\n    c.executemany(q, rows)", 1, id="a write on a borrowed connection"),
    pytest.param("import sqlite3\ndb = sqlite3.connect(path)", 1, id="a connection of its own"),
    pytest.param("self.conn = conn", 1, id="a connection kept as an attribute"),
    pytest.param("q = 'INSERT INTO events VALUES (?)'", 1, id="a statement spelled out"),
    pytest.param("client.connect(host)\nmsg = 'Select a camera'", 0, id="other connections and plain words"),
])
def test_the_scan_finds_sql(tmp_path: Path, source: str, expected: int) -> None:
    path = tmp_path / "module.py"
    path.write_text(source)
    assert len(sql_uses(path)) == expected
