"""The live demo carries on the timeline of the history written before it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.demo import SimSite
from collector.demo.lifecycle import batches
from collector.demo.run import continuing, write_history
from collector.engine import Engine
from collector.store.sqlite import SqliteStore
from rules.catalog import default_catalog

# late in last month: a feed starting a month earlier would register other batches (B<month>-NN)
NOW = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).replace(day=27, hour=10, minute=0, second=0,
                                                                     microsecond=0)


def test_the_live_site_continues_the_historys_days_batches_and_faults(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "cw.db")
    history = SimSite(terminals=1, cameras=3, start=NOW - timedelta(days=2))
    write_history(store, Engine(store, list(default_catalog())), history, NOW, step=timedelta(hours=12))
    live = continuing(store, terminals=1, cameras=3, now=NOW)
    assert live.start == history.start and live.day(NOW) == 2.0  # not day 30 of another timeline
    stored = {o.id: o.payload for o in store.observations(kind="batch.registered")}
    again = {o.id: o.payload for o in batches(live, live.start)}
    assert again and again.items() <= stored.items()  # the same batches, stored once
    store.close()


def test_a_store_with_no_history_starts_day_0_now(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "cw.db")
    assert continuing(store, terminals=2, cameras=3, now=NOW).start == NOW
    store.close()
