"""Real Prometheus, Alertmanager and a webhook receiver on loopback ports, owned by the tests."""
from __future__ import annotations

import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import yaml

from tests.integration.nut_server import free_port

ROOT = Path(__file__).resolve().parents[2]


class WebhookReceiver:
    """Records every JSON body POSTed to it (Alertmanager's webhook payload)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                n = int(self.headers.get("content-length") or 0)
                received.append(json.loads(self.rfile.read(n) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, predicate, timeout_s: float) -> dict | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for body in list(self.bodies):
                if predicate(body):
                    return body
            time.sleep(0.2)
        return None


class Process:
    def __init__(self, root: Path, name: str):
        self.root, self.name = root, name
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = root / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self, args: list[str], ready_path: str) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + ready_path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Alertmanager(Process):
    def __init__(self, root: Path, webhook_url: str):
        super().__init__(root, "alertmanager")
        self.webhook_url = webhook_url

    def start(self) -> None:
        config = {
            "route": {"receiver": "hook", "group_by": ["alertname", "site"], "group_wait": "1s",
                      "group_interval": "1s", "repeat_interval": "1h"},
            "inhibit_rules": yaml.safe_load((ROOT / "deploy/alertmanager/alertmanager.yml").read_text())[
                "inhibit_rules"],
            "receivers": [{"name": "hook", "webhook_configs": [{"url": self.webhook_url, "send_resolved": True}]}]}
        path = self.root / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config))
        self.spawn(["prometheus-alertmanager", f"--config.file={path}", f"--storage.path={self.root / 'am-data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="], "/-/ready")


class Prometheus(Process):
    def __init__(self, root: Path, target: str, token: str, alertmanager: str):
        super().__init__(root, "prometheus")
        self.target, self.token, self.alertmanager = target, token, alertmanager

    def start(self) -> None:
        token_file = self.root / "clausewatch.token"
        token_file.write_text(self.token)
        token_file.chmod(0o600)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in sorted((ROOT / "rules/prometheus").glob("*.yml"))],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [self.alertmanager]}]}]},
            "scrape_configs": [{"job_name": "clausewatch", "metrics_path": "/metrics",
                                "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
                                "static_configs": [{"targets": [self.target]}]}]}
        path = self.root / "prometheus.yml"
        path.write_text(yaml.safe_dump(config))
        self.spawn(["prometheus", f"--config.file={path}", f"--storage.tsdb.path={self.root / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}"], "/-/ready")

    def query(self, expr: str) -> list[dict]:
        r = httpx.get(self.url + "/api/v1/query", params={"query": expr}, timeout=5)
        return r.json()["data"]["result"]
