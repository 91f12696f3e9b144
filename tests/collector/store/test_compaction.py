"""`store compact` on a simulated site: the same answers before and after, and the ledger still proves
(and still catches a change to) everything kept."""
from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector.cli.demo import build_history
from collector.cli.main import build_app
from collector.proof.canonical import loads
from collector.store.files import evidence_dir_of, site_key_path_of
from collector.store.integrity import evidence_path

# copies of a simulated site's SQLite file, tampered with in place (test_compaction_postgres.py: the same on PostgreSQL)
pytestmark = pytest.mark.sqlite_file

# a fixed hour of the day: which observations fall before a day boundary depends on it
END = (datetime.now(UTC) - timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)


def _run(*args: str):
    return CliRunner().invoke(build_app(), [str(a) for a in args])


def _copy_store(src: Path, dst: Path) -> Path:
    shutil.copy(src, dst)
    shutil.copytree(evidence_dir_of(src), evidence_dir_of(dst))
    shutil.copy(site_key_path_of(src), site_key_path_of(dst))
    return dst


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Three simulated days of three terminals and the site's cameras, UPS, sensors and doors."""
    db = tmp_path_factory.mktemp("site") / "site.db"
    build_history(db, days=3, terminals=3, cameras=3, step_minutes=30, end=END)
    return db


@pytest.fixture(scope="module")
def compacted(site, tmp_path_factory) -> tuple[Path, Path, dict]:
    """(store as it was, the same store compacted to one raw day, the command's JSON)."""
    folder = tmp_path_factory.mktemp("pair")
    before, after = _copy_store(site, folder / "before.db"), _copy_store(site, folder / "after.db")
    r = _run("store", "compact", "--db", after, "--keep-raw-days", "1", "--now", END.isoformat(), "--json")
    assert r.exit_code == 0, r.output
    return before, after, json.loads(r.stdout)


def _rows(db: Path, sql: str, *args) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_compaction_drops_old_raw_rows_and_records_why_in_the_ledger(compacted):
    before, after, out = compacted
    assert out["dropped"] > 0 and out["ledger_seq"] is not None
    count = "SELECT (SELECT count(*) FROM observations) + (SELECT count(*) FROM observation_repeats)"
    assert _rows(after, count)[0][0] == _rows(before, count)[0][0] - out["dropped"]
    cutoff = (END - timedelta(days=1)).timestamp() // 86400 * 86400  # the window ends on a keyframe day's start
    # beyond the window, what is left per (subject, kind, key) and day is a handful, not 48 snapshots
    per_day = _rows(after, "SELECT max(c) FROM (SELECT count(*) c FROM observations WHERE received_at < ?"
                           " AND kind = 'agent.heartbeat' GROUP BY subject_id, CAST(received_at / 86400 AS INT))",
                    cutoff)[0][0]
    assert per_day <= 3
    [(body,)] = _rows(after, "SELECT body FROM ledger WHERE seq = ?", out["ledger_seq"])
    entry = loads(body)
    assert entry["type"] == "store.compacted"
    assert entry["data"]["rule"] == "rules/retention.yaml" and entry["data"]["policy"]["keep_raw_days"] == 1
    assert entry["data"]["dropped"] == out["dropped"] and entry["data"]["why"]
    # the newest observation of every key is still there
    assert _rows(after, "SELECT count(*) FROM latest l LEFT JOIN observations o ON o.rowid = l.obs_rowid"
                        " WHERE o.rowid IS NULL")[0][0] == 0


