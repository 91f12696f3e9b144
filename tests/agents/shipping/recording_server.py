"""A real HTTP server on 127.0.0.1 that records what it is sent and answers each request with the next
status of a script (200 once the script is used up), for sinks that must see refusals and outages."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what the server answered

    def observations(self) -> list[dict]:
        return json.loads(self.body)["observations"]


@dataclass
class RecordingServer:
    statuses: list[int] = field(default_factory=list)  # answers in order; then 200 (201 for PUT)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    retry_after: str | None = None  # sent with every 5xx when set

    def answer(self, request: Seen) -> int:
        request.status = self.statuses.pop(0) if self.statuses else 201 if request.method == "PUT" else 200
        self.seen.append(request)
        return request.status

    def posted(self) -> list[dict]:
        """Every observation the server took (answered 200)."""
        return [o for s in self.seen if s.method == "POST" and s.path == "/api/v1/observations" and s.status == 200
                for o in s.observations()]


@contextmanager
def recording_server(statuses: list[int] | None = None) -> Iterator[RecordingServer]:
    server = RecordingServer(list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the collector answers

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = server.answer(Seen(self.command, parts.path, parse_qs(parts.query),
                                        {k.lower(): v for k, v in self.headers.items()}, body))
            reply = json.dumps({"detail": "refused"} if status >= 400 else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            if status >= 500 and server.retry_after is not None:
                self.send_header("Retry-After", server.retry_after)
            self.end_headers()
            self.wfile.write(reply)

        do_POST = do_PUT = _handle  # noqa: N815 - http.server's naming

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
