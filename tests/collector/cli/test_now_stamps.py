"""Commands given `--now` stamp what they store with that moment: observations' received_at and the
ledger entries they append, so a replayed or back-dated run leaves the same record as it would have then."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector.cli.main import build_app
from collector.store.sqlite import SqliteStore
from tests.collector.audits.test_accounts import LOG, USERS
from tests.collector.cli.test_facility import APPROVALS, BADGES, EVENTS

NOW = "2026-11-28T22:00:00+08:00"
DISPATCH = "批次号,委托方,委案日期,退案日期,姓名,身份证号\nB-1,广州银行,2026-10-01,2026-11-20,张三,11010519491231002X\n"
# command -> argv ({name} is a file written from INPUTS, {db} the store, {out} an output file)
COMMANDS = {
    "batch register": ["batch", "register", "{dispatch.csv}"],
    "audit access --record": ["audit", "access", "--events", "{events.csv}", "--approvals", "{approvals.csv}",
                              "--badges", "{badges.csv}", "--record"],
    "audit accounts": ["audit", "accounts", "--users", "{users.csv}", "--logins", "{logins.csv}"],
    "report": ["report", "--from", "2026-11-27", "--to", "2026-11-28", "--format", "csv", "-o", "{out}"],
}
INPUTS = {"dispatch.csv": DISPATCH, "events.csv": EVENTS, "approvals.csv": APPROVALS, "badges.csv": BADGES,
          "users.csv": USERS, "logins.csv": LOG}


def ledger_times(db: Path, after_seq: int) -> list[str]:
    store = SqliteStore(db)
    try:
        return [json.loads(body)["ts"] for _, _, body in store.ledger_entries(after_seq + 1, store.ledger_head())]
    finally:
        store.close()


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_command_given_now_stamps_its_records_with_it(tmp_path: Path, command: str) -> None:
    db = tmp_path / "cw.db"
    store = SqliteStore(db)
    before = store.ledger.last_seq
    store.close()
    for name, text in INPUTS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    argv = [a.replace("{out}", str(tmp_path / "out.csv")) for a in COMMANDS[command]]
    argv = [str(tmp_path / a[1:-1]) if a.startswith("{") else a for a in argv]
    r = CliRunner().invoke(build_app(), [*argv, "--db", str(db), "--now", NOW])
    assert r.exit_code in (0, 1), r.output
    now = datetime.fromisoformat(NOW)
    stamps = ledger_times(db, before)
    assert stamps and {datetime.fromisoformat(ts) for ts in stamps} == {now}, stamps
    store = SqliteStore(db)
    stored = store.observations(limit=100)
    store.close()
    assert {o.received_at for o in stored} <= {now}
