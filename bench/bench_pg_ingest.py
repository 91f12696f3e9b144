"""Ingest through two collectors on one PostgreSQL in batches of 500, as a ratio to a raw COPY of
the same rows into a table of the observations table's shape, on the same server.

Starts a real PostgreSQL 15 and two `clausewatch serve --db postgresql://…` on loopback ports; client
threads post batches to both at once. Each round runs agents' batches, importer batches and the raw COPY
in turn (the collectors idle meanwhile); the table gives medians over the rounds and each ratio's range.

    .venv/bin/python bench/bench_pg_ingest.py      # BENCH_OBS=50000 observations per run, BENCH_ROUNDS=5
"""
from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from statistics import median

import httpx
import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import AGENTS, BATCH, PASSWORD, cpu_seconds, make_batches  # noqa: E402
from bench_web import serve  # noqa: E402
from benchdoc import table, write_section  # noqa: E402
from pglocal import DURABILITY, local_postgres  # noqa: E402

N_OBS = int(os.environ.get("BENCH_OBS", "50000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
WHERE_THE_TIME_GOES = (
    "Where the time goes. The runs are bound by CPU: two cores shared by the clients, two collectors (each with "
    "its preparation process) and the database. A batch reads before the writers' lock what it only reads (the "
    "ids already stored, the current rows of its keys, which observations are repeats); under the lock it checks "
    "only what other writers stored meanwhile (by number), numbers and writes its rows and its `batches` row. "
    "Profiled with py-spy (threads holding the interpreter lock, every process of both collectors, agents' "
    "batches): preparing a batch (validating, encoding) is about a third of a collector's CPU, the store's part "
    "(drafting, planning, writing) under a third, HTTP an eighth, the engine's rounds a sixteenth. What took "
    "collectors' CPU per observation of an agents' batch from 51-52 to 35-39 µs (runs alternating with the code "
    "before, load about 3): a batch as senders write it is validated without pydantic's datetimes and per-field "
    "Python checks and its payloads taken from the parse that refuses unkeepable numbers (any other batch, and "
    "every refusal, takes the fully checked path, whose rows and messages are the reference; preparation 13.7 to "
    "8.3 µs per observation in one process); a repeat that is its head byte for byte but for its own id, time and "
    "number is found on the bytes, and the heads a plan misses are read in one statement (planning 11.3 to 4.2 "
    "µs); `latest` rows and subjects are upserted in one statement each from binary arrays, rows and repeats go "
    "by one binary COPY each, a subject seen again earlier is not rewritten, `latest` and `subjects` leave room "
    "for in-place updates (the database's CPU per observation of an importer's batch 24-25 to 18 µs in one "
    "process); a pooled connection is checked with a round trip only when its socket says the server spoke or "
    "closed; one header middleware instead of two and one permission dependency instead of three. Importer "
    "batches: what other writers stored since a draft is read between two numbers, so that the statement "
    "prepared for any value still uses the index (it scanned the whole repeats table under the writers' lock, "
    "2 ms per batch at 40,000 repeats and growing with the store); existing `latest` rows are updated rather "
    "than upserted; a collector whose drafts keep being redone plans under the lock for longer each time; the "
    "following collector no longer reads back the rows it stored itself (database 25 to 18-19 µs, collector "
    "33 to 28 µs per observation in one process). Then: a batch that will be planned under the lock has its "
    "rows checked before it against the head each key had when this store last planned it (taken under the "
    "lock only while that head is still current) and its Merkle leaves hashed before it (planning under the "
    "lock 4.5 to 1.5 µs per observation in one process); subjects of keys that have a `latest` row are "
    "updated rather than upserted (the database's cost per subject 6.7 to 3.1 µs); a column of one value "
    "throughout is encoded once (wall 1.6-1.9 to 1.5-1.7 s per 25,000 observations, database 20.4 to 18-19 "
    "µs per observation, medians of runs alternating with the code before at load 3-4). Then: a batch in "
    "the senders' form is parsed once, by orjson, and its shape checked strictly on that parse (preparation "
    "9.7 to 7.6 µs per observation; collectors 46 to 42 µs per importer observation, medians of runs "
    "alternating with the code before at load 5-9). They stay below the goal (medians 0.39-0.49 in six runs "
    "at load 1-1.6, single rounds 0.30-0.56, while their own rate rose from 23,000 to 25,000-28,000 "
    "observations/s as the raw COPY's went from 51,000 to 61,000-68,000): each batch "
    "changes 500 keys and 500 subjects "
    "(500 `latest` rows read and written, the engine's round over 500 subjects with the other collector's "
    "findings read back), and in this script both collectors send the same 500 keys at once, so a batch is "
    "mostly planned under the writers' lock. On this shared machine the raw COPY's own time varies "
    "from 0.7 to 1.7 s between runs and the ratios with it (hence rounds and medians); the CPU columns vary "
    "less.")
COLLECTORS, CLIENTS = 2, 4


def prepare(url: str, key: Path) -> str:
    """Schema, an admin and the enroll secret in the new database; the secret."""
    from collector import auth
    from collector.proof.sitekey import SiteKey
    from collector.store.postgres import PostgresStore

    store = PostgresStore(url, site_key=SiteKey.load_or_create(key))
    auth.add_user(store, "bench", "admin", PASSWORD)
    _, secret = auth.create_enroll_secret(store)
    store.close()
    return secret


def raw_copy(batches: list[bytes], url: str) -> float:
    """COPY each batch in its own transaction into a table like `observations` (same columns,
    identity, unique id and indexes): the database's own cost of taking the rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS raw_observations")  # the last round's
        conn.execute("CREATE TABLE raw_observations (LIKE observations INCLUDING ALL)")
        columns = "id, source, site, subject_kind, subject_id, kind, key, observed_at, received_at, seq, batch, body"
        start = time.perf_counter()
        for b, raw in enumerate(batches):
            received = time.time()
            rows = [(o["id"], o["source"], "default", o["subject_kind"], o["subject_id"], o["kind"], "",
                     datetime.fromisoformat(o["observed_at"]).timestamp(), received, None, b, orjson.dumps(o))
                    for o in orjson.loads(raw)["observations"]]
            with conn.transaction(), conn.cursor() as cur, cur.copy(f"COPY raw_observations ({columns}) FROM STDIN"
                                                                    ) as copy:
                for row in rows:
                    copy.write_row(row)
        return time.perf_counter() - start


def post_all(urls: list[str], batches: list[bytes], token_of) -> float:
    """Wall seconds to post every batch, the clients spread over the collectors."""
    clients = [httpx.Client(base_url=urls[i % len(urls)], headers={"Content-Type": "application/json"}, timeout=120)
               for i in range(CLIENTS)]

    def post(i: int) -> int:
        r = clients[i % CLIENTS].post("/api/v1/observations", content=batches[i],
                                      headers={"Authorization": f"Bearer {token_of(i)}"})
        r.raise_for_status()
        return r.json()["accepted"]

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        accepted = sum(pool.map(post, range(len(batches))))
    assert accepted == len(batches) * 500, accepted
    return time.perf_counter() - start


def warm_up(urls: list[str], tokens: list[str]) -> None:
    """One agent's batch to each collector before the runs, which measure steady ingest as the baseline
    leaves out its connection: the collector's preparation process, started with it, has settled."""
    for c, raw in enumerate(make_batches(len(urls), BATCH * len(urls))):  # batch c is host T00c's
        httpx.post(urls[c] + "/api/v1/observations", content=raw, timeout=120,
                   headers={"Authorization": f"Bearer {tokens[c]}", "Content-Type": "application/json"}
                   ).raise_for_status()


def measured(pids: list[int], pg_pid: int, work: Callable[[], float]) -> tuple[float, float, float]:
    """Wall seconds `work` reports, with the CPU seconds meanwhile of the processes `pids` and of the
    database server (its postmaster and its backends)."""
    before = sum(cpu_seconds(p) for p in pids), database_cpu_seconds(pg_pid)
    seconds = work()
    return seconds, sum(cpu_seconds(p) for p in pids) - before[0], database_cpu_seconds(pg_pid) - before[1]


def database_cpu_seconds(postmaster: int) -> float:
    """CPU so far of the postmaster and its backends, live or ended: a backend that ends meanwhile (a
    collector's connections closing) leaves its time with the postmaster, which waited for it."""
    try:
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # a server this script did not start
        return 0.0
    return cpu_seconds(postmaster) + (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """The highest resident memory of a live process so far (Linux VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def agent_token(tokens: list[str], i: int) -> str:
    return tokens[i % AGENTS]


def same_token(token: str, i: int) -> str:
    return token


def progress(text: str) -> None:
    if sys.stderr.isatty():
        print(text, file=sys.stderr, flush=True)


Measure = tuple[float, float, float]  # wall seconds, collectors' CPU seconds, database CPU seconds


def settled(pids: list[int], pg_pid: int, timeout_s: float = 60.0) -> None:
    """Wait until the collectors and the database are idle (under 5 % of a core over half a second): the
    engine's rounds after a run end before the next run starts."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(p) for p in pids) + database_cpu_seconds(pg_pid)
        time.sleep(0.5)
        if sum(cpu_seconds(p) for p in pids) + database_cpu_seconds(pg_pid) - before < 0.025:
            return


def main() -> None:
    runs: dict[str, list[Measure]] = {"agents": [], "importer": [], "raw": []}
    with local_postgres() as pg:
        url = pg.new_database()
        key = pg.root / "site-key.pem"
        secret = prepare(url, key)
        pg_pid = pg.proc.pid if pg.proc else 0
        collectors = [serve(url, {"CLAUSEWATCH_SITE_KEY": str(key)}) for _ in range(COLLECTORS)]
        urls = [u for _, u in collectors]
        pids = [p.pid for p, _ in collectors]
        try:
            admin = httpx.post(urls[0] + "/api/v1/auth/token", json={"username": "bench", "password": PASSWORD}
                               ).json()["token"]
            enroll = [{"secret": secret, "host_id": f"T{a:03d}"} for a in range(AGENTS)]
            tokens = [httpx.post(urls[a % COLLECTORS] + "/api/v1/enroll", json=body).json()["token"]
                      for a, body in enumerate(enroll)]
            warm_up(urls, tokens)
            for r in range(ROUNDS):
                progress(f"round {r + 1} of {ROUNDS}")
                agent_batches, mixed_batches = make_batches(AGENTS, N_OBS), make_batches(None, N_OBS)
                works = {"agents": (pids, partial(post_all, urls, agent_batches, partial(agent_token, tokens))),
                         "importer": (pids, partial(post_all, urls, mixed_batches, partial(same_token, admin))),
                         "raw": ([], partial(raw_copy, mixed_batches, url))}
                for path, (watched, work) in works.items():
                    settled(pids, pg_pid)
                    runs[path].append(measured(watched, pg_pid, work))
            peak_mib = max(peak_rss_mib(pid) for pid in pids)
        finally:
            for proc, _ in collectors:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        verified = verify(url, key)

    def row(what: str, path: str, collectors: bool = True) -> list[object]:
        ms = runs[path]
        ratios = [raw[0] / m[0] for raw, m in zip(runs["raw"], ms, strict=True)]
        seconds = median(m[0] for m in ms)
        return [what, f"{N_OBS / seconds:,.0f}", f"{seconds:.2f}",
                f"{median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})" if path != "raw" else "1.00",
                f"{median(m[1] for m in ms) / N_OBS * 1e6:.0f}" if collectors else "",
                f"{median(m[2] for m in ms) / N_OBS * 1e6:.0f}"]

    rows = [row(f"two collectors, agents' batches of 500 (one host each, 8 kinds; {AGENTS} agent tokens), "
                f"{CLIENTS} clients", "agents"),
            row(f"two collectors, batches of 500 spanning 500 hosts (an importer's), {CLIENTS} clients", "importer"),
            row("raw COPY of the same rows, one transaction per batch (baseline)", "raw", collectors=False)]
    load = os.getloadavg()[0]
    body = (f"{N_OBS:,} observations per run, {ROUNDS} rounds (each: agents' batches, importer batches, the raw "
            f"COPY, the collectors idle before each); medians, and the range of each round's ratio; load "
            f"average {load:.1f} when measured. Goal: ≥ 0.5× the raw COPY.\n\n"
            + table(["path", "observations/s", "seconds", "× raw COPY (range)", "collectors' CPU µs/observation",
                     "database CPU µs/observation"], rows)
            + f"\n\nA real PostgreSQL 15 on the same machine ({DURABILITY}: both paths alike) and two "
              "`clausewatch serve --db postgresql://…`; the client threads post to both at once. Each batch is "
              "validated, authorised, hashed into its Merkle root and stored under the writers' advisory lock "
              "as a `batches` row naming that root, with its observations COPYed, in one transaction; no ledger "
              "entry per batch: a seal entry commits to every batch of its interval later, on one chain. The baseline "
              "COPYs the same rows into a table like `observations` (same columns and indexes). "
              f"`ledger verify` afterwards: {verified}. Peak resident memory of a collector: {peak_mib:.0f} MiB. "
              f"Collectors, clients and the database share two cores. {WHERE_THE_TIME_GOES}")
    print(body)
    write_section("ingest on PostgreSQL", body)


def verify(url: str, key: Path) -> str:
    from collector.proof.sitekey import SiteKey
    from collector.store.postgres import PostgresStore

    store = PostgresStore(url, site_key=SiteKey.load_or_create(key), create=False)
    try:
        report = store.verify_ledger()
    finally:
        store.close()
    return f"OK, {report.entries:,} entries" if report.ok else f"FAILED ({report.problems[:1]})"


if __name__ == "__main__":
    main()
