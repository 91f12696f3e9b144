"""`clausewatch report` and `clausewatch verify`: evidence out, evidence checked."""
from __future__ import annotations

import hashlib
from datetime import datetime
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
    site_zone,
    store_at,
)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("verify")(verify)


def _day(text: str, option: str, tz, end_of_day: bool) -> datetime:
    """A date is the start of that day (for --to: the end of it) at the site; a time is taken as given."""
    if len(text.strip()) == 10:
        from datetime import date, timedelta

        try:
            d = date.fromisoformat(text.strip())
        except ValueError:
            fail_input(f"{option}: {text!r} is not a date (2026-11-01) or ISO 8601 time")
        start = datetime(d.year, d.month, d.day, tzinfo=tz)
        return start + timedelta(days=1) if end_of_day else start
    return parse_now(text, tz, option)


def report(start: Annotated[str, typer.Option("--from", help="Period start: date or ISO 8601 time.")],
           end: Annotated[str, typer.Option("--to", help="Period end: date (inclusive) or ISO 8601 time.")],
           fmt: Annotated[str, typer.Option("--format", help="pdf, html, oscal, csv or bundle.")],
           out: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
           db: DbOpt = default_db(), site: Annotated[str | None, typer.Option("--site", help="Only this site.")] = None,
           lang: Annotated[str, typer.Option("--lang", help="zh (default) or en.")] = "zh",
           site_tz: TzOpt = "Asia/Shanghai", now: NowOpt = None,
           public_url: Annotated[str | None, typer.Option(
               "--public-url", envvar="CLAUSEWATCH_PUBLIC_URL",
               help="The collector's URL as auditors reach it: a standalone report links evidence files there "
                    "(without it, it names their SHA-256).")] = None,
           as_json: JsonOpt = False) -> None:
    """Write the evidence report for a period (ending at --now at the latest); exit 1 when a control failed at
    the period end."""
    from collector.cli.clikit import configured_catalog
    from collector.reports.build import FORMATS, build_report

    tz = site_zone(site_tz)
    if fmt not in FORMATS:
        fail_input(f"--format: one of {', '.join(sorted(FORMATS))}")
    if lang not in ("zh", "en"):
        fail_input("--lang: zh or en")
    t0, t1 = _day(start, "--from", tz, False), _day(end, "--to", tz, True)
    if t0 >= t1:
        fail_input("--from must be before --to")
    generated = parse_now(now, tz).replace(microsecond=0)
    if t0 >= generated:
        fail_input(f"--from: {start} is after the time of generation ({generated.isoformat()})")
    t1 = min(t1, generated)
    if out.parent and not out.parent.exists():
        fail_input(f"-o: folder {out.parent} does not exist")
    store = store_at(db)
    if public_url is not None and not public_url.startswith(("https://", "http://")):
        fail_input(f"--public-url: {public_url!r} is not an http(s) URL")
    data = build_report(store, configured_catalog(), t0, t1, fmt, lang, site=site, tz=tz, now=generated,
                        public_url=public_url)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    digest = hashlib.sha256(data).hexdigest()
    store.ledger_append("report.generated", "cli", {"format": fmt, "lang": lang, "from": t0.isoformat(),
                                                    "to": t1.isoformat(), "sha256": digest, "site": site},
                         ts=generated)
    from collector.posture import posture_at

    failing = posture_at(store, configured_catalog(), t1, site)["totals"].get("fail", 0)
    emit({"output": str(out), "format": fmt, "bytes": len(data), "sha256": digest, "failing_controls": failing,
          "from": t0.isoformat(), "to": t1.isoformat()},
         as_json, f"wrote {out} ({len(data)} bytes, sha256 {digest})")
    raise typer.Exit(1 if failing else 0)


def verify(bundle: Annotated[Path, typer.Argument(help="Bundle zip from `clausewatch report --format bundle`.")],
           pubkey: Annotated[Path | None, typer.Option("--pubkey", help="The site's public key (PEM), "
                                                       "obtained independently of the bundle.")] = None,
           as_json: JsonOpt = False) -> None:
    """Check a bundle offline: prints OK, or every altered file and ledger entry (exit 1)."""
    from collector.reports.verify import verify_bundle

    if not bundle.is_file():
        fail_input(f"{bundle}: no such file")
    if pubkey is not None and not pubkey.is_file():
        fail_input(f"--pubkey: {pubkey}: no such file")
    try:
        rep = verify_bundle(bundle, pubkey.read_bytes() if pubkey else None)
    except ValueError as e:
        fail_input(f"--pubkey: {e}")
    if rep.ok:
        note = "" if rep.key_source == "given" else " (checked with the key inside the bundle; pass --pubkey)"
        withheld = f" ({rep.ledger_withheld} of other sites withheld, by hash)" if rep.ledger_withheld else ""
        text = f"OK: {rep.files_checked} files, {rep.ledger_entries} ledger entries{withheld}, {rep.checkpoints} " \
               f"signed checkpoints{note}"
    else:
        text = "ALTERED:\n" + "\n".join(rep.problems)
    emit(rep.as_dict(), as_json, text)
    raise typer.Exit(0 if rep.ok else 1)
