"""`clausewatch posture` (text) counts each control's subjects at a moment from the store's counts and the
waived controls' failing subjects (collector.posture.statuses_at): the same as posture_at's full posture."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from collector.people import waivers
from collector.posture import posture_at, statuses_at
from rules.catalog import default_catalog

CONTROLS = {"USB-BLOCK": "host", "AV-RUNNING": "host", "DOOR-CLOSED": "door"}
STATUSES = ["fail", "unknown", "pass", "not_applicable"]


def _random_history(rng: random.Random, now) -> list[tuple]:
    """Each subject's intervals one after another (some left open), on two sites, around `now`."""
    rows = []
    for control, kind in CONTROLS.items():
        for i in range(rng.randrange(0, 12)):
            t = (now - timedelta(hours=rng.uniform(0, 48))).timestamp()
            for _ in range(rng.randrange(1, 5)):
                end = None if rng.random() < 0.3 else t + rng.choice([0.0, 1.0, rng.uniform(60, 86400)])
                rows.append((control, kind, f"s{i}", rng.choice(["hq", "branch"]), rng.choice(STATUSES), t, end,
                             "{}", "原因", "reason", "[]", None))
                if end is None:
                    break
                t = end
    return rows


@pytest.mark.parametrize("seed", range(5))
def test_statuses_at_match_the_full_posture_on_random_histories(store, now, seed):
    rng = random.Random(seed)
    controls = list(default_catalog())
    rows = _random_history(rng, now)
    with store.write() as conn:
        conn.executemany("INSERT INTO finding_intervals (control, subject_kind, subject_id, site, status, start,"
                         " end, value, reason_zh, reason_en, evidence, ledger_seq)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    for _ in range(rng.randrange(0, 5)):
        control = rng.choice(list(CONTROLS))
        start = now - timedelta(hours=rng.uniform(0, 48))
        waivers.approve(store, controls, control=control, subject_kind=CONTROLS[control],
                        subject_id=rng.choice(["*", "s0", "s1", "s2"]), reason="accepted for now",
                        ends_at=start + timedelta(hours=rng.uniform(1, 30)), approver="manager",
                        site=rng.choice(["hq", "branch"]), now=start)
    moments = [now - timedelta(hours=rng.uniform(0, 50)) for _ in range(6)]
    moments += [now - timedelta(seconds=now.timestamp() - r[5]) for r in rng.sample(rows, min(3, len(rows)))]
    for at in moments:
        for site in (None, "hq", "branch", "elsewhere"):
            full = posture_at(store, controls, at, site)
            assert statuses_at(store, controls, at, site) == [(c["id"], c["status"], c["counts"])
                                                              for c in full["controls"]], (at, site)
