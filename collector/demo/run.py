"""Drive the simulated site: write history into a store, or feed a live collector over HTTP."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from collector.demo.site import SimSite
from collector.demo.sources import snapshot
from collector.engine import Engine
from collector.store.base import Store
from rules.kinds import load_kinds

log = logging.getLogger(__name__)


def write_history(store: Store, engine: Engine, site: SimSite, end: datetime, *, step: timedelta,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """Snapshot the site every `step` from site.start to `end`, evaluating as of each step."""
    total_steps = int((end - site.start) / step) + 1
    site.step = step
    t, n, i = site.start, 0, 0
    for host in site.hosts:
        engine.add_subject("host", host, site.site)
    while t <= end:
        batch = snapshot(site, t)
        for ref, content in site.attachments.values():
            store.put_evidence(content, ref.name, ref.media_type)
        site.attachments.clear()
        derived = []  # the store's own observations (agents' sequence tallies)
        for k in range(0, len(batch), 5000):
            res = store.ingest(batch[k:k + 5000], actor="simulator", received_at=t)
            n += res.accepted
            derived += res.derived
        engine.note([*batch, *derived])
        engine.evaluate(None, now=t)
        if i % 24 == 0:
            store.checkpoint(ts=t)
        i += 1
        if progress:
            progress(i, total_steps)
        t += step
    store.checkpoint()
    return n


def continuing(store: Store, terminals: int, cameras: int, now: datetime) -> SimSite:
    """The simulated site on the timeline of the history already in `store`, so a live feed carries on
    the same day count, batches and planted faults: day 0 is when the history registered its batches
    (its first moment); a store with no simulated history starts day 0 `now`."""
    registered = store.observations(kind="batch.registered", subject_kind="batch", limit=100)
    start = min((o.observed_at for o in registered if o.source == "import:dispatch"), default=now)
    return SimSite(terminals=terminals, cameras=cameras, start=start)


class LiveFeeder(threading.Thread):
    """Enrolls every simulated terminal with the collector and posts snapshots over HTTP, as agents
    and pollers would."""

    def __init__(self, base_url: str, site: SimSite, enroll_secret: str, source_token: str, *,
                 interval_s: float = 30.0, reenroll_codes: dict[str, str] | None = None):
        super().__init__(name="clausewatch-demo-feeder", daemon=True)
        self.base_url, self.site = base_url, site
        self.enroll_secret, self.source_token = enroll_secret, source_token
        self.reenroll_codes = reenroll_codes or {}  # terminals enrolled by an earlier run of the demo
        self.interval_s = interval_s
        site.step = timedelta(seconds=interval_s)
        self.stop_event = threading.Event()
        self.tokens: dict[str, str] = {}
        self.uploaded: set[str] = set()  # attachments already sent (the same picture is sent once)

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            for host in self.site.hosts:
                r = client.post("/api/v1/enroll", json={"secret": self.enroll_secret, "host_id": host,
                                                        "hostname": f"cs-{host.lower()}",
                                                        "reenroll_code": self.reenroll_codes.get(host)})
                r.raise_for_status()
                self.tokens[host] = r.json()["token"]
            while not self.stop_event.is_set():
                try:
                    self.feed_once(client, datetime.now(UTC))
                except httpx.HTTPError as e:
                    log.warning("demo feed failed: %s", e)
                self.stop_event.wait(self.interval_s)

    def feed_once(self, client: httpx.Client, t: datetime) -> None:
        t = t.replace(microsecond=0)
        by_token: dict[str, list[dict]] = {}
        derived = {k for k, spec in load_kinds().items() if spec.owner == "collector"}
        for o in snapshot(self.site, t):
            if o.kind in derived:  # manual evidence is uploaded, not posted; the collector writes the rest
                continue
            token = self.tokens.get(o.subject_id) if o.subject_kind == "host" else self.source_token
            if token:
                by_token.setdefault(token, []).append(o.model_dump(mode="json"))
        for ref, content in self.site.attachments.values():  # observations name them: they go first
            if ref.sha256 not in self.uploaded:
                r = client.put(f"/api/v1/blobs/{ref.sha256}", content=content, params={"name": ref.name},
                               headers={"Authorization": f"Bearer {self.source_token}", "Content-Type": ref.media_type})
                r.raise_for_status()
                self.uploaded.add(ref.sha256)
        self.site.attachments.clear()
        for token, batch in by_token.items():
            r = client.post("/api/v1/observations", json={"observations": batch},
                            headers={"Authorization": f"Bearer {token}"})
            r.raise_for_status()
