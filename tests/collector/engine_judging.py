"""Observations the engine tests feed a store, and the comparison their rounds end with: what a new engine,
judging everything the store holds from scratch, finds different."""
import random
from datetime import UTC, datetime, timedelta

from collector.engine import Engine
from collector.proof.deepverify import verify_derived
from rules.catalog import default_catalog
from rules.model import Observation

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def usb(host: str, t: datetime, usable: bool) -> Observation:
    dev = {"vendor_id": "0781", "product_id": "5567", "classes": ["08"], "authorized": usable}
    return Observation(source="t", subject_kind="host", subject_id=host, kind="usb.devices", observed_at=t,
                       payload={"enforcement": "sysfs", "devices": [dev]})


def identity(host: str, t: datetime, *people: str) -> Observation:
    return Observation(source="t", subject_kind="host", subject_id=host, kind="host.identity", observed_at=t,
                       payload={"hostname": host, "interactive_users": list(people), "addresses": []})


def heartbeat(host: str, t: datetime) -> Observation:
    return Observation(source="t", subject_kind="host", subject_id=host, kind="agent.heartbeat", observed_at=t,
                       payload={"version": "0.1.0", "interval_s": 60})


def full_scan(host: str, t: datetime) -> Observation:
    return Observation(source="t", subject_kind="host", subject_id=host, kind="pii.scan", observed_at=t,
                       payload={"full": True, "finished_at": t.isoformat(), "totals": {}, "batches": {}})


def random_observation(rng: random.Random, now: datetime) -> Observation:
    """One observation of a small site, of a kind some check reads across subjects; payloads drawn so
    that people share terminals, canaries catch addresses and batches find data left behind."""
    host, at = f"h{rng.randrange(5)}", now - timedelta(minutes=rng.randrange(0, 240, 15))
    people, addresses = ["ann", "bo", "cy", "di"], ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    kind = rng.choice(["host.identity", "host.identity", "canary.status", "mail.egress", "internet.egress",
                       "pii.scan", "agent.heartbeat", "batch.registered"])
    subject_kind, subject_id, key, payload = "host", host, "", {}
    if kind == "host.identity":
        payload = {"hostname": host, "interactive_users": rng.sample(people, rng.randrange(3)),
                   "addresses": rng.sample(addresses, rng.randrange(2))}
        if rng.random() < 0.1:  # stored before ingest checked payloads: no people can be read from it
            payload["interactive_users"] = rng.choice([7, [["ann"]], "bo"])
    elif kind == "canary.status":
        hits = [{"source_address": rng.choice(addresses), "port": rng.choice([25, 443]), "at": at.isoformat()}
                for _ in range(rng.randrange(3))]
        subject_kind, subject_id = "canary", f"c{rng.randrange(2)}"
        payload = {"hit_count": len(hits), "sources": sorted({h["source_address"] for h in hits}), "hits": hits}
    elif kind == "mail.egress":
        payload = {"attempts": [{"target": "canary", "port": 25, "result": rng.choice(["timeout", "connected"])}]}
    elif kind == "internet.egress":
        payload = {"canary": {"target": "canary", "port": 443, "result": rng.choice(["timeout", "connected"])}}
    elif kind == "pii.scan":
        key = rng.choice(["", "watch"])
        payload = {"full": not key, "finished_at": at.isoformat(), "totals": {},
                   "batches": {"b1": rng.randrange(2)}}
    elif kind == "agent.heartbeat":
        payload = {"version": "0.1.0", "interval_s": 3600}
    else:
        subject_kind, subject_id = "batch", "b1"
        payload = {"deadline": (now - timedelta(hours=rng.choice([1, 3, -5]))).isoformat()}
    return Observation(source="t", subject_kind=subject_kind, subject_id=subject_id, kind=kind, key=key,
                       observed_at=at, payload=payload)


def changed_by_judging_from_scratch(store, now: datetime) -> list[tuple]:
    """What a new engine, judging everything the store holds at `now`, finds different from the store's findings."""
    judged_again: list = []
    fresh = Engine(store, list(default_catalog()))
    fresh.listeners.append(judged_again.extend)
    fresh.evaluate(None, now=now)
    return [(c.finding.control, c.finding.subject_id, c.previous_status, c.finding.status, c.finding.reason_en)
            for c in judged_again]


def assert_the_ledgered_history_judges_the_same(store) -> None:
    """`ledger verify --deep` judges from the ledgered history what the engine recorded."""
    with store.derived_rows() as tables:
        deep = verify_derived(tables, list(default_catalog()))
    assert deep.ok, [d.text() for d in deep.differences[:5]]
