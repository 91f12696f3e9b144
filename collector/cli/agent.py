"""`clausewatch agent once|run`: the endpoint agent on this host."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from collector.cli.clikit import DbOpt, JsonOpt, default_db, emit, fail_input, store_at

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Agent configuration (TOML).")]


def register(app: typer.Typer) -> None:
    agent = typer.Typer(help="The endpoint agent.", no_args_is_help=True)
    agent.command("once")(once)
    agent.command("run")(run)
    agent.command("gaps")(gaps)
    app.add_typer(agent, name="agent")


def _config(path: Path | None):
    from agents.config import AgentConfig, ConfigError, load_config

    if path is None:
        return AgentConfig()
    try:
        return load_config(path)
    except ConfigError as e:
        fail_input(str(e))


def once(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Run every probe once on this host and print observations and findings (exit 1 if any fails)."""
    from agents.env import Env
    from agents.once import run_once

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    data = run_once(Env(config=_config(config)))
    lines = [f"{f['control']:22} {f['status']:8} {f['reason']['en']}" for f in data["findings"]]
    emit(data, as_json, "\n".join(lines))
    raise typer.Exit(1 if any(f["status"] == "fail" for f in data["findings"]) else 0)


def run(config: Annotated[Path, typer.Option("--config", help="Agent configuration (TOML).")],
        iterations: Annotated[int | None, typer.Option(help="Stop after this many probe rounds.")] = None) -> None:
    """Run the agent: enforce USB policy, probe every interval, spool and ship to the collector."""
    import os
    import sys

    _config(config)  # a bad file fails here, with the file and key named
    argv = [sys.executable, "-m", "agents", "run", "--config", str(config.resolve())]
    if iterations is not None:
        argv += ["--iterations", str(iterations)]
    # become the lean agent process (same pid for systemd), leaving the CLI framework's memory behind
    os.execv(sys.executable, argv)


def gaps(db: DbOpt = default_db(), host: Annotated[str | None, typer.Option(help="Only this host id.")] = None,
         as_json: JsonOpt = False) -> None:
    """Missing sequence numbers per agent (lost or suppressed observations); exit 1 when any."""
    from collector.seqgaps import sequence_report

    report = sequence_report(store_at(db), host)
    data = [r.as_dict() for r in report]
    lines = [f"{r.host:24} seq {r.first_seq}..{r.last_seq}  missing {r.missing}"
             + ("  RESTARTED" if r.restarted else "")
             + "".join(f"  [{a}-{b}]" for a, b in r.gaps[:10]) for r in report]
    emit(data, as_json, "\n".join(lines) or "no agent observations")
    raise typer.Exit(1 if any(r.missing or r.restarted for r in report) else 0)
