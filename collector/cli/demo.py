"""`clausewatch demo`: the whole system on this machine with a simulated site."""
from __future__ import annotations

import secrets
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from collector.cli.clikit import DEFAULT_DB, DbOpt, fail_input, progress_enabled, shown_db, store_at

if TYPE_CHECKING:  # the commands import the store where they run: `clausewatch --help` stays quick
    from collections.abc import Sequence

    from collector.store.base import Store
    from rules.model import Control

DEMO_ROLES = ("admin", "security", "auditor", "facility", "manager")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def _progress(label: str):
    if not progress_enabled():
        return None, None
    from rich.progress import Progress

    prog = Progress(transient=True, console=__import__("rich.console").console.Console(stderr=True))
    task = prog.add_task(label, total=None)
    prog.start()

    def update(i: int, total: int) -> None:
        prog.update(task, completed=i, total=total)

    return prog, update


def build_history(db: Path, days: float, terminals: int, cameras: int, step_minutes: int, end: datetime) -> int:
    from collector.cli.clikit import configured_catalog
    from collector.demo import SimSite
    from collector.demo.run import write_history
    from collector.engine import Engine

    store = store_at(db, create=True)
    engine = Engine(store, configured_catalog())
    site = SimSite(terminals=terminals, cameras=cameras, start=end - timedelta(days=days))
    prog, update = _progress(f"simulating {days:g} days")
    try:
        n = write_history(store, engine, site, end, step=timedelta(minutes=step_minutes), progress=update)
    finally:
        if prog:
            prog.stop()
    store.close()
    return n


def _set_password(store: Store, name: str, role: str, password: str) -> None:
    from argon2 import PasswordHasher

    from collector import auth

    if not store.user_exists(name):
        auth.add_user(store, name, role, password, actor="demo")
        return
    store.reset_user(name, role, PasswordHasher().hash(password), actor="demo")


_LOCAL_HOST = "demo-local"


# the machine running the demo is not a collection terminal: what it fails is not a fault of the simulated site
_LOCAL_HOST_REASON = ("演示：运行演示的本机不是催收终端（不强制 USB 策略，也未按终端要求加固），"
                      "其结果仅用于展示真实代理的工作方式 / "
                      "demo: the machine running the demo is not a collection terminal (USB policy not enforced, not "
                      "hardened as one); its results only show the real agent at work")


def waive_local_host(store: Store, controls: Sequence[Control], now: datetime) -> int:
    """A waiver per host control for the demo's own machine, so its failures read as `excepted`, with the
    reason, instead of as the simulated site's faults. Returns how many were approved."""
    from collector.people import waivers

    existing = {(w.control, w.subject_id) for w in waivers.waivers(store, start=now, end=now + timedelta(days=1))}
    n = 0
    for c in controls:
        if c.subject != "host" or (c.id, _LOCAL_HOST) in existing:
            continue
        waivers.approve(store, controls, control=c.id, subject_kind="host", subject_id=_LOCAL_HOST,
                           reason=_LOCAL_HOST_REASON, ends_at=now + timedelta(days=365), approver="demo",
                           owner="admin", now=now)
        n += 1
    return n


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _start_local_agent(db: Path, url: str, secret: str, interval: float):
    """The real endpoint agent on this machine, enrolled like any terminal. It only observes:
    USB enforcement stays off so the demo never deauthorises this machine's devices."""
    import json
    import subprocess

    from collector.store.opening import beside_store

    state = beside_store(db, ".agent")
    state.mkdir(parents=True, exist_ok=True)
    config = state / "agent.toml"
    config.write_text(
        f"host_id = {json.dumps(_LOCAL_HOST)}\ninterval_s = {max(interval, 10.0)}\n"
        f"state_dir = {json.dumps(str(state.resolve()))}\n\n"
        f"[collector]\nurl = {json.dumps(url)}\nenroll_secret = {json.dumps(secret)}\n"
        f"token_file = {json.dumps(str((state / 'agent.token').resolve()))}\n\n"
        "[usb]\nenforce = false\n", encoding="utf-8")
    config.chmod(0o600)
    log = open(state / "agent.log", "ab")  # noqa: SIM115 - the agent process keeps it open
    return subprocess.Popen([sys.executable, "-m", "collector.cli.main", "agent", "run", "--config", str(config)],
                            stdout=log, stderr=subprocess.STDOUT)


