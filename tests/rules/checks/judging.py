"""One control of the catalog judged on hand-made observations, for the check tests."""
from datetime import UTC, datetime, timedelta

from rules.catalog import default_catalog
from rules.evaluate import evaluate_one
from rules.model import Observation
from rules.registry import load_checks

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def obs(kind: str, payload: dict, *, age: timedelta = timedelta(minutes=1), subject=("host", "T001"), key=""):
    return Observation(source="test", subject_kind=subject[0], subject_id=subject[1], kind=kind, key=key,
                       observed_at=NOW - age, payload=payload)


def run(control_id: str, *observations: Observation, subject=("host", "T001")):
    control = next(c for c in default_catalog() if c.id == control_id)
    spec = load_checks()[control.check or "manual_evidence"]
    latest = {(o.kind, o.key): o for o in observations}
    return evaluate_one(control, spec, subject, latest, NOW)
