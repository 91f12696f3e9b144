"""The agent's shipper: the shared spooled sink (agents.shipping.sink.HttpSink), with the agent's own token.

The agent enrolls with the site's secret for a token of its own, keeps it, and enrolls again when the
collector refuses it; everything else (batches, back-off, refusals) is the sink's.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from agents.shipping.http import HttpClient, HttpError
from agents.shipping.sink import Backoff, HttpSink, ShipError, detail
from agents.shipping.spool import Spool

if TYPE_CHECKING:
    from agents.config import CollectorConfig

log = logging.getLogger(__name__)


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


__all__ = ["Backoff", "ShipError", "Shipper", "read_reenroll_code", "read_secret"]


class Shipper(HttpSink):
    def __init__(self, spool: Spool, cfg: CollectorConfig, host_id: str, hostname: str = "",
                 client: HttpClient | None = None):
        super().__init__(spool, client or HttpClient(cfg.urls, cfg.ca_file, cfg.timeout_s),
                         batch_size=cfg.batch_size, backoff=Backoff(cfg.backoff_initial_s, cfg.backoff_max_s))
        self.cfg, self.host_id, self.hostname = cfg, host_id, hostname
        self.token_file = cfg.token_file
        self._token: str | None = None
        self._refused_code: str | None = None  # the code (or "" for none) the collector last refused

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
                      self.host_id, detail(r), self.host_id)
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

    def unauthorized(self) -> NoReturn:
        """The collector no longer knows this token: forget it, so the next try enrolls again."""
        self._token = None
        self.token_file.unlink(missing_ok=True)
        raise ShipError("token refused (401): enrolling again")
