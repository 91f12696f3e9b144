"""`clausewatch batch register|certificate`: the bank's batches and the proof they were purged."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from collector.cli.clikit import (
    DbOpt,
    JsonOpt,
    NowOpt,
    TzOpt,
    default_db,
    emit,
    fail_input,
    parse_now,
    shown_db,
    site_zone,
    store_at,
)
from collector.proof.canonical import CanonicalError


def register(group: typer.Typer) -> None:
    group.command("register")(batch_register)
    group.command("certificate")(batch_certificate)


def audit_purge(db: DbOpt = default_db(), now: NowOpt = None, site_tz: TzOpt = "Asia/Shanghai",
                as_json: JsonOpt = False) -> None:
    """Every registered batch: in commission, purged, not purged or unproven (exit 1 unless all in order);
    a host's scan that could not read a file leaves the batch unproven."""
    from collector.people.batches import stored_certificate

    when = parse_now(now, site_zone(site_tz))
    store = store_at(db)
    batches = [o for latest in store.latest_all("batch").values() if (o := latest.get(("batch.registered", "")))]
    try:
        certs = [stored_certificate(store, b, when) for b in sorted(batches, key=lambda o: o.subject_id)]
    except CanonicalError as e:
        fail_input(str(e))
    store.close()
    rows = [{k: c[k] for k in ("batch", "bank", "end_date", "deadline", "status", "counts")} for c in certs]
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("in_commission", "purged", "not_purged",
                                                                      "unproven")}
    emit({"batches": rows, "counts": counts}, as_json,
         "\n".join(f"{r['batch']:20} {r['status']:14} deadline {r['deadline']}" for r in rows))
    raise typer.Exit(1 if counts["not_purged"] or counts["unproven"] else 0)


def _date(text: str | None, option: str) -> date | None:
    from collector.sources.importers.dispatch import parse_date

    return parse_date(text, option) if text else None


def batch_register(
    file: Annotated[Path, typer.Argument(help="The bank's dispatch file (CSV or XLSX).")],
    batch_id: Annotated[str | None, typer.Option("--id", help="Batch id (default: the 批次号 column).")] = None,
    bank: Annotated[str | None, typer.Option("--bank", help="Bank (default: the 委托方 column).")] = None,
    dispatch_date: Annotated[str | None, typer.Option("--dispatch-date", help="YYYY-MM-DD (default: column).")] = None,
    end_date: Annotated[str | None, typer.Option("--end-date", help="Commission end, YYYY-MM-DD.")] = None,
    grace_days: Annotated[int, typer.Option("--grace-days", min=0, help="Days after the end date to purge.")] = 0,
    salt: Annotated[str | None, typer.Option("--salt", help="Salt of the manifest's hashes (default: random).")] = None,
    manifest_out: Annotated[Path | None, typer.Option("--manifest-out", help="Where to write the manifest.")] = None,
    db: DbOpt = default_db(), now: NowOpt = None, site_tz: TzOpt = "Asia/Shanghai", as_json: JsonOpt = False,
) -> None:
    """Register a batch: hash its identifiers into a manifest and record its purge deadline."""
    from collector.cli.clikit import configured_catalog
    from collector.engine import Engine
    from collector.people.batches import BatchFacts, manifest_bytes, manifest_for, registration
    from collector.sources.importers.dispatch import read_dispatch
    from collector.store.opening import folder_of

    tz = site_zone(site_tz)
    when = parse_now(now, tz)
    if not file.is_file():
        fail_input(f"{file}: no such file")
    salt_bytes = salt.encode("utf-8") if salt else None
    dispatch = read_dispatch(file)
    facts_in = dispatch.facts
    values = {"batch": batch_id or facts_in.get("batch"), "bank": bank or facts_in.get("bank"),
              "dispatch_date": _date(dispatch_date, "--dispatch-date") or _date(facts_in.get("dispatch_date"), "x"),
              "end_date": _date(end_date, "--end-date") or _date(facts_in.get("end_date"), "x")}
    missing = [k for k, v in values.items() if not v]
    if missing:
        fail_input(f"{file}: no {', '.join(missing)} in the file; give --{missing[0].replace('_', '-')}"
                   .replace("--batch", "--id"))
    facts = BatchFacts(str(values["batch"]), str(values["bank"]), values["dispatch_date"],  # type: ignore[arg-type]
                       values["end_date"], grace_days)  # type: ignore[arg-type]
    doc = manifest_for(facts, dispatch, salt_bytes)
    data = manifest_bytes(doc)
    store = store_at(db)
    ref = store.put_evidence(data, f"manifest-{facts.batch_id}.json", "application/json")
    obs = registration(facts, dispatch, ref, tz, when)
    result = store.ingest([obs], actor="cli:batch-register", received_at=when)
    engine = Engine(store, configured_catalog())
    engine.evaluate(engine.note([obs]), now=when)
    out_path = manifest_out or folder_of(db) / "manifests" / f"{facts.batch_id}.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(data)
    store.close()
    out = {"batch": facts.batch_id, **obs.payload, "manifest": str(out_path), "observation": obs.id,
           "ledger_seq": result.ledger_seq, "duplicate": result.accepted == 0}
    emit(out, as_json, f"registered {facts.batch_id}: {dispatch.rows} rows, {len(dispatch.identifiers)} identifiers, "
                       f"purge deadline {obs.payload['deadline']}; manifest {out_path}")


def batch_certificate(
    batch_id: Annotated[str, typer.Argument(help="Batch id.")],
    db: DbOpt = default_db(), now: NowOpt = None, site_tz: TzOpt = "Asia/Shanghai", as_json: JsonOpt = False,
) -> None:
    """The purge certificate of a batch: every host's full scan after the deadline (exit 1 unless purged)."""
    from collector.people.batches import stored_certificate

    when = parse_now(now, site_zone(site_tz))
    store = store_at(db)
    batch = store.latest_for("batch", batch_id).get(("batch.registered", ""))
    if batch is None:
        fail_input(f"{batch_id}: no such batch in {shown_db(db)}")
    try:
        cert = stored_certificate(store, batch, when)
    except CanonicalError as e:
        fail_input(str(e))
    if cert["status"] == "purged":
        seq = store.ledger_append("batch.purge_certificate", "cli:batch-certificate",
                                  {"batch": batch_id, "sha256": cert["sha256"], "hosts": cert["counts"]["clean"]},
                                  ts=when)
        cert["ledger"] = {"seq": seq, "type": "batch.purge_certificate"}
    store.close()
    lines = [f"{batch_id}: {cert['status']} (deadline {cert['deadline']})"]
    for h in cert["hosts"]:
        lines.append(f"  {h['host']:24} {h['status']:10} {(h['scan'] or {}).get('finished_at') or '-'}")
        lines += [f"    not proven: {f['path']}: {f['reason']}" for f in h.get("not_proven", [])]
    emit(cert, as_json, "\n".join(lines))
    raise typer.Exit(0 if cert["status"] == "purged" else 1)
