"""What compaction keeps as the inputs of current findings: for each, the newest observation of every key
of its subject received by its evaluation, the same ones `ledger verify --deep` re-evaluates it from."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from collector.commands.demo import build_history
from collector.store.keepset import inputs
from rules.catalog import default_catalog


def test_inputs_are_the_newest_of_each_key_as_of_each_evaluation(tmp_path):
    db = tmp_path / "site.db"
    build_history(db, days=1, terminals=2, cameras=3, step_minutes=60,
                  end=datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2))
    conn = sqlite3.connect(db)
    kept = inputs(conn, list(default_catalog()))
    findings = conn.execute("SELECT DISTINCT subject_kind, subject_id, evaluated_at FROM findings").fetchall()
    assert findings
    for sk, sid, evaluated in findings:
        want = {r for (r,) in conn.execute(
            "SELECT (SELECT o.rowid FROM observations o WHERE o.subject_kind = k.subject_kind AND"
            " o.subject_id = k.subject_id AND o.kind = k.kind AND o.key = k.key AND o.received_at <= ?"
            " ORDER BY o.observed_at DESC, o.received_at DESC, o.rowid DESC LIMIT 1)"
            " FROM (SELECT DISTINCT subject_kind, subject_id, kind, key FROM observations"
            "       WHERE subject_kind = ? AND subject_id = ?) k", (evaluated, sk, sid)) if r is not None}
        assert want <= kept, (sk, sid, evaluated)
    # and no more than those, with the related kinds the catalog's checks read across subjects
    assert len(kept) < conn.execute("SELECT count(*) FROM observations").fetchone()[0] / 4
    conn.close()
