"""What compaction keeps as the inputs of current findings: for each, the newest observation of every key
of its subject received by its evaluation, the same ones `ledger verify --deep` re-evaluates it from; of
an event kind no check reads (a USB stick blocked), none."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from collector.cli.demo import build_history
from collector.store.keepset import inputs, repeat_rows, unread_events
from rules.catalog import default_catalog

pytestmark = pytest.mark.sqlite_file  # reads a simulated site's SQLite file directly


def test_inputs_are_the_newest_of_each_key_as_of_each_evaluation(tmp_path):
    db = tmp_path / "site.db"
    build_history(db, days=1, terminals=8, cameras=3, step_minutes=60,  # 192 snapshots, 5 % each with a stick
                  end=datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2))
    conn = sqlite3.connect(db)
    repeats = repeat_rows(conn)
    assert repeats, "an hourly site repeats itself"
    controls = list(default_catalog())
    kept = inputs(conn, controls, repeats)
    unread = unread_events(controls)
    assert "usb.block" in unread
    # every observation, full rows and repeats: number, subject, (kind, key), observed_at, received_at
    every = [(r[0], (r[1], r[2]), (r[3], r[4]), r[5], r[6]) for r in conn.execute(
        "SELECT rowid, subject_kind, subject_id, kind, key, observed_at, received_at FROM observations")]
    every += [(r[0], (r[1], r[2]), (r[3], r[4]), r[5], r[6]) for r in repeats]
    findings = conn.execute("SELECT DISTINCT subject_kind, subject_id, evaluated_at FROM findings").fetchall()
    assert findings
    for sk, sid, evaluated in findings:
        newest: dict[tuple[str, str], tuple[float, float, int]] = {}
        for num, subject, key, observed, received in every:
            if subject == (sk, sid) and received <= evaluated and key[0] not in unread:
                newest[key] = max(newest.get(key, (observed, received, num)), (observed, received, num))
        want = {num for _, _, num in newest.values()}
        assert want <= kept, (sk, sid, evaluated)
    events = {r[0] for r in every if r[2][0] in unread}
    assert events, "the simulated site blocks USB sticks"
    assert not events & kept, "no check was evaluated from an event it does not read"
    # and no more than those, with the related kinds the catalog's checks read across subjects
    assert len(kept) < len(every) / 4
    conn.close()
