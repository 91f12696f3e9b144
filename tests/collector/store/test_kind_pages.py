"""Observations of one kind without one subject (collector/store/kind_pages.py), found per subject: the
same rows in the same order as a walk of every observation by time, on both backends."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from collector.store import kind_pages
from rules.model import Observation

T0 = datetime(2026, 6, 1, tzinfo=UTC)
KINDS = ["usb.devices", "antivirus.status", "backup.status", "camera.health"]
SUBJECTS: list[tuple[Any, str]] = [("host", f"h{i}") for i in range(9)] + [("camera", f"c{i}") for i in range(4)]


def _random_store(store: Any, rnd: random.Random) -> list[datetime]:
    """Batches of observations at a few times (many of one time), payloads from two values so that many
    repeat the one before them (kept as repeats); returns the times used."""
    times = [T0 + timedelta(minutes=rnd.randrange(40)) for _ in range(25)]
    n = 0
    for b in range(12):
        batch = []
        for _ in range(rnd.randrange(1, 40)):
            sk, sid = rnd.choice(SUBJECTS[:rnd.randrange(2, len(SUBJECTS) + 1)])  # some subjects seen rarely
            n += 1
            batch.append(Observation(
                id=f"00000000-0000-4000-8000-{n:012d}", source="t", subject_kind=sk, subject_id=sid,
                kind=rnd.choice(KINDS[:3] if rnd.random() < 0.9 else KINDS), key=rnd.choice(["", "a"]),
                observed_at=rnd.choice(times), payload={"v": rnd.randrange(2)}))
        store.ingest(batch, actor="t", received_at=T0 + timedelta(hours=1, minutes=b))
    return times


def _walk_by_time(store: Any, kind: str, subject_kind: str | None, subject_id: str | None,
                  since: datetime | None, until: datetime | None, limit: int) -> list[tuple[str, float]]:
    """(id, arrival) of the page as the plain statement finds it: every full row by time."""
    sql = "SELECT body, received_at FROM observations WHERE kind = ?"
    args: list[Any] = [kind]
    conditions: list[tuple[str, Any]] = [
        ("subject_kind = ?", subject_kind), ("subject_id = ?", subject_id),
        ("observed_at >= ?", since.timestamp() if since else None),
        ("observed_at < ?", until.timestamp() if until else None)]
    for cond, value in conditions:
        if value is not None:
            sql, args = f"{sql} AND {cond}", [*args, value]
    rows = store.read.execute(f"{sql} ORDER BY observed_at DESC, rowid DESC LIMIT ?", [*args, limit]).fetchall()
    return [(orjson.loads(bytes(body))["id"], float(received)) for body, received in rows]


def _listed(store: Any, **query: Any) -> list[tuple[str, float]]:
    return [(o.id, o.received_at.timestamp()) for o in store.observations(**query)]


# how many of the newest observations are looked through first (kind_pages.recent_numbers): none (every page
# found per subject), as many as the page (most found per subject), as the store has, and as released
RECENT = {"per subject": (0, 0), "page": (1, 10**9), "all": (10**6, 10**9),
          "default": (kind_pages.RECENT_PER_ROW, kind_pages.RECENT_MAX)}


@pytest.mark.parametrize("recent", sorted(RECENT))
def test_pages_of_a_kind_are_those_of_the_walk_by_time(store, recent, monkeypatch):
    monkeypatch.setattr(kind_pages, "RECENT_PER_ROW", RECENT[recent][0])
    monkeypatch.setattr(kind_pages, "RECENT_MAX", RECENT[recent][1])
    rnd = random.Random(15)
    times = _random_store(store, rnd)
    full = store.read.execute("SELECT count(*) FROM observations").fetchone()[0]
    assert store.count_observations() > full  # repeats are kept apart, and not listed
    for _ in range(150):
        sk, sid = rnd.choice([(None, None), (None, None), ("host", None), ("camera", None), (None, "h1"),
                              ("host", "h1"), ("camera", "h1")])
        query: dict[str, Any] = {"kind": rnd.choice([*KINDS, "absent.kind"]), "subject_kind": sk, "subject_id": sid,
                 "since": rnd.choice([None, *times]), "until": rnd.choice([None, None, *times]),
                 "limit": rnd.choice([1, 2, 3, 7, 20, 1000])}
        assert _listed(store, **query) == _walk_by_time(store, **query), query


def test_paging_back_by_time(store):
    """A client pages back with `until` set to the oldest time it was given: each page is the walk's."""
    _random_store(store, random.Random(3))
    until = None
    for _ in range(30):
        page = _listed(store, kind="usb.devices", until=until, limit=4)
        assert page == _walk_by_time(store, "usb.devices", None, None, None, until, 4)
        if not page:
            break
        until = store.get_observation(page[-1][0]).observed_at
    assert not page


def test_a_kind_never_observed_lists_nothing(store):
    _random_store(store, random.Random(5))
    assert store.observations(kind="absent.kind") == []
    assert store.observations(kind="absent.kind", subject_kind="host", since=T0, until=T0 + timedelta(days=1)) == []
    assert store.observations(kind="camera.health", subject_kind="nothing") == []
