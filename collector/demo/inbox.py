"""The demo's alert inbox: a webhook receiver on loopback that keeps what the built-in notifier sends,
so a newcomer sees deliveries on the alerts page without configuring mail or Alertmanager."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_BODY_BYTES = 1024 * 1024


class Inbox:
    """Listens on 127.0.0.1 (a free port) and appends each delivery, as JSON on one line, to `path`."""

    def __init__(self, path: Path):
        self.path = path
        self.received = 0
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self.send_response(413)
                    self.end_headers()
                    return
                inbox.keep(self.rfile.read(length))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet: the file is the log
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._lock = threading.Lock()

    def keep(self, body: bytes) -> None:
        try:
            line = json.dumps(json.loads(body), ensure_ascii=False)
        except ValueError:
            line = json.dumps({"unreadable": body[:200].decode("utf-8", "replace")})
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            self.received += 1

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True, name="demo-inbox").start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def notify_config(self, external_url: str) -> str:
        """The notifier's configuration (YAML is a superset of JSON): every alert to this inbox, quickly."""
        return json.dumps({"group_wait_s": 5, "group_interval_s": 60, "external_url": external_url,
                           "routes": [{"receivers": ["demo-inbox"]}],
                           "receivers": [{"name": "demo-inbox", "webhook": {"url": self.url}}]}, indent=2)


def start_beside(db: Path, external_url: str) -> tuple[Inbox, Path]:
    """A started inbox writing beside the store (`<store>.inbox.jsonl`) and the notifier configuration
    routing every alert to it (`<store>.notify.yaml`); for a store in PostgreSQL, in the local folder
    (collector/store/opening.py `beside_store`), made if missing."""
    from collector.store.opening import beside_store, folder_of

    folder_of(db).mkdir(parents=True, exist_ok=True)
    inbox = Inbox(beside_store(db, ".inbox.jsonl"))
    inbox.start()
    config = beside_store(db, ".notify.yaml")
    config.write_text(inbox.notify_config(external_url), encoding="utf-8")
    return inbox, config
