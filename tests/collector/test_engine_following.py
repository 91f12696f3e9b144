"""An engine that does not lead follows what other collectors store and judge: it takes in their rows, and
its own from what the store answered instead of reading them back."""
import random
from datetime import UTC, datetime, timedelta

import pytest

from collector.engine import Engine
from rules.catalog import default_catalog
from tests.collector.engine_judging import (
    T0,
    random_observation,
    usb,
)


def test_running_engine_takes_in_what_another_process_stored_and_judged(store):
    """A command-line import next to the service: the service's engine sees its observations, keeps
    judging them (the finding follows later data), and does not record the import's change twice."""
    import time

    from collector.engine import EngineWorker
    from tests.stores import another_process

    now = datetime.now(UTC)
    worker = EngineWorker(Engine(store, list(default_catalog())), sweep_s=3600, checkpoint_s=3600,
                          coalesce_s=0.05)
    worker.start()
    try:
        cli = another_process(store)  # its own connections, engine and ledger head
        batch = [usb("h9", now, True)]
        cli.ingest(batch, actor="cli")
        cli_engine = Engine(cli, list(default_catalog()))
        cli_engine.evaluate(cli_engine.note(batch), now=now)
        cli.close()
        assert [f.status for f in store.current_findings(control="USB-BLOCK", subject_id="h9")] == ["fail"]

        def usb_block() -> list[str]:
            return [i.status for i in store.intervals(control="USB-BLOCK", subject=("host", "h9"))]

        deadline = time.monotonic() + 10
        while ("host", "h9") not in worker.engine.latest and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ("host", "h9") in worker.engine.latest
        time.sleep(0.3)
        assert usb_block() == ["fail"]  # judged once, by the import

        fixed = [usb("h9", now + timedelta(minutes=5), False)]
        store.ingest(fixed, actor="agent")
        worker.submit(fixed)
        while usb_block() != ["fail", "pass"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert usb_block() == ["fail", "pass"]
    finally:
        worker.stop()
        worker.join(timeout=10)
    assert store.verify_ledger().ok


@pytest.mark.parametrize("seed", range(10))
def test_a_follower_taking_its_own_rows_as_stored_holds_what_reading_them_back_gives(store, seed):
    """A follower notes the rows it stored itself from what the store answered (IngestResult.newest) instead
    of reading them back: after every look it holds the same latest observations as a follower reading every
    row, which are the store's (repeats, ties of time and the other collector's rows on the same keys)."""
    from tests.stores import another_process

    rng = random.Random(seed)
    now = T0 + timedelta(days=1)
    other = another_process(store)
    try:
        taking, reading = Engine(store, list(default_catalog())), Engine(store, list(default_catalog()))
        own: list = []
        for _ in range(12):
            for _ in range(rng.randrange(1, 4)):
                batch = [random_observation(rng, now) for _ in range(rng.randrange(1, 12))]
                if rng.random() < 0.5:
                    own += store.ingest(batch, actor="t").newest
                else:
                    other.ingest(batch, actor="t")
            own = taking.follow(own)
            reading.follow()
            assert own == []
            assert taking.latest == reading.latest == store.latest_all()
            assert taking.sites == reading.sites and not taking.judging
    finally:
        other.close()


def test_a_follower_keeps_its_own_rows_stored_after_what_it_read_for_its_next_look(store, monkeypatch):
    first, later = store.ingest([usb("h1", T0, True)], actor="t"), store.ingest([usb("h1", T0, False)], actor="t")
    engine = Engine(store, list(default_catalog()))
    engine.high_rowid = 0
    top = first.newest[0][2]
    monkeypatch.setattr(store, "max_observation_rowid", lambda: top)  # the second batch lands after the look
    assert engine.follow(first.newest + later.newest) == later.newest
    assert engine.latest[("host", "h1")][("usb.devices", "")].payload == usb("h1", T0, True).payload
    monkeypatch.undo()
    assert engine.follow(later.newest) == []
    assert engine.latest[("host", "h1")][("usb.devices", "")].payload == usb("h1", T0, False).payload


def test_a_following_worker_hands_its_own_rows_to_its_next_look_and_none_once_it_leads(store, monkeypatch):
    from collector.engine import EngineWorker
    from collector.leadership import SoleLeader

    class Following(SoleLeader):
        def term(self) -> int | None:
            return None

        def leading(self) -> bool:
            return False

    engine = Engine(store, list(default_catalog()))
    worker = EngineWorker(engine, sweep_s=3600, checkpoint_s=3600, leadership=Following())
    worker._follow()  # now following: what it stores is kept for its next look
    first = usb("h1", T0, True)
    stored = store.ingest([first], actor="t")
    worker.submit_encoded(stored.newest)
    assert worker._own == stored.newest and not worker._encoded
    read, skipped = store.latest_since, []
    monkeypatch.setattr(store, "latest_since", lambda rowid, skip=(), upto=None: (
        skipped.append(set(skip)) or read(rowid, skip, upto)))
    worker._follow()
    assert skipped == [{stored.newest[0][2]}]  # not read back from the store
    assert worker._own == [] and engine.latest[("host", "h1")][("usb.devices", "")].id == first.id
    worker.submit_encoded(store.ingest([usb("h1", T0 + timedelta(minutes=1), False)], actor="t").newest)
    worker.leadership = SoleLeader()
    assert worker._in_charge() and worker._own == []  # leading: it reloads everything from the store
