"""A small keep-alive HTTP(S) client on the standard library, for one collector or several.

Sources POST JSON to the collector (and the camera worker PUTs attachments); http.client costs a
fraction of the memory of a full client library, which matters for an agent that idles on every terminal.

Several base URLs are collectors of one store (docs/deployment.md): a request goes to the current one
and, when it gives no answer or a 5xx, to the next, once round; the last that answered stays current.
Every call the sources make may be repeated on another collector: ingest is idempotent on observation
ids, attachments on their hash, and an enrollment that failed with a 5xx stored nothing.
"""
from __future__ import annotations

import http.client
import json
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


class HttpError(Exception):
    """No answer: connection refused, reset, timed out, TLS failure."""


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes
    retry_after_s: float | None = None  # the server's Retry-After, in seconds, when it gave one

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


def split_urls(text: str) -> list[str]:
    """Collector URLs given as one comma-separated value (a command-line option, an environment variable)."""
    return [u.strip() for u in text.split(",") if u.strip()]


def check_url(base_url: str) -> str:
    """`base_url` when it is http(s)://host[:port][/prefix]; ValueError naming it otherwise."""
    parts = urlsplit(base_url)
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number or out of range)
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"collector url {base_url!r}: expected http(s)://host[:port]")
    return base_url


def _retry_after_s(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: the back-off decides instead
        return None


class Endpoint:
    """One collector's base URL and the connection kept open to it."""

    def __init__(self, base_url: str, context: ssl.SSLContext | None, timeout_s: float):
        parts = urlsplit(check_url(base_url))
        self.url = base_url
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout_s = timeout_s
        self.context = context if self.https else None
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.https:
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout_s,
                                                         context=self.context)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        return self._conn

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Response:
        try:
            conn = self._connection()
            conn.request(method, self.prefix + path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return Response(r.status, data, _retry_after_s(r.getheader("Retry-After")))
        except (OSError, http.client.HTTPException) as e:
            self.close()  # a half-used connection cannot be trusted: the next call reconnects
            raise HttpError(f"{self.url}: {type(e).__name__}: {e}") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class HttpClient:
    """Requests to one collector, or to the first of several that answers without a server error.

    TLS: one CA file (`ca_file`) pins every collector; each must present a certificate for the host
    name its URL uses."""

    def __init__(self, base_url: str | Sequence[str], ca_file: Path | None = None, timeout_s: float = 10.0):
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("no collector url given")
        https = any(urlsplit(u).scheme == "https" for u in urls)
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None) if https else None
        self.endpoints = [Endpoint(u, context, timeout_s) for u in urls]
        self.current = 0  # the collector tried first: the last one that answered

    @property
    def url(self) -> str:
        """The base URL of the collector tried first."""
        return self.endpoints[self.current].url

    def post(self, path: str, content: bytes | None = None, json_body: Any = None,
             headers: dict[str, str] | None = None) -> Response:
        body = content if content is not None else json.dumps(json_body).encode()
        return self.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Response:
        """One request, on to the next collector after no answer or a 5xx; `path` may carry a query string.

        Returns the first answer below 500, else the last server error; HttpError when none answered."""
        last: Response | None = None
        errors: list[str] = []
        for step in range(len(self.endpoints)):
            at = (self.current + step) % len(self.endpoints)
            try:
                r = self.endpoints[at].request(method, path, body, headers)
            except HttpError as e:
                errors.append(str(e))
                continue
            if r.status_code < 500 or len(self.endpoints) == 1:
                self._settle(at)
                return r
            errors.append(f"{self.endpoints[at].url}: HTTP {r.status_code}")
            last = r
        if last is not None:
            return last
        raise HttpError("; ".join(errors))

    def _settle(self, at: int) -> None:
        if at != self.current:
            log.warning("collector %s unavailable; using %s", self.url, self.endpoints[at].url)
            self.current = at

    def close(self) -> None:
        for e in self.endpoints:
            e.close()