def test_old_usb_blocks_keep_one_a_day_and_their_count(compacted):
    """An event no check reads (rules/kinds.yaml `event`) is not kept as the newest of its own key: of a
    compacted day, the first per terminal stays, and the ledger counts the day's events."""
    before, after, out = compacted
    cutoff = (END - timedelta(days=1)).timestamp() // 86400 * 86400
    day = "CAST(received_at / 86400 AS INT)"
    counted = f"SELECT subject_id, {day}, count(*) FROM observations WHERE kind = 'usb.block' AND received_at < ?" \
              f" GROUP BY subject_id, {day}"
    had = {(h, d): n for h, d, n in _rows(before, counted, cutoff)}
    kept = {(h, d): n for h, d, n in _rows(after, counted, cutoff)}
    assert sum(had.values()) > len(had), "the simulated site blocks several sticks on some days"
    cited = {i for (e,) in _rows(after, "SELECT evidence FROM finding_intervals UNION SELECT evidence FROM findings")
             for i in loads(e)}
    uncited = f"SELECT count(*) FROM observations WHERE kind = 'usb.block' AND received_at < ? AND id NOT IN" \
              f" ({','.join('?' * len(cited))})"
    assert _rows(after, uncited, cutoff, *cited)[0][0] <= len(had)
    assert set(kept) == set(had) and all(n == 1 for n in kept.values())
    # their `latest` rows went with them; the days' counts are in the ledger
    assert _rows(after, "SELECT count(*) FROM latest WHERE kind = 'usb.block'")[0][0] < \
        _rows(before, "SELECT count(*) FROM latest WHERE kind = 'usb.block'")[0][0]
    counts: dict[tuple[str, int], int] = {}
    for (body,) in _rows(after, "SELECT body FROM ledger WHERE CAST(body AS TEXT) LIKE '%store.compacted%'"):
        for _, host, kind, day, n in loads(body)["data"]["events_dropped"]:
            if kind == "usb.block":
                when = int(datetime.fromisoformat(day + "T00:00:00+00:00").timestamp() // 86400)
                counts[(host, when)] = counts.get((host, when), 0) + n
    assert counts == {k: had[k] - 1 for k in had if had[k] > 1}
    stored = {(h, int(datetime.fromisoformat(d + "T00:00:00+00:00").timestamp() // 86400)): n for h, d, n in
              _rows(after, "SELECT subject_id, day, dropped FROM event_days WHERE kind = 'usb.block'")}
    assert stored == counts


@pytest.mark.parametrize("hours_before_end", [60, 47, 30, 12, 1])
def test_posture_at_past_moments_is_unchanged(compacted, hours_before_end):
    before, after, _ = compacted
    at = (END - timedelta(hours=hours_before_end, minutes=7)).isoformat()
    a, b = (_run("posture", "--db", db, "--at", at, "--json") for db in (before, after))
    assert a.exit_code == b.exit_code and a.stdout == b.stdout
    assert json.loads(a.stdout)


def test_report_csv_of_a_past_period_is_unchanged(compacted, tmp_path):
    before, after, _ = compacted
    out = []
    for db in (before, after):
        path = tmp_path / f"{db.stem}.csv"
        r = _run("report", "--db", db, "--from", (END - timedelta(days=3)).isoformat(), "--to",
                 (END - timedelta(days=1)).isoformat(), "--format", "csv", "--now", END.isoformat(), "-o", path)
        assert r.exit_code in (0, 1), r.output
        out.append(path.read_bytes())
    assert out[0] == out[1] and out[0].count(b"\r\n") > 10


def test_ledger_verify_and_deep_verify_pass_after_compaction(compacted):
    _, after, _ = compacted
    r = _run("ledger", "verify", "--db", after, "--deep", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["ok"] and data["deep"]["ok"]


def test_the_compacted_history_held_many_repeats_and_lost_many(compacted):
    before, after, out = compacted
    old = (END - timedelta(days=1)).timestamp() // 86400 * 86400
    repeats_before = _rows(before, "SELECT count(*) FROM observation_repeats WHERE observed_at < ?", old)[0][0]
    repeats_after = _rows(after, "SELECT count(*) FROM observation_repeats WHERE observed_at < ?", old)[0][0]
    assert repeats_before > 1000 and repeats_after < repeats_before / 2
    # every repeat left still has the full row it is rebuilt from, and batches thinned out were proved
    # with their repeats among their leaves
    assert _rows(after, "SELECT count(*) FROM observation_repeats r LEFT JOIN observations o ON o.rowid = r.head"
                        " WHERE o.rowid IS NULL")[0][0] == 0
    thinned = {b for (b,) in _rows(after, "SELECT batch FROM pruned_batches WHERE size > 0")}
    with_repeats = {b for (b,) in _rows(before, "SELECT DISTINCT batch FROM observation_repeats")}
    assert len(thinned & with_repeats) > 10


def test_a_changed_byte_in_the_head_of_a_kept_repeat_is_caught(compacted, tmp_path):
    db = _copy_store(compacted[1], tmp_path / "head.db")
    [(rowid, repeat_batch)] = _rows(db, "SELECT head, batch FROM observation_repeats WHERE observed_at < ?"
                                        " ORDER BY num LIMIT 1", (END - timedelta(days=2)).timestamp())
    conn = sqlite3.connect(db)
    conn.execute("UPDATE observations SET body = CAST(replace(CAST(body AS TEXT), '\"payload\":{',"
                 " '\"payload\":{\"x\":1,') AS BLOB) WHERE rowid = ?", (rowid,))
    conn.commit()
    conn.close()
    r = _run("ledger", "verify", "--db", db, "--json")
    assert r.exit_code == 1, r.output
    problems = json.loads(r.stdout)["problems"]
    assert any(p["detail"].startswith(f"batch {repeat_batch}: ") and "Merkle root" in p["detail"]
               for p in problems), problems


def _tampered(compacted, tmp_path) -> Path:
    return _copy_store(compacted[1], tmp_path / "t.db")


def _verify_problems(db: Path) -> list[str]:
    r = _run("ledger", "verify", "--db", db, "--json")
    assert r.exit_code == 1, r.output
    return [p["detail"] for p in json.loads(r.stdout)["problems"]]


def _a_kept_old_observation(db: Path) -> tuple[int, int, bytes]:
    """(rowid, batch, body) of an observation kept beyond the window, in a batch compaction thinned out."""
    return _rows(db, "SELECT o.rowid, o.batch, o.body FROM observations o JOIN pruned_batches p ON p.batch = o.batch"
                     " WHERE p.size > 0 ORDER BY o.rowid LIMIT 1")[0]


def test_a_changed_byte_in_a_kept_observation_is_caught(compacted, tmp_path):
    db = _tampered(compacted, tmp_path)
    rowid, batch, body = _a_kept_old_observation(db)
    changed = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]
    conn = sqlite3.connect(db)
    conn.execute("UPDATE observations SET body = ? WHERE rowid = ?", (changed, rowid))
    conn.commit()
    conn.close()
    problems = _verify_problems(db)
    assert any("kept of this batch" in p and "Merkle root" in p for p in problems), problems


def test_a_deleted_kept_observation_or_proof_is_caught(compacted, tmp_path):
    db = _tampered(compacted, tmp_path)
    rowid, batch, _ = _a_kept_old_observation(db)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM observations WHERE rowid = ?", (rowid,))
    conn.commit()
    conn.close()
    assert any("compaction kept" in p and "gone" in p for p in _verify_problems(db))

    db2 = _copy_store(compacted[1], tmp_path / "t2.db")
    conn = sqlite3.connect(db2)
    conn.execute("DELETE FROM pruned_batches WHERE batch = (SELECT min(batch) FROM pruned_batches)")
    conn.commit()
    conn.close()
    assert any("altered or removed" in p for p in _verify_problems(db2))


def test_a_changed_byte_in_a_kept_evidence_file_is_caught(compacted, tmp_path):
    db = _tampered(compacted, tmp_path)
    kept = [s for (s,) in _rows(db, "SELECT sha256 FROM evidence")]
    assert kept, "the simulated site's floor plans are evidence files the kept keyframes name"
    path = evidence_path(evidence_dir_of(db), kept[0])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    assert any(kept[0] in p and "altered" in p for p in _verify_problems(db))


def test_compacting_again_keeps_everything_verifiable(compacted, tmp_path):
    db = _copy_store(compacted[1], tmp_path / "again.db")
    later = END + timedelta(days=2)
    r = _run("store", "compact", "--db", db, "--keep-raw-days", "0", "--now", later.isoformat(), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["dropped"] > 0
    r = _run("ledger", "verify", "--db", db, "--deep", "--json")
    assert r.exit_code == 0, r.output
    at = (END - timedelta(hours=40)).isoformat()
    a, b = (_run("posture", "--db", d, "--at", at, "--json") for d in (compacted[0], db))
    assert a.stdout == b.stdout


@pytest.mark.parametrize("args, names", [
    (["--keep-raw-days", "-1"], "--keep-raw-days"),
    (["--keep-raw-days", "many"], "--keep-raw-days"),
    (["--now", "yesterday"], "--now"),
    (["--lang", "fr"], "--lang"),
])
def test_bad_flags_exit_2_naming_them(site, args, names):
    r = _run("store", "compact", "--db", site, *args)
    assert r.exit_code == 2
    assert names in r.output


def test_a_missing_store_is_exit_2_and_creates_nothing(tmp_path):
    r = _run("store", "compact", "--db", tmp_path / "none.db")
    assert r.exit_code == 2
    assert not (tmp_path / "none.db").exists()


def test_summary_in_both_languages(site, tmp_path):
    db = _copy_store(site, tmp_path / "s.db")
    zh = _run("store", "compact", "--db", db, "--keep-raw-days", "2", "--now", END.isoformat())
    assert zh.exit_code == 0 and "删除" in zh.stdout and "关键帧" in zh.stdout
    en = _run("store", "compact", "--db", db, "--keep-raw-days", "1", "--now", END.isoformat(), "--lang", "en")
    assert en.exit_code == 0 and "dropped" in en.stdout and "keyframes" in en.stdout
    again = _run("store", "compact", "--db", db, "--keep-raw-days", "1", "--now", END.isoformat(), "--lang", "en")
    assert "nothing to compact" in again.stdout


def test_a_store_that_does_not_verify_is_not_compacted(site, tmp_path):
    db = _copy_store(site, tmp_path / "bad.db")
    # a snapshot of two days ago, which compaction thins out: one of its bodies gets a byte more
    [(rowid, batch)] = _rows(db, "SELECT rowid, batch FROM observations WHERE received_at < ? AND kind ="
                                 " 'agent.heartbeat' ORDER BY received_at DESC LIMIT 1",
                             (END - timedelta(days=2)).timestamp())
    conn = sqlite3.connect(db)
    conn.execute("UPDATE observations SET body = body || CAST(' ' AS BLOB) WHERE rowid = ?", (rowid,))
    conn.commit()
    conn.close()
    count = _rows(db, "SELECT count(*) FROM observations")[0][0]
    r = _run("store", "compact", "--db", db, "--keep-raw-days", "1", "--now", END.isoformat())
    assert r.exit_code == 2
    # named: its batch, or a batch of one of its repeats (rebuilt from its bytes), whichever is thinned first
    batches = {batch} | {b for (b,) in _rows(db, "SELECT batch FROM observation_repeats WHERE head = ?", rowid)}
    assert any(f"ledger entry {b}:" in r.output for b in batches) and "Merkle root" in r.output, r.output
    assert _rows(db, "SELECT count(*) FROM observations")[0][0] == count


def test_bundles_made_before_and_after_a_compaction_verify(site, tmp_path):
    db = _copy_store(site, tmp_path / "b.db")
    period = ["--from", (END - timedelta(days=3)).isoformat(), "--to", (END - timedelta(days=2)).isoformat(),
              "--format", "bundle", "--lang", "en"]
    early, late = tmp_path / "early.zip", tmp_path / "late.zip"
    assert _run("report", "--db", db, *period, "--now", END.isoformat(), "-o", early).exit_code in (0, 1)
    assert _run("store", "compact", "--db", db, "--keep-raw-days", "1", "--now", END.isoformat()).exit_code == 0
    assert _run("report", "--db", db, *period, "--now", END.isoformat(), "-o", late).exit_code in (0, 1)
    for bundle in (early, late):
        r = _run("verify", bundle)
        assert r.exit_code == 0, r.output


def test_a_removed_compaction_entry_is_named(compacted, tmp_path):
    db = _copy_store(compacted[1], tmp_path / "cut.db")
    seq = compacted[2]["ledger_seq"]
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM ledger WHERE seq >= ?", (seq,))
    conn.execute("DELETE FROM checkpoints WHERE seq >= ?", (seq,))
    conn.commit()
    conn.close()
    problems = _verify_problems(db)
    assert any("pruned_batches.compaction names entry" in p for p in problems), problems


def test_a_changed_count_of_dropped_events_is_caught_by_deep_verify(compacted, tmp_path):
    db = _tampered(compacted, tmp_path)
    conn = sqlite3.connect(db)
    [(sid, kind, day)] = conn.execute("SELECT subject_id, kind, day FROM event_days LIMIT 1").fetchall()
    conn.execute("UPDATE event_days SET dropped = dropped - 1 WHERE subject_id = ? AND kind = ? AND day = ?",
                 (sid, kind, day))
    conn.commit()
    conn.close()
    r = _run("ledger", "verify", "--db", db, "--deep", "--json")
    assert r.exit_code == 1, r.output
    first = json.loads(r.stdout)["deep"]["first_difference"]
    assert "event_days" in first and sid in first and day in first, first
