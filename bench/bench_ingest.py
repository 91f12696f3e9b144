"""Ingest through the HTTP API in batches of 500, as a ratio to a raw executemany of the same rows.

Starts a real `clausewatch serve` on a loopback port; posts from a few client threads.
"""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdoc import table, write_section  # noqa: E402

N_OBS = int(os.environ.get("BENCH_OBS", "100000"))
BATCH = 500
CLIENTS = 4
PASSWORD = "bench password 123"


def make_batches() -> list[bytes]:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for b in range(N_OBS // BATCH):
        obs = [{"id": str(uuid.uuid4()), "source": "bench", "subject_kind": "host",
                "subject_id": f"T{(b * BATCH + i) % 500:03d}",
                "kind": "usb.devices", "observed_at": (t0 + timedelta(seconds=b)).isoformat(),
                "payload": {"enforcement": "sysfs", "devices": [{"vendor_id": "046d", "product_id": "c31c",
                                                                 "classes": ["03"], "authorized": True}]}}
               for i in range(BATCH)]
        out.append(orjson.dumps({"observations": obs}))
    return out


def raw_executemany(batches: list[bytes], path: Path) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE o (id TEXT UNIQUE, subject_id TEXT, kind TEXT, observed_at TEXT, body BLOB)")
    start = time.perf_counter()
    for raw in batches:
        rows = [(o["id"], o["subject_id"], o["kind"], o["observed_at"], orjson.dumps(o))
                for o in orjson.loads(raw)["observations"]]
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO o VALUES (?,?,?,?,?)", rows)
        conn.execute("COMMIT")
    return time.perf_counter() - start


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-"))
    db = tmp / "cw.db"
    from collector import auth
    from collector.store.sqlite import SqliteStore

    store = SqliteStore(db)
    auth.add_user(store, "bench", "admin", PASSWORD)
    store.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).parent / "clausewatch"), "serve", "--db", str(db),
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = httpx.post(url + "/api/v1/auth/token", json={"username": "bench", "password": PASSWORD}).json()["token"]
        batches = make_batches()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        clients = [httpx.Client(base_url=url, headers=headers, timeout=60) for _ in range(CLIENTS)]

        def post(i: int) -> int:
            r = clients[i % CLIENTS].post("/api/v1/observations", content=batches[i])
            r.raise_for_status()
            return r.json()["accepted"]

        start = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            accepted = sum(pool.map(post, range(len(batches))))
        api_s = time.perf_counter() - start
        assert accepted == N_OBS, accepted
        raw_s = raw_executemany(batches, tmp / "raw.db")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(20)
    api_rate, raw_rate = N_OBS / api_s, N_OBS / raw_s
    rows = [["HTTP API, batches of 500, 4 clients", f"{api_rate:,.0f}", f"{api_s:.2f}"],
            ["raw executemany, same rows", f"{raw_rate:,.0f}", f"{raw_s:.2f}"]]
    body = (f"{N_OBS:,} observations. Target: ≥ 20,000 observations/s through the API.\n\n"
            + table(["path", "observations/s", "seconds"], rows)
            + f"\n\nAPI / raw executemany = **{api_rate / raw_rate:.2f}**. The API also validates every "
              "observation, authorises its subject, hashes it into the batch's Merkle root and appends a "
              "ledger entry, in one transaction.")
    print(body)
    write_section("ingest", body)


if __name__ == "__main__":
    main()
