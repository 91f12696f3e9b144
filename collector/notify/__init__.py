"""The built-in notifier for sites without Alertmanager: findings that fail or go unknown become
alerts, grouped and sent by webhook (Alertmanager's payload) or mail, with repeats, resolved
notices, retries and a delivery log."""
