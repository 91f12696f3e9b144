"""`clausewatch ledger`: verify the hash-chained ledger, print the site's public key."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from collector.cli.clikit import DbOpt, JsonOpt, default_db, emit, store_at

if TYPE_CHECKING:  # the commands import the store where they run: `clausewatch --help` stays quick
    from collector.proof.deepverify import DeepReport
    from collector.store.base import Store


def register(app: typer.Typer) -> None:
    ledger = typer.Typer(help="The hash-chained evidence ledger.", no_args_is_help=True)
    ledger.command("verify")(ledger_verify)
    ledger.command("pubkey")(ledger_pubkey)
    app.add_typer(ledger, name="ledger")


def ledger_verify(db: DbOpt = default_db(), as_json: JsonOpt = False,
                  chain_only: Annotated[bool, typer.Option(
                      "--chain-only", help="Skip re-hashing observations and evidence files.")] = False,
                  deep: Annotated[bool, typer.Option(
                      "--deep", help="Also recompute findings, finding history, latest observations, waivers and "
                                     "attestations from the ledger and compare them with the stored tables.")] = False
                  ) -> None:
    """Check the hash chain, the signed checkpoints, that no tail was cut off, every batch's Merkle root
    and every evidence file's SHA-256; with --deep, the tables answers are read from (exit 1 on tampering)."""
    store = store_at(db)
    report = store.verify_ledger(observations=not chain_only, evidence=not chain_only)
    data = report.as_dict()
    text = (f"OK: {report.entries} entries, {report.checkpoints} signed checkpoints, "
            f"{report.observations_checked} observations, {report.evidence_checked} evidence files" if report.ok else
            "TAMPERED: " + "\n".join(p.text() for p in report.problems[:20]))
    ok = report.ok
    if deep:
        derived = _verify_derived(store)
        data["deep"] = derived.as_dict()
        ok = ok and derived.ok
        text += ("\nderived tables OK: " + ", ".join(f"{n} {t}" for t, n in derived.checked.items()) if derived.ok else
                 "\nDERIVED TABLES DIFFER: " + "\n".join(d.text() for d in derived.differences[:20]))
    data["ok"] = ok
    emit(data, as_json, text)
    raise typer.Exit(0 if ok else 1)


def _verify_derived(store: Store) -> DeepReport:
    from collector.cli.clikit import configured_catalog
    from collector.proof.deepverify import verify_derived

    with store.derived_rows() as tables:
        return verify_derived(tables, configured_catalog())


def ledger_pubkey(db: DbOpt = default_db()) -> None:
    """Print the site's public key (PEM) that verifies checkpoints and bundles."""
    store = store_at(db)
    sys.stdout.write(store.site_key.public_pem().decode())
