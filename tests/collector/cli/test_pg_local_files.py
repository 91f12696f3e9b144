"""Commands that keep files of their own beside the store (the demo's agent and inbox, a batch's manifests)
with `--db postgresql://…`: the files go to the local folder named after the database, never to a folder
named after the URL, and messages name the URL without its password."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from collector.cli.main import build_app
from collector.demo.inbox import start_beside
from collector.store.opening import beside_store, folder_of
from tests.collector.cli.test_lifecycle_batches import dispatch_xlsx

runner = CliRunner()
SECRET = "s3cret-Pw"


def with_password(url: str) -> str:
    """The test server trusts every connection: a password in the URL is accepted and ignored."""
    return url.replace("postgresql://clausewatch@", f"postgresql://clausewatch:{SECRET}@", 1)


def url_folders(under: Path) -> list[Path]:
    return [p for p in under.rglob("*") if p.name.startswith("postgres")]


def test_files_beside_a_store_file_or_a_database() -> None:
    assert beside_store(Path("/srv/cw/site.db"), ".inbox.jsonl") == Path("/srv/cw/site.inbox.jsonl")
    assert folder_of(Path("/srv/cw/site.db")) == Path("/srv/cw")
    # as --db arrives: a path, which folds the URL's "//"
    url = Path("postgresql://ops:pw@db.bank.example:5432/site_a")
    assert beside_store(url, ".inbox.jsonl") == Path("var/site_a.inbox.jsonl")
    assert folder_of(url) == Path("var")
    assert beside_store(Path("postgresql://ops@db.bank.example"), ".agent") == Path("var/postgres.agent")


def test_the_demos_inbox_for_a_database_is_made_in_the_local_folder(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no var/ folder yet
    inbox, config = start_beside(Path("postgresql://ops:pw@db.bank.example/site_a"), "http://127.0.0.1:8080")
    inbox.stop()
    assert config == Path("var/site_a.notify.yaml") and json.loads(config.read_text())["receivers"]
    assert url_folders(tmp_path) == []


def test_demo_history_into_postgresql_names_the_url_without_its_password(
        postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(build_app(), ["demo", "--db", with_password(postgres_url), "--days", "0.1", "--no-serve",
                                    "--terminals", "2"])
    assert r.exit_code == 0, r.output
    assert f"to {with_password(postgres_url).replace(SECRET, '***')} in " in r.output and SECRET not in r.output
    assert url_folders(tmp_path) == []
    r = runner.invoke(build_app(), ["ledger", "verify", "--db", postgres_url])
    assert r.exit_code == 0, r.output


def test_batch_register_into_postgresql_keeps_its_manifest_in_the_local_folder(
        postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(build_app(), ["users", "add", "admin", "--role", "admin", "--db", postgres_url],
                         input="pw-long-enough-1\npw-long-enough-1\n").exit_code == 0  # the store made
    db = with_password(postgres_url)
    r = runner.invoke(build_app(), ["batch", "register", str(dispatch_xlsx(tmp_path / "d.xlsx")), "--db", db,
                                    "--now", "2026-10-02T09:00", "--json"])
    assert r.exit_code == 0, r.output
    manifest = Path(json.loads(r.stdout)["manifest"])
    assert manifest == Path("var/manifests/B2026-11.json") and (tmp_path / manifest).is_file()
    assert url_folders(tmp_path) == []
    r = runner.invoke(build_app(), ["batch", "certificate", "B-none", "--db", db, "--now", "2026-10-03T09:00"])
    assert r.exit_code == 2 and "B-none: no such batch in postgresql://clausewatch:***@" in r.output
    assert SECRET not in r.output
