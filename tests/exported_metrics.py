"""The names of every metric /metrics exports, read from a live registry with facility data in it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families


def exported_metric_names(tmp: Path) -> set[str]:
    from prometheus_client import generate_latest

    from collector.engine import Engine
    from collector.metrics import Metrics
    from collector.store.sqlite import SqliteStore
    from rules.catalog import default_catalog
    from rules.model import Observation

    now = datetime.now(UTC)
    store = SqliteStore(tmp / "metrics.db")
    samples = (
        ("ups", "u1", "ups.status", {"flags": ["OL"], "battery_runtime_s": 1, "battery_charge_pct": 1,
                                     "ups_load_pct": 1}),
        ("ups", "u2", "ups.status", {"error": "DATA-STALE"}),
        ("sensor", "s1", "climate.reading", {"temperature_c": 1, "humidity_pct": 1, "dew_point_c": 1,
                                             "rate_c_per_h": 1}),
        ("door", "d1", "access.audit", {"events": 1, "counts": {"forced_entry": 1}}))
    obs = [Observation(source="t", subject_kind=k, subject_id=i, kind=kind, observed_at=now, payload=p)  # type: ignore[arg-type]
           for k, i, kind, p in samples]
    store.ingest(obs, actor="test")
    # received yesterday as well: the store grows, so the disk-full forecast is exported too
    store.ingest([o.model_copy(update={"id": o.id + "-y"}) for o in obs], actor="test",
                 received_at=now - timedelta(days=1))
    engine = Engine(store, list(default_catalog()))
    engine.note(obs)
    engine.evaluate(None, now)
    metrics = Metrics(engine)
    metrics.observed("t", "source", 1, 1)
    metrics.rejected.labels("422").inc()
    metrics.latency.observe(0.01)
    text = generate_latest(metrics.registry).decode()
    store.close()
    names = set()
    for fam in text_string_to_metric_families(text):
        names.update(s.name for s in fam.samples)
        names.add(fam.name)
    return names
