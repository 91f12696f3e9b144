"""The sinks every source delivers observations through.

`HttpSink`: spool -> `POST /api/v1/observations` in batches, at least once, with back-off and jitter;
with several collectors, the client (agents.shipping.http) moves on to the next when one is away.
Observations carry ids chosen by their source, so a batch sent twice (the answer was lost) is stored
once by the collector. A batch leaves the spool only after the collector has answered 200; what the
collector refuses for good (403, 422) is dropped and counted so the spool does not jam; anything else
(offline, 5xx, a refused token) keeps it spooled for the next try.

`StoreSink`: straight into a store in the same process, for a source running beside the collector.
"""
from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from agents.shipping.http import HttpClient, HttpError, Response
from agents.shipping.spool import Spool

log = logging.getLogger(__name__)
OBSERVATIONS_PATH = "/api/v1/observations"
REFUSED_FOR_GOOD = (403, 422)  # the collector will never take these bodies


class ShipError(Exception):
    """The collector could not take the batch now; try again later (not before `retry_after_s`, when the
    collector said so)."""

    def __init__(self, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Refused(ShipError):
    """The collector refused the batch for good (4xx): sending it again will not help."""


class Model(Protocol):
    """A validated observation (rules.model.Observation): its id and its JSON form."""

    id: str

    def model_dump_json(self) -> str: ...


def bodies_of(observations: Sequence[Model]) -> list[tuple[str, bytes]]:
    """(id, JSON body) pairs, the form the spool keeps."""
    return [(o.id, o.model_dump_json().encode()) for o in observations]


@dataclass
class Backoff:
    """Exponential back-off with full jitter: a random wait in [initial, min(max, initial * 2**n)]."""

    initial_s: float = 1.0
    max_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay_s(self, retry_after_s: float | None = None) -> float:
        """The next wait; at least the server's Retry-After (a collector waiting for its database says
        how long), but never beyond `max_s`."""
        ceiling = min(self.max_s, self.initial_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        delay = self.rng.uniform(self.initial_s, max(self.initial_s, ceiling))
        return min(self.max_s, max(delay, retry_after_s or 0.0))

    def reset(self) -> None:
        self.failures = 0


def detail(r: Response) -> str:
    """The collector's reason from an error answer, short and on one line."""
    try:
        body = r.json()
    except ValueError:
        body = None
    reason = body.get("detail") if isinstance(body, dict) else None
    return str(reason or r.text)[:300].replace("\n", " ")


def post_observations(client: HttpClient, token: str, bodies: Sequence[bytes]) -> Response:
    """One batch of JSON bodies; an answer whatever its status, ShipError when there is none."""
    payload = b'{"observations":[' + b",".join(bodies) + b"]}"
    try:
        return client.post(OBSERVATIONS_PATH, content=payload, headers={"Authorization": f"Bearer {token}"})
    except HttpError as e:
        raise ShipError(str(e)) from None


def send_now(client: HttpClient, token: str, observations: Sequence[Model]) -> dict[str, Any]:
    """Deliver one atomic batch without a spool, for a command the user re-runs: the collector's answer
    (accepted, duplicates, ledger_seq), or Refused (4xx) / ShipError (offline, 5xx) naming the reason."""
    r = post_observations(client, token, [body for _, body in bodies_of(observations)])
    if 400 <= r.status_code < 500:
        raise Refused(f"HTTP {r.status_code}: {detail(r)}")
    if r.status_code != 200:
        raise ShipError(f"HTTP {r.status_code}: {detail(r)}")
    answer: dict[str, Any] = r.json()
    return answer


def _wait(seconds: float) -> bool:
    """Sleep; True when told to stop meanwhile (never, for a plain sleep)."""
    return threading.Event().wait(seconds)


class HttpSink:
    """Spooled delivery to the collector with a source token; the agent's shipper renews its own."""

    def __init__(self, spool: Spool, client: HttpClient, *, token: str | None = None, batch_size: int = 500,
                 backoff: Backoff | None = None, sleep: Callable[[float], bool] = _wait):
        self.spool, self.client, self.batch_size = spool, client, batch_size
        self.backoff = backoff or Backoff()
        self.sleep = sleep
        self.rejected_total = 0
        self._source_token = token
        self._lock = threading.Lock()

    def token(self) -> str:
        if not self._source_token:
            raise ShipError("no source token configured")
        return self._source_token

    def unauthorized(self) -> NoReturn:
        """The collector refused the token (401): a source token cannot renew itself, so wait."""
        raise ShipError("token refused (401): observations stay in the spool")

    def put(self, observations: Sequence[Model]) -> None:
        """Spool validated observations: on disk when this returns, delivered later by `flush`/`drain`."""
        self.spool.put_bodies(bodies_of(observations))

    def pending(self) -> int:
        return self.spool.stats().pending

    def _post(self, bodies: list[bytes]) -> Response:
        return post_observations(self.client, self.token(), bodies)

    def ship_batch(self) -> int:
        """Send the oldest batch; returns how many left the spool (0: nothing pending).

        One batch at a time: the connection is not shared between threads (ship loop, final flush)."""
        with self._lock:
            return self._ship_batch()

    def _ship_batch(self) -> int:
        batch = self.spool.peek(self.batch_size)
        if not batch:
            return 0
        r = self._post([b for _, b in batch])
        if r.status_code == 401:
            self.unauthorized()
        if r.status_code in REFUSED_FOR_GOOD and len(batch) > 1:
            return self._ship_one_by_one(batch)
        if r.status_code in REFUSED_FOR_GOOD:
            # drop them, counted, so the spool does not jam
            self.rejected_total += len(batch)
            log.error("collector rejected %d observation(s): %s", len(batch), r.text[:300])
            self.spool.ack([rowid for rowid, _ in batch])
            return len(batch)
        if r.status_code != 200:
            raise ShipError(f"HTTP {r.status_code}: {r.text[:200]}", r.retry_after_s)
        self.spool.ack([rowid for rowid, _ in batch])
        return len(batch)

    def _ship_one_by_one(self, batch: list[tuple[int, bytes]]) -> int:
        for rowid, body in batch:
            r = self._post([body])
            if r.status_code in REFUSED_FOR_GOOD:
                self.rejected_total += 1
                log.error("collector rejected observation %s: %s", json.loads(body).get("id"), r.text[:300])
            elif r.status_code != 200:
                raise ShipError(f"HTTP {r.status_code}", r.retry_after_s)
            self.spool.ack([rowid])
        return len(batch)

    def drain(self, stop: Callable[[], bool]) -> None:
        """Ship until the spool is empty; wait with back-off while the collector is away."""
        while not stop():
            try:
                if self.ship_batch() == 0:
                    return
                self.backoff.reset()
            except ShipError as e:
                delay = self.backoff.next_delay_s(e.retry_after_s)
                log.warning("shipping paused %.1f s: %s", delay, e)
                if self.sleep(delay):
                    return

    def flush(self) -> bool:
        """Ship what is pending without waiting: stop at the first failure. True when the spool is empty."""
        try:
            while self.ship_batch():
                pass
        except ShipError as e:
            log.info("left in the spool: %s", e)
            return False
        return True

    def send(self, observations: Sequence[Model]) -> None:
        """Spool, then try to deliver everything pending; ShipError says how many still wait (they stay
        spooled and go with the next flush)."""
        self.put(observations)
        if not self.flush():
            raise ShipError(f"{self.pending()} observation(s) wait in the spool for the collector")

    def close(self) -> None:
        self.client.close()


class Store(Protocol):
    def ingest(self, observations: Any, *, actor: str) -> Any: ...


class StoreSink:
    """Ingest into a store in this process (a source beside the collector): stored when this returns."""

    def __init__(self, store: Store, *, actor: str):
        self.store, self.actor = store, actor

    def send(self, observations: Sequence[Model]) -> None:
        self.store.ingest(list(observations), actor=self.actor)
