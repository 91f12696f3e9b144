"""Core commands: serve, controls, ledger, users, posture, findings."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from collector.cli.clikit import DbOpt, JsonOpt, TzOpt, default_db, emit, fail_input, parse_now, site_zone, store_at

if TYPE_CHECKING:  # the commands import the store where they run: `clausewatch --help` stays quick
    from collector.proof.deepverify import DeepReport
    from collector.store.base import Store


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    controls = typer.Typer(help="The control catalog.", no_args_is_help=True)
    controls.command("list")(controls_list)
    controls.command("validate")(controls_validate)
    app.add_typer(controls, name="controls")
    ledger = typer.Typer(help="The hash-chained evidence ledger.", no_args_is_help=True)
    ledger.command("verify")(ledger_verify)
    ledger.command("pubkey")(ledger_pubkey)
    app.add_typer(ledger, name="ledger")
    users = typer.Typer(help="Local accounts.", no_args_is_help=True)
    users.command("add")(users_add)
    users.command("list")(users_list)
    app.add_typer(users, name="users")
    app.command("posture")(posture)
    app.command("findings")(findings)
    app.command("enroll-secret")(enroll_secret)
    app.command("reenroll-code")(reenroll_code)


def serve(db: DbOpt = default_db(), host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to bind.")] = 8080,
          tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate chain.")] = None,
          tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key.")] = None,
          site: Annotated[str, typer.Option(envvar="CLAUSEWATCH_SITE")] = "default",
          ingest_processes: Annotated[int | None, typer.Option(
              "--ingest-processes", min=0, envvar="CLAUSEWATCH_INGEST_PROCESSES",
              help="Processes that validate and encode large observation batches (0: none, in the server's "
                   "own process). Default: one per core beyond the first, at most 4.")] = None) -> None:
    """Run the collector service."""
    import uvicorn

    from collector.app import create_app
    from collector.cli.clikit import service_settings

    if (tls_cert is None) != (tls_key is None):
        fail_input("--tls-cert and --tls-key go together")
    for f in (tls_cert, tls_key):
        if f is not None and not f.is_file():
            fail_input(f"{f}: no such file")
    settings = service_settings(db=db, site=site, secure_cookies=tls_cert is not None,
                                ingest_processes=ingest_processes)
    store_at(db, create=True).close()  # serve starts a new site's store; an existing --db must be one
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info",
                ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None)


def controls_list(as_json: JsonOpt = False,
                  directory: Annotated[Path | None, typer.Option("--dir", help="Catalog folder.")] = None) -> None:
    """Print the control catalog."""
    from collector.cli.clikit import configured_catalog
    from rules.catalog import CatalogError, load_catalog

    try:
        controls = load_catalog(directory) if directory else configured_catalog()
    except CatalogError as e:
        for p in e.problems:
            typer.echo(p, err=True)
        raise typer.Exit(2) from None
    data = [c.model_dump(mode="json") for c in controls]
    lines = [f"{c.id:28} {','.join(c.clauses):22} {c.severity:8} {c.title.en}" for c in controls]
    emit(data, as_json, "\n".join(lines))


def controls_validate(directory: Annotated[Path, typer.Argument(help="Folder of control YAML files.")],
                      as_json: JsonOpt = False) -> None:
    """Validate a catalog folder; every problem as file:line: message (exit 2 when any)."""
    from rules.catalog import CatalogError, load_catalog

    try:
        controls = load_catalog(directory)
    except CatalogError as e:
        if as_json:
            emit({"ok": False, "problems": e.problems}, True)
        for p in e.problems:
            typer.echo(p, err=True)
        raise typer.Exit(2) from None
    emit({"ok": True, "controls": len(controls)}, as_json, f"ok: {len(controls)} controls")


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


def users_add(name: Annotated[str, typer.Argument(help="User name.")],
              role: Annotated[str, typer.Option("--role", help="admin, security, auditor, facility or manager")],
              db: DbOpt = default_db()) -> None:
    """Add a local account; the password is read from stdin when it is not a terminal."""
    from collector import auth

    if role not in auth.ROLES:
        fail_input(f"--role: must be one of {', '.join(auth.ROLES)}")
    if sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        auth.check_new_user(name, role, password)  # a refused account leaves no new store behind
        # the first account is made before the first start: users add may create the store
        auth.add_user(store_at(db, create=True), name, role, password, actor="cli")
    except auth.AuthError as e:
        fail_input(str(e))
    typer.echo(f"added {name} ({role})", err=True)


def users_list(db: DbOpt = default_db(), as_json: JsonOpt = False) -> None:
    """List local accounts."""
    from collector import auth

    rows = auth.list_users(store_at(db))
    emit(rows, as_json, "\n".join(f"{u['name']:20} {u['role']}" for u in rows))


def enroll_secret(db: DbOpt = default_db(), site: str = "default",
                  rotate: Annotated[bool, typer.Option("--rotate", help="Revoke the site's other secrets.")] = False
                  ) -> None:
    """Create an agent enroll secret (printed once on stdout). It enrolls new hosts only."""
    from collector import auth

    secret_id, secret = auth.create_enroll_secret(store_at(db), site, rotate=rotate)
    if rotate:
        typer.echo(f"enroll secret {secret_id} replaces every other secret of site {site}", err=True)
    typer.echo(secret)


def reenroll_code(host: Annotated[str, typer.Argument(help="Host id of an enrolled agent.")],
                  db: DbOpt = default_db(),
                  valid_hours: Annotated[float, typer.Option("--valid-hours", min=0.1, max=24 * 30)] = 24.0,
                  as_json: JsonOpt = False) -> None:
    """A one-time code that lets an enrolled host enroll again (printed once on stdout)."""
    from datetime import timedelta

    from collector import auth

    try:
        code, expires = auth.issue_reenroll_code(store_at(db), host, actor="cli",
                                                 ttl=timedelta(hours=valid_hours))
    except auth.AuthError as e:
        fail_input(str(e))
    emit({"host_id": host, "code": code, "expires_at": expires.isoformat()}, as_json, code)
    if not as_json:
        typer.echo(f"valid until {expires.isoformat()}; put it in the agent's [collector] reenroll_code_file",
                   err=True)


def posture(db: DbOpt = default_db(), at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time.")] = None,
            site: Annotated[str | None, typer.Option("--site", help="Only this site's subjects.")] = None,
            site_tz: TzOpt = "Asia/Shanghai", as_json: JsonOpt = False) -> None:
    """Every control's status at a moment (default now) and why; exit 1 if any control fails."""
    from collector.cli.clikit import configured_catalog
    from collector.posture import posture_at

    when = parse_now(at, site_zone(site_tz), "--at")
    data = posture_at(store_at(db), configured_catalog(), when, site=site)
    lines = [f"{c['id']:28} {c['status']:8} " + ", ".join(f"{k}={v}" for k, v in sorted(c["counts"].items()))
             for c in data["controls"]]
    emit(data, as_json, "\n".join(lines))
    raise typer.Exit(1 if data["totals"].get("fail") else 0)


def findings(db: DbOpt = default_db(), status: Annotated[str | None, typer.Option()] = None,
             control: Annotated[str | None, typer.Option()] = None, as_json: JsonOpt = False) -> None:
    """Current findings; exit 1 if any fails."""
    rows = store_at(db).current_findings(status=status, control=control)
    data: list[dict[str, Any]] = [
        {"control": f.control, "subject_kind": f.subject_kind, "subject": f.subject_id, "status": f.status,
         "since": f.since.isoformat(), "value": f.value, "reason": {"zh": f.reason_zh, "en": f.reason_en}}
        for f in rows]
    emit(data, as_json, "\n".join(f"{d['control']:26} {d['subject_kind']}/{d['subject']:20} {d['status']:8} "
                                  f"{d['reason']['en']}" for d in data))
    raise typer.Exit(1 if any(d["status"] == "fail" for d in data) else 0)
