"""A site's bundle withholds the seals of another site's observation batches after compaction emptied them, as
before."""
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
    """A seal of one site's batches is withheld from the other site's bundle, also once compaction emptied
    them; a seal of both sites' batches names numbers and a root only, and is shown to both."""
    store = SqliteStore(tmp_path / "cw.db")
    store.seal_after_s = 86400.0  # sealed below, one site's batches at a time
    start = (NOW - timedelta(days=10)).replace(hour=1, minute=0, second=0)
    seals: dict[str, list[int]] = {"north": [], "south": []}
    for i in range(6):
        for site, host in (("north", "n1"), ("south", "s1")):
            at = start + timedelta(minutes=10 * i)
            res = store.ingest([_beat(site, host, at)], actor=f"agent:{host}", received_at=at)
            assert res.ledger_seq is not None
            seal = store.seal_batches()
            assert seal is not None
            seals[site].append(seal)
    for site, host in (("north", "n1"), ("south", "s1")):
        store.ingest([_beat(site, host, start + timedelta(hours=2))], actor=f"agent:{host}",
                     received_at=start + timedelta(hours=2))
    mixed = store.seal_batches()
    result = compact(store, RetentionPolicy(3, 24, 92), list(default_catalog()), NOW)
    assert result.batches_emptied >= 6  # all but each host's first (keyframe) and newest (latest) of the day
    assert store.verify_ledger().ok
    first, last = 1, store.ledger.last_seq
    foreign = ForeignEntries(store, "north", first, last)
    bodies = dict(store.read.execute("SELECT seq, CAST(body AS TEXT) FROM ledger").fetchall())
    assert all(foreign.of_other_site(seq, bodies[seq]) for seq in seals["south"])
    assert not any(foreign.of_other_site(seq, bodies[seq]) for seq in seals["north"])
    assert mixed is not None and not foreign.of_other_site(mixed, bodies[mixed])
    store.close()
