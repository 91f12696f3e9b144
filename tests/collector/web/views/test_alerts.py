"""The alerts page says who was notified of each open alert, from the notifier's delivery log."""
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from collector.engine import Engine
from collector.notify.alerts import finding_alert
from collector.notify.log import DeliveryLog
from collector.web.views.alerts import open_alerts
from rules.catalog import default_catalog
from rules.model import Observation

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_open_alerts_carry_their_deliveries(store):
    engine = Engine(store, list(default_catalog()))
    obs = [Observation(source="t", subject_kind="ups", subject_id="ups-1", kind="ups.status", observed_at=T0,
                       payload={"flags": ["OB"], "battery_runtime_s": 900})]
    store.ingest(obs, actor="t")
    engine.evaluate(engine.note(obs), now=T0)
    state = SimpleNamespace(store=store)
    [before] = [a for a in open_alerts(state) if a["f"].control == "UPS-RUNTIME"]
    assert before["notified"] == []
    finding = before["f"]
    log = DeliveryLog(store)
    fp = finding_alert(finding).fingerprint
    log.record(T0 + timedelta(seconds=30), "facility-webhook", "g", "firing", [fp], 1, None)
    log.record(T0 + timedelta(seconds=40), "facility-mail", "g", "firing", [fp], 1, "connection refused")
    log.record(T0 - timedelta(days=1), "old", "g", "firing", [fp], 1, None)  # an earlier episode
    [after] = [a for a in open_alerts(state) if a["f"].control == "UPS-RUNTIME"]
    assert [(d["receiver"], d["ok"]) for d in after["notified"]] == [("facility-mail", False),
                                                                     ("facility-webhook", True)]
