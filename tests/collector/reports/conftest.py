"""A small simulated site with a few days of history, evidence, a waiver and an attestation,
built once per test session (reports only read it)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

END = datetime(2026, 11, 20, tzinfo=UTC)
START = END - timedelta(days=4)
ID_CARD = "110101199003071233"  # a valid resident ID: the PII scanner finds it too


@dataclass
class Site:
    db: Path
    store: object
    controls: list
    start: datetime
    end: datetime
    evidence_sha: str


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Site:
    from collector.demo import SimSite
    from collector.demo.run import write_history
    from collector.engine import Engine
    from collector.people import attest, waivers
    from collector.people import evidence as ev
    from collector.store.sqlite import SqliteStore
    from rules.catalog import default_catalog

    db = tmp_path_factory.mktemp("site") / "cw.db"
    store = SqliteStore(db)
    controls = list(default_catalog())
    engine = Engine(store, controls)
    sim = SimSite(terminals=3, cameras=3, start=START - timedelta(days=1))
    write_history(store, engine, sim, START + timedelta(days=2), step=timedelta(hours=2))
    upload_at = START + timedelta(days=2, hours=1)
    obs = ev.add_evidence(store, controls, ev.Upload(
        "EXTINGUISHER-OFFICE", b"%PDF-1.4 inspection photo", f"身份证{ID_CARD}复印件.pdf",
        ev.parse_valid_until("2026-12-31", ZoneInfo("Asia/Shanghai")), "monthly"), actor="user:facility",
        now=upload_at)
    engine.evaluate(engine.note([obs]), now=upload_at)
    waivers.approve(store, controls, control="DOOR-CLOSED", subject_kind="door", subject_id="main-door",
                       reason="door closer on order", ends_at=END + timedelta(days=10), approver="manager",
                       owner="facility", now=upload_at)
    write_history(store, engine, SimSite(terminals=3, cameras=3, start=START + timedelta(days=2, hours=2)), END,
                  step=timedelta(hours=2))
    attest.attest(store, controls, start=START, end=START + timedelta(days=2), statement="两日内人工控制项均已检查",
                  user="manager", now=START + timedelta(days=2, hours=3), acknowledge_failures=True)
    return Site(db, store, controls, START, END, obs.payload["sha256"])
