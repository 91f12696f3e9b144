"""Running the notifier inside the collector when CLAUSEWATCH_NOTIFY_CONFIG names a config file."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from collector.notify.alerts import ALERTING_STATUSES
from collector.notify.config import load_notify_config
from collector.notify.log import DeliveryLog
from collector.notify.notifier import Notifier, NotifierThread
from collector.notify.receivers import build_receiver
from collector.rooms import engine_rooms
from collector.store.base import Store, StoredFinding

if TYPE_CHECKING:
    from pathlib import Path

    from collector.engine import Engine
    from collector.metrics import Metrics


class NotifierMetrics:
    """Delivery attempts and what is pending, so failing receivers show in Prometheus too."""

    def __init__(self, notifier: Notifier):
        self.notifier = notifier

    def collect(self) -> Iterator[Metric]:
        n = self.notifier
        attempts = CounterMetricFamily("clausewatch_notifications", "Notification delivery attempts",
                                       labels=["receiver", "result"])
        for (receiver, result), count in sorted(n.attempts.items()):
            attempts.add_metric([receiver, result], count)
        yield attempts
        yield GaugeMetricFamily("clausewatch_notifier_alerts", "Alerts the built-in notifier holds",
                                value=sum(len(g.alerts) for g in list(n.groups.values())))
        yield GaugeMetricFamily("clausewatch_notifier_retries_pending", "Failed deliveries waiting to be retried",
                                value=len(n.retries))


def stored_alerting(store: Store) -> list[StoredFinding]:
    """The stored findings the notifier's alerts follow: failing or unknown, and every UPS's runtime
    (whose value says whether it runs on battery)."""
    return [*store.findings_in(statuses=sorted(ALERTING_STATUSES)),
            *store.findings_in(controls=["UPS-RUNTIME"], with_value=True)]


def start_notifier(config_path: Path, store: Store, engine: Engine, metrics: Metrics) -> NotifierThread:
    """Start the notifier of a service whose settings name a notifier config."""
    config = load_notify_config(config_path)
    notifier = Notifier(config, [build_receiver(r) for r in config.receivers], DeliveryLog(store),
                        rooms=lambda: engine_rooms(engine))
    notifier.seed(engine.current())
    metrics.registry.register(NotifierMetrics(notifier))
    engine.listeners.append(notifier.on_changes)
    thread = NotifierThread(notifier, findings=lambda: stored_alerting(store))
    thread.start()
    return thread
