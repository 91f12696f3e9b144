"""A small keep-alive HTTP(S) client on the standard library.

Sources POST JSON to the collector (and the camera worker PUTs attachments); http.client costs a
fraction of the memory of a full client library, which matters for an agent that idles on every terminal.
"""
from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class HttpError(Exception):
    """No answer: connection refused, reset, timed out, TLS failure."""


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class HttpClient:
    def __init__(self, base_url: str, ca_file: Path | None = None, timeout_s: float = 10.0):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"collector url {base_url!r}: expected http(s)://host[:port]")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout_s = timeout_s
        self.context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None) if self.https else None
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.https:
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout_s,
                                                         context=self.context)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        return self._conn

    def post(self, path: str, content: bytes | None = None, json_body: Any = None,
             headers: dict[str, str] | None = None) -> Response:
        body = content if content is not None else json.dumps(json_body).encode()
        return self.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})

    def request(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Response:
        """One request on the kept connection; `path` may carry a query string."""
        try:
            conn = self._connection()
            conn.request(method, self.prefix + path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return Response(r.status, data)
        except (OSError, http.client.HTTPException) as e:
            self.close()  # a half-used connection cannot be trusted: the next call reconnects
            raise HttpError(f"{type(e).__name__}: {e}") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
