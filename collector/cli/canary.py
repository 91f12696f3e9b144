"""`clausewatch canary --listen ADDR:PORT ...`: the egress canary outside the terminals' zone."""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from collector.cli.clikit import JsonOpt, fail_input


def register(app: typer.Typer) -> None:
    app.command("canary")(canary)


def canary(listen: Annotated[list[str], typer.Option("--listen", help="ADDR:PORT to listen on (repeatable).")],
           name: Annotated[str, typer.Option(help="This canary's name (its subject id at the collector).")] = "canary",
           collector: Annotated[str | None, typer.Option(
               help="Collector URL to report hits to (several of one store: comma-separated).")] = None,
           token_file: Annotated[Path | None, typer.Option("--token-file",
                                                           help="Source token for the collector.")] = None,
           ca_file: Annotated[Path | None, typer.Option("--ca-file", help="CA of the collector's TLS.")] = None,
           state_dir: Annotated[Path, typer.Option("--state-dir", help="Spool for hits not yet reported.")] = Path(
               "var/canary"),
           log_file: Annotated[Path | None, typer.Option("--log", help="Append every hit to this JSON-lines file.")
                               ] = None,
           duration_s: Annotated[float | None, typer.Option("--duration-s", help="Stop after this long.")] = None,
           interval_s: Annotated[float, typer.Option("--interval-s", min=1,
                                                     help="Report a status (hits or none) this often.")] = 60.0,
           window_s: Annotated[float, typer.Option("--window-s", min=1,
                                                   help="A hit keeps the control failed this long.")] = 86400.0,
           as_json: JsonOpt = False) -> None:
    """Record every connection attempt (source address, time); report them to the collector."""
    from agents.canary import Canary, Hit, Tally, parse_listen

    try:
        listens = [parse_listen(x) for x in listen]
    except ValueError as e:
        fail_input(f"--listen: {e}")
    if collector and (token_file is None or not token_file.is_file()):
        fail_input("--token-file: a readable source token file is needed with --collector")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    spool, shipper, wake = _reporter(collector, token_file, ca_file, state_dir)
    lock = threading.Lock()
    tally = Tally(window_s)

    def on_hit(hit: Hit) -> None:
        line = json.dumps(hit.as_dict())
        with lock:
            if as_json:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            else:
                typer.echo(f"{hit.at.isoformat()} {hit.source_address}:{hit.source_port} -> {hit.listen}")
            if log_file is not None:
                with open(log_file, "a") as f:
                    f.write(line + "\n")
            tally.add(hit)
        if spool is not None:
            spool.put([hit.observation(name)])
            wake.set()

    def report_status(bound: list[str]) -> None:
        with lock:
            obs = tally.status(name, bound, interval_s, datetime.now(UTC))
        if spool is not None:
            spool.put([obs])
            wake.set()

    asyncio.run(_serve(Canary(listens, on_hit), duration_s, interval_s, report_status))
    if shipper is not None:
        wake.set()
        shipper.flush()


def _reporter(url: str | None, token_file: Path | None, ca_file: Path | None, state_dir: Path):
    """A spool and a background shipper when a collector is given (hits survive its absence)."""
    wake = threading.Event()
    if not url or token_file is None:
        return None, None, wake
    from pydantic import ValidationError

    from agents.config import CollectorConfig
    from agents.ship import Shipper
    from agents.shipping.http import split_urls
    from agents.shipping.spool import Spool

    try:
        cfg = CollectorConfig(urls=split_urls(url), token_file=token_file, ca_file=ca_file, backoff_initial_s=0.5,
                              backoff_max_s=30)
    except ValidationError as e:
        fail_input(f"--collector: {e.errors()[0]['msg']}")
    spool = Spool(state_dir / "canary-spool.db")
    shipper = Shipper(spool, cfg, host_id="canary")

    def loop() -> None:
        while True:
            wake.wait()
            wake.clear()
            shipper.drain(lambda: False)

    threading.Thread(target=loop, name="canary-ship", daemon=True).start()
    return spool, shipper, wake


async def _report_every(interval_s: float, report, bound: list[str]) -> None:
    while True:
        report(bound)  # at start too: the collector learns the canary is up
        await asyncio.sleep(interval_s)


async def _serve(canary, duration_s: float | None, interval_s: float, report) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await canary.start()
    except OSError as e:
        fail_input(f"--listen: cannot listen: {e.strerror or e}")
    for host, port in canary.bound:
        typer.echo(f"listening on {host}:{port}", err=True)
    if duration_s is not None:
        loop.call_later(duration_s, stop.set)
    bound = [f"{h}:{p}" for h, p in canary.bound]
    reporter = asyncio.create_task(_report_every(interval_s, report, bound))
    await canary.serve(stop)
    reporter.cancel()
    report(bound)  # the hits of the last, partial interval
