"""A site's bundle withholds another site's observation batches after compaction emptied them, as before."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collector.reports.foreign import ForeignEntries
from collector.store.compaction import compact
from collector.store.retention import RetentionPolicy
from collector.store.sqlite import SqliteStore
from rules.catalog import default_catalog
from rules.model import Observation

NOW = datetime.now(UTC).replace(microsecond=0)


def _beat(site: str, host: str, at: datetime) -> Observation:
    return Observation(source=f"agent:{host}", site=site, subject_kind="host", subject_id=host,
                       kind="agent.heartbeat", observed_at=at, payload={"version": "1"})


def test_emptied_batches_keep_their_site(tmp_path):
    store = SqliteStore(tmp_path / "cw.db")
    start = (NOW - timedelta(days=10)).replace(hour=1, minute=0, second=0)
    batches: dict[str, list[int]] = {"north": [], "south": []}
    for i in range(6):
        for site, host in (("north", "n1"), ("south", "s1")):
            at = start + timedelta(minutes=10 * i)
            res = store.ingest([_beat(site, host, at)], actor=f"agent:{host}", received_at=at)
            assert res.ledger_seq is not None
            batches[site].append(res.ledger_seq)
    result = compact(store, RetentionPolicy(3, 24, 92), list(default_catalog()), NOW)
    assert result.batches_emptied >= 6  # all but each host's first (keyframe) and newest (latest) of the day
    assert store.verify_ledger().ok
    first, last = 1, store.ledger.last_seq
    foreign = ForeignEntries(store, "north", first, last)
    bodies = dict(store.read.execute("SELECT seq, CAST(body AS TEXT) FROM ledger").fetchall())
    assert all(foreign.of_other_site(seq, bodies[seq]) for seq in batches["south"])
    assert not any(foreign.of_other_site(seq, bodies[seq]) for seq in batches["north"])
    store.close()
