"""`clausewatch serve`: the collector service."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from collector.cli.clikit import DbOpt, default_db, fail_input, store_at

if TYPE_CHECKING:  # the commands import the store where they run: `clausewatch --help` stays quick
    pass


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


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
