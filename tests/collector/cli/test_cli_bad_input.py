"""Every command that reads a file or a store, given a broken one: exit 2, one line naming it, nothing written.

Table-driven over commands x bad inputs (missing, empty, binary, truncated XLSX or CSV, a folder,
an SQLite file that is not a store). Runs in-process through the command tree the executable uses,
so an exception a command lets through shows as a traceback here too.
"""
from __future__ import annotations

import io
import random
import re
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from collector.cli.main import build_app
from collector.store.sqlite import SqliteStore
from tests.collector.audits.test_accounts import LOG, USERS
from tests.collector.cli.test_facility import APPROVALS, BADGES, EVENTS

NOW = ("--now", "2026-11-28T22:00:00")
GOOD_TEXT = {"events.csv": EVENTS, "approvals.csv": APPROVALS, "badges.csv": BADGES, "users.csv": USERS,
             "logins.csv": LOG, "cdr.csv": "call_id,agent,terminal,number,start,duration_s,disposition\n",
             "site.yaml": "rooms: []\n", "poll.yaml": "timeout_s: 1\nups: []\n", "agent.toml": "host_id = \"t1\"\n",
             "evidence.pdf": "%PDF-1.4 register\n"}
TABLE_KINDS = ("missing", "empty", "binary", "truncated_xlsx", "truncated_csv", "folder")
NOT_EMPTY = tuple(k for k in TABLE_KINDS if k != "empty")
FILE_KINDS = ("missing", "empty", "binary", "folder")
STORE_KINDS = ("missing", "empty", "binary", "foreign_sqlite", "folder")


