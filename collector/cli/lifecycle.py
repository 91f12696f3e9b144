"""Bank data lifecycle commands: `scan pii`, `batch register|certificate`, `audit calls|accounts`."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.cli.clikit import JsonOpt, emit, fail_input, progress_enabled


def subgroup(app: typer.Typer, name: str, help_text: str) -> typer.Typer:
    """The sub-command group `name`, shared with other command modules that add to it (e.g. `audit`)."""
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=help_text, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def register(app: typer.Typer) -> None:
    subgroup(app, "scan", "Scan for lingering bank data.").command("pii")(scan_pii)
    from collector.cli import lifecycle_accounts, lifecycle_audits, lifecycle_batches

    lifecycle_batches.register(subgroup(app, "batch", "Data batches the bank dispatched (委托批次)."))
    audit = subgroup(app, "audit", "Log audits.")
    lifecycle_audits.register(audit)
    audit.command("accounts")(lifecycle_accounts.audit_accounts_cmd)
    audit.command("purge")(lifecycle_batches.audit_purge)


ManifestOpt = Annotated[list[Path] | None, typer.Option(
    "--manifest", help="Batch manifest: a JSON file, a folder of them, or a store with registered batches; "
                       "repeatable.")]


def scan_pii(paths: Annotated[list[Path], typer.Argument(help="Files or folders to scan.")],
             manifest: ManifestOpt = None,
             exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Glob of paths to skip.")] = None,
             as_json: JsonOpt = False) -> None:
    """Find resident ID, mobile and bank card numbers in files (masked); exit 1 when any is found, or when a
    file could not be read (corrupt, encrypted, truncated, unsupported, a scanned image): it is not proven clean."""
    from agents.pii.manifest import ManifestError, load_manifests
    from agents.pii.scan import scan_paths
    from collector.people.batches import stored_manifests

    for p in paths:
        if not p.exists():
            fail_input(f"{p}: no such file or folder")
    try:
        lookup = load_manifests(manifest, stored_manifests) if manifest else None
    except ManifestError as e:
        fail_input(str(e))
    on_file = None
    if progress_enabled() and not as_json:
        def on_file(path: str, size: int) -> None:
            typer.echo(f"scanned {path}", err=True)
    report = scan_paths(paths, lookup, exclude=exclude or (), on_file=on_file)
    data = report.as_dict()
    lines = [f"{f['path']}: " + ", ".join(f"{k}={n}" for k, n in f["counts"].items() if n)
             + (f" batches={','.join(f['batches'])}" if f["batches"] else "") + "  " + " ".join(f["samples"])
             for f in data["files"] if "error" not in f]
    lines += [f"unreadable {e['path']}: {e['reason']}" for e in data["errors"]]
    lines.append(f"{report.files_scanned} files, {report.bytes_scanned} bytes: "
                 + ", ".join(f"{k}={n}" for k, n in data["totals"].items()))
    emit(data, as_json, "\n".join(lines))
    raise typer.Exit(1 if report.found or report.errors else 0)
