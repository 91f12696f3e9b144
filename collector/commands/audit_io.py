"""What the log audit commands share besides their own files: `--map` column mappings in, and the
result out (`--db` and/or `--collector`)."""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from collector.clikit import collector_client, fail_input, store_at

DbOptional = Annotated[Path | None, typer.Option("--db", help="Also record the audit as an observation here.")]
CollectorOpt = Annotated[str | None, typer.Option("--collector", envvar="CLAUSEWATCH_COLLECTOR",
                                                  help="Also send the audit to this collector (URL).")]
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


def record(target: tuple[Path | None, str | None, str | None], kind: str, subject_kind: str, subject_id: str,
           payload: dict, now: datetime) -> None:
    """Store the audit's summary as an observation (--db, re-evaluating the controls that read it)
    and/or send it to a collector (--collector with a source token)."""
    from collector.canonical import stored_json
    from rules.model import Observation

    db, url, token = target
    # the same audit of the same records is the same observation: re-running it stores nothing new
    digest = hashlib.sha256(stored_json(payload)).hexdigest()
    oid = uuid.uuid5(uuid.NAMESPACE_URL, f"clausewatch:{kind}:{subject_id}:{digest}")
    obs = Observation(id=str(oid), source=f"import:{kind}", subject_kind=subject_kind,  # type: ignore[arg-type]
                      subject_id=subject_id, kind=kind, observed_at=now, payload=payload)
    if url:
        from shipping.sink import ShipError, send_now

        if not token:
            fail_input("--collector needs --token (a source token for this importer)")
        client = collector_client(url)
        try:
            send_now(client, token, [obs])
        except ShipError as e:
            fail_input(f"{url}: {e}")
        finally:
            client.close()
    if db is not None:
        from collector.engine import Engine
        from rules.catalog import default_catalog

        store = store_at(db)
        store.ingest([obs], actor=f"cli:{kind}", received_at=now)
        engine = Engine(store, list(default_catalog()))
        engine.evaluate(engine.note([obs]), now=now)
        store.close()
