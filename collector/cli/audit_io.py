"""What the log audit commands share besides their own files: `--map` column mappings in, and the
result out (`--db` and/or `--collector`)."""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from collector.cli.clikit import collector_client, configured_catalog, fail_input, store_at
from rules.model import Observation

DbOptional = Annotated[Path | None, typer.Option("--db", help="Also record the audit as an observation here.")]
CollectorOpt = Annotated[str | None, typer.Option(
    "--collector", envvar="CLAUSEWATCH_COLLECTOR",
    help="Also send the audit to this collector (URL; several of one store: comma-separated).")]
TokenOpt = Annotated[str | None, typer.Option("--token", envvar="CLAUSEWATCH_TOKEN",
                                              help="Source token for --collector.")]
MapOpt = Annotated[list[str] | None, typer.Option("--map", help="field=column when the file names columns otherwise.")]


def parse_mapping(items: list[str] | None, fields: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, column = item.partition("=")
        if not sep or name.strip() not in fields:
            fail_input(f"--map {item!r}: expected field=column with field one of {', '.join(fields)}")
        out[name.strip()] = column.strip()
    return out


def thresholds(kind: str, flags: dict[str, float | None]) -> tuple[dict[str, float], dict[str, float]]:
    """The catalog's thresholds for `kind`'s audit (rules/audit_params.py), and the flags given to
    override them for this run."""
    from rules.audit_params import audit_thresholds

    return audit_thresholds(configured_catalog(), kind), {k: v for k, v in flags.items() if v is not None}


def note_overrides(used: dict[str, float], limits: dict[str, float]) -> dict[str, dict[str, float]]:
    """Thresholds this run used that differ from the catalog's: said on stderr (zh, en), returned for --json."""
    from collector.i18n import translate
    from rules.audit_params import overrides

    found = overrides(used, limits)
    if found:
        items = ", ".join(f"{n}={v['used']:g} ({v['control']:g})" for n, v in found.items())
        zh, en = (translate("audit_threshold_override", lang) for lang in ("zh", "en"))
        typer.echo(f"{zh}: {items}\n{en}: {items}", err=True)
    return found


def record(target: tuple[Path | None, str | None, str | None], kind: str, subject_kind: str, subject_id: str,
           payload: dict, now: datetime) -> None:
    """The audit's summary as one observation, recorded by `record_observations`."""
    from collector.proof.canonical import stored_json
    from rules.model import Observation

    # the same audit of the same records is the same observation: re-running it stores nothing new
    digest = hashlib.sha256(stored_json(payload)).hexdigest()
    oid = uuid.uuid5(uuid.NAMESPACE_URL, f"clausewatch:{kind}:{subject_id}:{digest}")
    obs = Observation(id=str(oid), source=f"import:{kind}", subject_kind=subject_kind,  # type: ignore[arg-type]
                      subject_id=subject_id, kind=kind, observed_at=now, payload=payload)
    record_observations(target, [obs], now, actor=f"cli:{kind}")


def record_observations(target: tuple[Path | None, str | None, str | None], obs: list[Observation], now: datetime,
                        *, actor: str) -> int:
    """Every audit records the same way: sent to a collector (--collector with a source token), which
    ingests and evaluates; and/or ingested into --db, then the controls that read it evaluated with the
    configured catalog. Returns how many observations --db accepted (0 without --db)."""
    db, url, token = target
    if url:
        from agents.shipping.sink import ShipError, send_now

        if not token:
            fail_input("--collector needs --token (a source token for this importer)")
        client = collector_client(url)
        try:
            send_now(client, token, obs)
        except ShipError as e:
            fail_input(f"{url}: {e}")
        finally:
            client.close()
    if db is None:
        return 0
    from collector.engine import Engine

    store = store_at(db)
    try:
        accepted = store.ingest(obs, actor=actor, received_at=now).accepted
        engine = Engine(store, configured_catalog())
        engine.evaluate(engine.note(obs), now=now)
    finally:
        store.close()
    return accepted
