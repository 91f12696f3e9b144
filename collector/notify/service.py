"""Running the notifier inside the collector when CLAUSEWATCH_NOTIFY_CONFIG names a config file."""
from __future__ import annotations

from typing import Any

from collector.notify.config import load_notify_config
from collector.notify.log import DeliveryLog
from collector.notify.notifier import Notifier, NotifierThread
from collector.notify.receivers import build_receiver


def start_notifier(state: Any) -> NotifierThread:
    config = load_notify_config(state.settings.notify_config)
    notifier = Notifier(config, [build_receiver(r) for r in config.receivers], DeliveryLog(state.settings.db))
    notifier.seed(state.engine.current())
    state.engine.listeners.append(notifier.on_changes)
    thread = NotifierThread(notifier)
    thread.start()
    return thread