def xlsx_bytes(text: str) -> bytes:
    wb = openpyxl.Workbook()
    for line in text.splitlines():
        wb.active.append(line.split(","))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def make_bad(kind: str, path: Path, good: str) -> Path:
    """The bad input `kind`, at `path` (a missing one lives in a folder that does not exist either)."""
    if kind == "missing":
        return path.parent / "gone" / path.name
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "binary":
        path.write_bytes(random.Random(16).randbytes(4096))
    elif kind == "truncated_xlsx":
        data = xlsx_bytes(good or "a,b\n1,2\n")
        path = path.with_suffix(".xlsx")
        path.write_bytes(data[: len(data) // 2])
    elif kind == "truncated_csv":  # the export stops inside a quoted cell of its last row
        lines = (good or "a,b\n1,2\n").splitlines(keepends=True)
        path.write_text("".join(lines[:-1]) + '"' + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")
    elif kind == "foreign_sqlite":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE contacts (name TEXT)")
        conn.close()
    return path


# (command id, argv with {slot} for the bad input and {name} for good files, the bad slot's file name, kinds)
COMMANDS = [
    ("controls validate", ["controls", "validate", "{bad}"], "catalog", ("missing", "empty", "binary")),
    ("audit access --events", ["audit", "access", "--events", "{bad}", "--approvals", "{approvals.csv}",
                               "--badges", "{badges.csv}", *NOW], "events.csv", TABLE_KINDS),
    # an empty approvals or badge export is a day without any (tests/collector/sources/importers/test_access.py)
    ("audit access --approvals", ["audit", "access", "--events", "{events.csv}", "--approvals", "{bad}",
                                  "--badges", "{badges.csv}", *NOW], "approvals.csv", NOT_EMPTY),
    ("audit access --badges", ["audit", "access", "--events", "{events.csv}", "--approvals", "{approvals.csv}",
                               "--badges", "{bad}", *NOW], "badges.csv", NOT_EMPTY),
    ("audit access --site", ["audit", "access", "--events", "{events.csv}", "--approvals", "{approvals.csv}",
                             "--badges", "{badges.csv}", "--site", "{bad}", *NOW], "site.yaml", FILE_KINDS),
    ("audit access --record --db", ["audit", "access", "--events", "{events.csv}", "--approvals", "{approvals.csv}",
                                    "--badges", "{badges.csv}", "--record", "--db", "{bad}", *NOW], "cw.db",
     STORE_KINDS),
    ("audit accounts --users", ["audit", "accounts", "--users", "{bad}", "--logins", "{logins.csv}", *NOW],
     "users.csv", TABLE_KINDS),
    ("audit accounts --logins", ["audit", "accounts", "--users", "{users.csv}", "--logins", "{bad}", *NOW],
     "logins.csv", TABLE_KINDS),
    ("audit accounts --db", ["audit", "accounts", "--users", "{users.csv}", "--logins", "{logins.csv}",
                             "--db", "{bad}", *NOW], "cw.db", STORE_KINDS),
    ("audit calls --cdr", ["audit", "calls", "--cdr", "{bad}", "--primary", "{rec}", "--backup", "{rec}", *NOW],
     "cdr.csv", TABLE_KINDS),
    ("batch register", ["batch", "register", "{bad}", "--db", "{store}", *NOW], "dispatch.csv", TABLE_KINDS),
    ("camera coverage", ["camera", "coverage", "{bad}"], "site.yaml", FILE_KINDS),
    ("camera probe", ["camera", "probe", "{bad}", "--seconds", "0.5"], "clip.mp4", FILE_KINDS),
    ("camera enroll", ["camera", "enroll", "{bad}", "--out", "{out_png}", "--seconds", "0.5"], "clip.mp4",
     FILE_KINDS),
    ("poll --config", ["poll", "--config", "{bad}", "--once", "--db", "{store}"], "poll.yaml", FILE_KINDS),
    ("agent once --config", ["agent", "once", "--config", "{bad}"], "agent.toml", FILE_KINDS),
    # a damaged bundle (not a zip, cut short) is reported by verify as not intact: exit 1, by design
    ("verify", ["verify", "{bad}"], "bundle.zip", ("missing", "folder")),
    ("evidence add FILE", ["evidence", "add", "EXTINGUISHER-OFFICE", "{bad}", "--valid-until", "2027-01-01",
                           "--db", "{store}", *NOW], "evidence.pdf", ("missing", "folder")),
    *[(" ".join(a), [*a, "--db", "{bad}"], "cw.db", STORE_KINDS) for a in (
        ["ledger", "verify"], ["ledger", "pubkey"], ["users", "list"], ["posture"], ["findings"],
        ["enroll-secret"], ["evidence", "list"], ["notifications"], ["agent", "gaps"], ["audit", "purge"],
        ["batch", "certificate", "B1"])],
    ("evidence add --db", ["evidence", "add", "EXTINGUISHER-OFFICE", "{evidence.pdf}", "--valid-until", "2027-01-01",
                           "--db", "{bad}", *NOW], "cw.db", STORE_KINDS),
    ("report --db", ["report", "--from", "2026-11-01", "--to", "2026-11-02", "--format", "csv", "-o", "{out}",
                     "--db", "{bad}"], "cw.db", STORE_KINDS),
    ("users add --db", ["users", "add", "alice", "--role", "auditor", "--db", "{bad}"], "cw.db",
     ("empty", "binary", "foreign_sqlite", "folder")),
]
CASES = [pytest.param(argv, name, kind, id=f"{cid} <- {kind}") for cid, argv, name, kinds in COMMANDS for kind in kinds]


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name, text in GOOD_TEXT.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "rec").mkdir()
    SqliteStore(tmp_path / "store.db").close()
    return tmp_path


@pytest.mark.parametrize("argv, name, kind", CASES)
def test_bad_input_exits_2_with_one_line_naming_it_and_writes_nothing(workdir: Path, argv: list[str], name: str,
                                                                      kind: str, monkeypatch) -> None:
    monkeypatch.chdir(workdir)
    good = GOOD_TEXT.get(name, "")
    bad = make_bad(kind, workdir / f"bad-{name}", good) if name != "catalog" else _bad_catalog(kind, workdir)
    fill = {"bad": str(bad), "store": str(workdir / "store.db"), "rec": str(workdir / "rec"),
            "out": str(workdir / "out.csv"), "out_png": str(workdir / "reference.png"),
            **{n: str(workdir / n) for n in GOOD_TEXT}}
    before = snapshot(workdir)
    args = [re.sub(r"\{([^}]+)\}", lambda m: fill[m.group(1)], a) for a in argv]
    r = CliRunner().invoke(build_app(), args, input="a long password\n")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert bad.name in lines[0] or str(bad.parent) in lines[0], lines[0]
    assert r.stdout == ""
    assert snapshot(workdir) == before  # no store, key, spool or half-written output left behind


def _bad_catalog(kind: str, root: Path) -> Path:
    folder = root / "catalog"
    if kind == "missing":
        return root / "gone"
    folder.mkdir()
    (folder / "controls.yaml").write_bytes(b"" if kind == "empty" else random.Random(16).randbytes(4096))
    return folder


def test_an_events_export_with_no_events_says_so(workdir: Path) -> None:
    (workdir / "events.csv").write_text(EVENTS.splitlines()[0] + "\n", encoding="utf-8")
    r = CliRunner().invoke(build_app(), ["audit", "access", "--events", str(workdir / "events.csv"), "--approvals",
                                         str(workdir / "approvals.csv"), "--badges", str(workdir / "badges.csv"), *NOW])
    assert r.exit_code == 0
    assert r.stderr == f"warning: {workdir / 'events.csv'}: no events: nothing was audited\n"


def _issue_case(kind: str, root: Path) -> list[str]:
    """The cases as first reported, each a traceback with exit 1 (or a silent new store) before."""
    if kind == "binary yaml":
        return ["controls", "validate", str(_bad_catalog("binary", root))]
    if kind == "empty yaml":
        return ["controls", "validate", str(_bad_catalog("empty", root))]
    if kind == "truncated events xlsx":
        bad = make_bad("truncated_xlsx", root / "bad-events", EVENTS)
        return ["audit", "access", "--events", str(bad), "--approvals", str(root / "approvals.csv"),
                "--badges", str(root / "badges.csv"), *NOW]
    if kind == "garbage logins":
        bad = make_bad("binary", root / "bad-logins.csv", "")
        return ["audit", "accounts", "--users", str(root / "users.csv"), "--logins", str(bad), *NOW]
    if kind == "garbage store":
        return ["ledger", "verify", "--db", str(make_bad("binary", root / "bad-cw.db", ""))]
    return ["evidence", "add", "EXTINGUISHER-OFFICE", str(root / "evidence.pdf"), "--valid-until", "2027-01-01",
            "--db", str(root / "missing" / "dir" / "x.db"), *NOW]


@pytest.mark.parametrize("kind", ["binary yaml", "empty yaml", "truncated events xlsx", "garbage logins",
                                  "garbage store", "evidence into a missing store"])
def test_the_installed_command_exits_2_with_one_line(workdir: Path, kind: str) -> None:
    from tests.integration.conftest import cli

    argv = _issue_case(kind, workdir)
    before = snapshot(workdir)
    r = cli(*argv)
    assert r.returncode == 2, r.stderr
    # one line naming the file (controls validate's lines are file:line: problem, without "error:")
    assert r.stderr.count("\n") == 1 and str(workdir) in r.stderr and r.stdout == "", r.stderr
    assert snapshot(workdir) == before


def test_a_refused_first_account_leaves_no_store(tmp_path: Path) -> None:
    db = tmp_path / "var" / "cw.db"
    r = CliRunner().invoke(build_app(), ["users", "add", "alice", "--role", "auditor", "--db", str(db)],
                           input="short\n")
    assert r.exit_code == 2 and r.stderr == "error: password must have at least 10 characters\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variable, value", [("CLAUSEWATCH_LEASE_TTL_S", "0.1"), ("CLAUSEWATCH_LEASE_TTL_S", "soon"),
                                             ("CLAUSEWATCH_COMPACT_EVERY_H", "-1")])
def test_a_bad_service_setting_stops_serve_before_it_creates_a_store(tmp_path: Path, variable: str, value: str) -> None:
    r = CliRunner().invoke(build_app(), ["serve", "--db", str(tmp_path / "cw.db")], env={variable: value})
    assert r.exit_code == 2 and r.stderr.startswith(f"error: {variable}: ") and r.stderr.count("\n") == 1, r.stderr
    assert list(tmp_path.iterdir()) == []


CDR = "call_id,agent,terminal,number,start,duration_s,disposition\nc1,a,t1,123,{t},10,connected\n"


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:00:00"])
@pytest.mark.parametrize(("name", "text", "argv", "field"), [
    ("events.csv", EVENTS.splitlines()[0] + "\n{t},cage-1,A1,Wang,in,granted,\n",
     ["audit", "access", "--events", "{path}", "--approvals", "{approvals.csv}", "--badges", "{badges.csv}", *NOW],
     "time"),
    ("cdr.csv", CDR, ["audit", "calls", "--cdr", "{path}", "--primary", "{rec}", "--backup", "{rec}", *NOW], "start"),
    ("logins.csv", LOG.splitlines()[0] + "\n{t},zhangsan,T01,登录,\n",
     ["audit", "accounts", "--users", "{users.csv}", "--logins", "{path}", *NOW], "time"),
])
def test_a_time_outside_the_calendar_in_an_export_is_exit_2_naming_its_line(workdir: Path, when: str, name: str,
                                                                           text: str, argv: list[str],
                                                                           field: str) -> None:
    """The audits read each record's local hour, which a time before 1970 or after 2999 (UTC) has not: such a
    time was a traceback (year 0, or a date value out of range)."""
    path = workdir / f"bad-{name}"
    path.write_text(text.replace("{t}", when), encoding="utf-8")
    fill = {"path": str(path), "rec": str(workdir / "rec"), **{n: str(workdir / n) for n in GOOD_TEXT}}
    args = [re.sub(r"\{([^}]+)\}", lambda m: fill[m.group(1)], a) for a in argv]
    r = CliRunner().invoke(build_app(), args)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and f"{path}" in r.stderr and f"{field}: " in r.stderr, r.stderr
    assert "lies outside 1970-01-01 to 2999-12-31 (UTC)" in r.stderr, r.stderr


@pytest.mark.parametrize("url", ["postgresql://nobody@127.0.0.1:1/cw", "postgresql://[bad", "postgresql://h/cw?sslmode=x\x01"])
@pytest.mark.parametrize("argv", [["posture"], ["users", "list"], ["ledger", "verify"],
                                  ["users", "add", "alice", "--role", "auditor"]])
def test_a_postgresql_url_that_is_wrong_or_unreachable_is_exit_2_with_one_line(argv: list[str], url: str) -> None:
    r = CliRunner().invoke(build_app(), [*argv, "--db", url], input="a long password\na long password\n")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith(f"error: {url.split('?')[0]}") or "--db" in r.stderr, r.stderr
