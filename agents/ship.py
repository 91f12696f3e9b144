"""The shipper: spool -> collector in batches, at least once, with back-off and jitter.

Observations carry ids chosen here, so a batch sent twice (the answer was lost) is stored
once by the collector. A batch leaves the spool only after the collector has answered 200.
"""
from __future__ import annotations

import json
import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shipping.http import HttpClient, HttpError, Response
from shipping.spool import Spool

if TYPE_CHECKING:
    from agents.config import CollectorConfig

log = logging.getLogger(__name__)


class ShipError(Exception):
    """The collector could not take the batch now; try again later."""


@dataclass
class Backoff:
    """Exponential back-off with full jitter: a random wait in [initial, min(max, initial * 2**n)]."""

    initial_s: float = 1.0
    max_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay_s(self) -> float:
        ceiling = min(self.max_s, self.initial_s * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self.rng.uniform(self.initial_s, max(self.initial_s, ceiling))

    def reset(self) -> None:
        self.failures = 0


def _inline_or_file(inline: str | None, path: Path | None, *, missing_ok: bool = False) -> str | None:
    """A credential given in the configuration or in a file of its own (read each time: it may change)."""
    if inline:
        return inline
    if path:
        try:
            return path.read_text().strip() or None
        except FileNotFoundError:
            if missing_ok:
                return None
            raise ShipError(f"{path}: no such file") from None
        except OSError as e:
            raise ShipError(f"{path}: {e.strerror}") from None
    return None


def read_secret(cfg: CollectorConfig) -> str | None:
    return _inline_or_file(cfg.enroll_secret, cfg.enroll_secret_file)


def read_reenroll_code(cfg: CollectorConfig) -> str | None:
    """The file may be configured ahead and written only when an admin has issued a code."""
    return _inline_or_file(cfg.reenroll_code, cfg.reenroll_code_file, missing_ok=True)


def _detail(r: Response) -> str:
    """The collector's reason from an error answer, short and on one line."""
    try:
        body = r.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail or r.text)[:300].replace("\n", " ")


@dataclass
class Shipper:
    spool: Spool
    cfg: CollectorConfig
    host_id: str
    hostname: str = ""
    client: HttpClient | None = None
    backoff: Backoff = field(default_factory=Backoff)
    sleep: Callable[[float], bool] = field(default=lambda s: threading.Event().wait(s))
    rejected_total: int = 0

    def __post_init__(self) -> None:
        self.token_file = self.cfg.token_file
        self.backoff = Backoff(self.cfg.backoff_initial_s, self.cfg.backoff_max_s)
        if self.client is None:
            self.client = HttpClient(self.cfg.url or "", self.cfg.ca_file, self.cfg.timeout_s)
        self._token: str | None = None
        self._refused_code: str | None = None  # the code (or "" for none) the collector last refused
        self._lock = threading.Lock()

    # --- enrollment -------------------------------------------------------------------------
    def token(self) -> str:
        if self._token:
            return self._token
        try:
            self._token = self.token_file.read_text().strip() or None
        except OSError:
            self._token = None
        if not self._token:
            self._token = self.enroll()
        return self._token

    def enroll(self) -> str:
        """Exchange the site's enroll secret for this agent's token and keep it (mode 0600).

        A host the collector already knows needs a re-enrollment code too; once refused, the agent
        asks again only when the code it holds changes, and meanwhile keeps spooling."""
        secret = read_secret(self.cfg)
        if not secret:
            raise ShipError("not enrolled and no enroll secret configured ([collector] enroll_secret_file)")
        code = read_reenroll_code(self.cfg)
        if self._refused_code is not None and self._refused_code == (code or ""):
            raise ShipError(f"enrollment of {self.host_id} was refused; waiting for a re-enrollment code "
                            "([collector] reenroll_code_file)")
        assert self.client is not None
        try:
            r = self.client.post("/api/v1/enroll", json_body={"secret": secret, "host_id": self.host_id,
                                                              "hostname": self.hostname or None,
                                                              "reenroll_code": code})
        except HttpError as e:
            raise ShipError(f"enroll: {e}") from None
        if r.status_code in (403, 409):
            self._refused_code = code or ""
            log.error("the collector refused to enroll %s again (%s); observations stay in the spool until a "
                      "one-time code from `clausewatch reenroll-code %s` is in [collector] reenroll_code_file",
                      self.host_id, _detail(r), self.host_id)
            raise ShipError(f"enroll refused: HTTP {r.status_code}")
        if r.status_code != 200:
            raise ShipError(f"enroll refused: HTTP {r.status_code}")
        self._refused_code = None
        token = r.json()["token"]
        self.token_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token)
        log.info("enrolled as %s", self.host_id)
        return token

    # --- shipping ---------------------------------------------------------------------------
    def _post(self, bodies: list[bytes]) -> Response:
        assert self.client is not None
        payload = b'{"observations":[' + b",".join(bodies) + b"]}"
        try:
            return self.client.post("/api/v1/observations", content=payload,
                                    headers={"Authorization": f"Bearer {self.token()}"})
        except HttpError as e:
            raise ShipError(str(e)) from None

    def ship_batch(self) -> int:
        """Send the oldest batch; returns how many left the spool (0: nothing pending).

        One batch at a time: the connection is not shared between threads (ship loop, final flush)."""
        with self._lock:
            return self._ship_batch()

    def _ship_batch(self) -> int:
        batch = self.spool.peek(self.cfg.batch_size)
        if not batch:
            return 0
        r = self._post([b for _, b in batch])
        if r.status_code == 401:
            self._token = None
            self.token_file.unlink(missing_ok=True)
            raise ShipError("token refused (401): enrolling again")
        if r.status_code in (403, 422) and len(batch) > 1:
            return self._ship_one_by_one(batch)
        if r.status_code in (403, 422):
            # the collector will never take these: drop them, counted, so the spool does not jam
            self.rejected_total += len(batch)
            log.error("collector rejected %d observation(s): %s", len(batch), r.text[:300])
            self.spool.ack([rowid for rowid, _ in batch])
            return len(batch)
        if r.status_code != 200:
            raise ShipError(f"HTTP {r.status_code}: {r.text[:200]}")
        self.spool.ack([rowid for rowid, _ in batch])
        return len(batch)

    def _ship_one_by_one(self, batch: list[tuple[int, bytes]]) -> int:
        for rowid, body in batch:
            r = self._post([body])
            if r.status_code in (403, 422):
                self.rejected_total += 1
                log.error("collector rejected observation %s: %s", json.loads(body).get("id"), r.text[:300])
            elif r.status_code != 200:
                raise ShipError(f"HTTP {r.status_code}")
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
                delay = self.backoff.next_delay_s()
                log.warning("shipping paused %.1f s: %s", delay, e)
                if self.sleep(delay):
                    return

    def flush(self) -> None:
        """Ship what is pending without waiting: stop at the first failure."""
        try:
            while self.ship_batch():
                pass
        except ShipError as e:
            log.info("left in the spool: %s", e)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