def demo(db: DbOpt = Path(DEFAULT_DB),
         days: Annotated[float, typer.Option(help="Days of simulated history to write first.")] = 7,
         no_serve: Annotated[bool, typer.Option("--no-serve", help="Write history and exit.")] = False,
         terminals: Annotated[int, typer.Option(help="Simulated terminals.")] = 20,
         cameras: Annotated[int, typer.Option(help="Simulated cameras.")] = 6,
         step_minutes: Annotated[int, typer.Option(help="Minutes between simulated snapshots.")] = 60,
         host: str = "127.0.0.1", port: int = 8080,
         feed_interval: Annotated[float, typer.Option(help="Seconds between live snapshots.")] = 30.0) -> None:
    """Run the collector with a simulated site (20 terminals, 6 cameras, UPS, sensors, doors...)."""
    if days < 0 or terminals < 1 or cameras < 3 or step_minutes < 1:
        fail_input("--days >= 0, --terminals >= 1, --cameras >= 3, --step-minutes >= 1")
    now = datetime.now(UTC).replace(microsecond=0)
    store = store_at(db, create=True)  # an existing --db must be a store: the demo adds to it, never over a file
    fresh = store.ledger_head() == 0  # a new store, or a database with no store in it yet
    store.close()
    if days and (fresh or no_serve):
        started = time.monotonic()
        n = build_history(db, days, terminals, cameras, step_minutes, now)
        typer.echo(f"wrote {n} observations of {days:g} simulated days to {shown_db(db)} in "
                   f"{time.monotonic() - started:.1f} s", err=True)
    if no_serve:
        return
    _serve_live(db, host, port, terminals, cameras, feed_interval, now)


def _serve_live(db: Path, host: str, port: int, terminals: int, cameras: int, interval: float,
                now: datetime) -> None:
    import uvicorn

    from collector import auth
    from collector.app import create_app
    from collector.demo import inbox as demo_inbox
    from collector.demo.run import LiveFeeder, continuing
    from collector.settings import Settings
    from collector.state import AppState

    # the built-in notifier delivers to a local inbox: the alerts page shows who was told, and when
    inbox, notify_config = demo_inbox.start_beside(db, f"http://{host}:{port}")
    settings = Settings(db=db, notify_config=notify_config)
    state = AppState.build(settings)
    password = secrets.token_urlsafe(12)
    for role in DEMO_ROLES:
        _set_password(state.store, role, role, password)
    _, secret = auth.create_enroll_secret(state.store, settings.site, actor="demo")
    waive_local_host(state.store, state.controls, now)
    from rules.model import SUBJECT_KINDS

    # every simulated source but the terminals (each of those enrols as its own agent)
    source_token = auth.create_source_token(state.store, "demo-sources",
                                            [k for k in SUBJECT_KINDS if k != "host"], actor="demo")
    app = create_app(settings, state)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            fail_input(f"could not listen on {host}:{port}")
        time.sleep(0.05)
    site = continuing(state.store, terminals, cameras, now)  # the live feed carries on the history's days
    # a demo started again on its store: its terminals are enrolled already and need a code each
    enrolled = {a["host_id"] for a in auth.list_agents(state.store)}
    codes = {h: auth.issue_reenroll_code(state.store, h, actor="demo")[0] for h in site.hosts if h in enrolled}
    feeder = LiveFeeder(f"http://{host}:{port}", site, secret, source_token, interval_s=interval,
                        reenroll_codes=codes)
    feeder.start()
    agent = _start_local_agent(db, f"http://{host}:{port}", secret, interval)
    signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly (and stop the agent) on SIGTERM too
    sys.stderr.write(
        f"\nclausewatch demo running at http://{host}:{port}/\n"
        f"accounts (password printed once): {', '.join(DEMO_ROLES)} / {password}\n"
        f"this machine's own agent reports as host {_LOCAL_HOST} (USB enforcement off; its failures are waived:\n"
        f"  it is not a collection terminal). The simulated site's planted faults: docs/demo.md\n"
        f"alert notifications go to a local inbox: {inbox.path}\n"
        f"store: {shown_db(db)}   stop with Ctrl-C\n\n")
    try:
        while thread.is_alive():
            thread.join(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        agent.terminate()
        agent.wait(10)
        inbox.stop()
        feeder.stop_event.set()
        server.should_exit = True
        thread.join(10)
