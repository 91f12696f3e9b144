"""A long compaction writes in chunks, each its own transaction with its own `store.compacted` entry: ingest
goes on between them (SQLite and PostgreSQL), and the store verifies afterwards."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from collector.proof.canonical import loads
from collector.store.compaction import CompactionResult, compact
from collector.store.compaction_text import compaction_text
from collector.store.retention import load_policy
from rules.catalog import default_catalog
from tests.collector.store.conftest import T0, obs

HOURS = 40  # past the default raw window of 3 days only with --keep-raw-days 0


def _fill(store, hours: int, per_hour: int) -> None:
    """`per_hour` hosts reporting every 6 minutes, half of them a new meaning each time (full rows), half the
    same for 5 hours at a time (a full row and repeats of it in later batches): many rows and batches to drop."""
    for h in range(hours):
        rows = [obs(h * 10_000 + m * per_hour + i, subject=f"h{i}", t=T0 + timedelta(hours=h, minutes=m),
                    payload={"devices": [], "minute": m} if i % 2 else {"devices": [], "phase": h // 5})
                for m in range(0, 60, 6) for i in range(per_hour)]
        store.ingest(rows, actor="agent:test", received_at=T0 + timedelta(hours=h, minutes=59))


def test_ingest_goes_on_while_a_large_compaction_runs_in_chunks(store):
    _fill(store, HOURS, 20)  # 8,000 observations in 40 batches, 3,800 of them repeats
    assert store.read.execute("SELECT count(*) FROM observation_repeats").fetchone()[0] > 3_000
    now = T0 + timedelta(hours=HOURS + 1)
    done = threading.Event()
    result = {}

    def run() -> None:
        try:
            result["r"] = compact(store, load_policy().with_raw_days(0), list(default_catalog()), now,
                                  chunk_rows=400)
        finally:
            done.set()

    worker = threading.Thread(target=run)
    worker.start()
    ingested = []
    i = 0
    while not done.is_set():
        i += 1
        r = store.ingest([obs(900_000 + i, subject="late", t=now, payload={"i": i})], actor="agent:test",
                         received_at=now)
        ingested.append(r.ledger_seq)
    worker.join()
    res = result["r"]
    chunks = res.ledger_entries
    assert len(chunks) >= 10 and res.dropped >= 4_000
    assert res.dropped_by_kind == {"usb.devices": res.dropped}
    # batches were stored between the compaction's entries: ingest did not wait for the whole compaction
    heads = [store.read.execute("SELECT after_seq FROM batches WHERE batch = ?", (b,)).fetchone()[0] for b in ingested]
    assert any(chunks[0] <= head < chunks[-1] for head in heads), (chunks, heads[:5], heads[-5:])
    entries = [loads(store.ledger_entry(seq)[1]) for seq in chunks]
    assert {e["type"] for e in entries} == {"store.compacted"}
    assert sum(e["data"]["dropped"] for e in entries) == res.dropped
    # each chunk states what is kept of its own stretch: together, the whole compaction's counts
    kept = [e["data"]["kept"] for e in entries]
    assert kept[0] != kept[-1]
    assert {r: sum(k[r] for k in kept) for r in res.kept} == res.kept
    report = store.verify_ledger()
    assert report.ok, report.problems
    # no batch was split between two chunks: each proof row names the compaction of one chunk only
    batches = store.read.execute("SELECT batch, count(*) FROM pruned_batches GROUP BY batch").fetchall()
    assert all(n == 1 for _, n in batches)


def test_the_summary_names_the_chunks_and_their_entries(store):
    _fill(store, 10, 20)
    res = compact(store, load_policy().with_raw_days(0), list(default_catalog()), T0 + timedelta(days=1),
                  chunk_rows=300)
    first, last = res.ledger_entries[0], res.ledger_entries[-1]
    n = len(res.ledger_entries)
    assert n > 1
    en = compaction_text(res, "cw.db", T0, "en").splitlines()[0]
    assert f"in {n} transactions (ledger entries {first} to {last})" in en
    zh = compaction_text(res, "cw.db", T0, "zh").splitlines()[0]
    assert f"分 {n} 次事务写入（账本条目 {first} 至 {last}）" in zh


def test_the_summary_gives_its_time_to_the_second_in_the_zone_asked():
    at = datetime(2026, 12, 6, 2, 0, 35, 472681, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert compaction_text(CompactionResult(None), "cw.db", at, "en") == \
        "cw.db: nothing to compact as of 2026-12-06 02:00:35+08:00"
    assert "截至 2026-12-06 02:00:35+08:00" in compaction_text(CompactionResult(None), "cw.db", at, "zh")


def test_an_event_key_joined_after_the_snapshot_is_not_dropped(store):
    """An event key chosen to go whole that an observation joins meanwhile (here a repeat of it, which is
    rebuilt from its full row) keeps its rows: the chunk finds its `latest` row naming the newer one."""
    from collector.store.compaction import _still_there, _unrevived
    from collector.store.keepset import select

    block = {"name": "Stick", "action": "deauthorized"}
    for i, key in ((1, "1-2@w"), (2, "1-2@x")):  # the day's first block is its keyframe; the second goes whole
        store.ingest([obs(i, kind="usb.block", key=key, t=T0 + timedelta(minutes=i), payload=block)],
                     actor="agent:test", received_at=T0 + timedelta(minutes=i))
    with store.snapshot() as snap:
        sel = select(snap, load_policy().with_raw_days(0), list(default_catalog()), T0 + timedelta(days=2))
    assert list(sel.latest_gone.values()) == [("host", "h1", "usb.block", "1-2@x")] and len(sel.drop) == 1
    store.ingest([obs(3, kind="usb.block", key="1-2@x", t=T0 + timedelta(hours=1), payload=block)],
                 actor="agent:test", received_at=T0 + timedelta(hours=1))
    assert store.read.execute("SELECT count(*) FROM observation_repeats").fetchone()[0] == 1
    revived: set = set()
    with store.write() as conn:
        assert _unrevived(conn, sel, _still_there(conn, sel), revived) == {}
    assert revived == {("host", "h1", "usb.block", "1-2@x")}
