"""The kinds table: every kind has an owner, checks read only declared kinds, and what the real
sources send fits the payload shapes the collector enforces at ingest."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from agents.probes import FAILSAFE
from collector.demo import SimSite
from collector.demo.sources import snapshot
from rules.kinds import load_kinds
from rules.registry import load_checks

DOCS = Path(__file__).resolve().parents[2] / "docs" / "observations.md"


def test_every_kind_a_check_reads_is_declared_with_an_owner() -> None:
    kinds = load_kinds()
    read = {k for spec in load_checks().values() for k in spec.reads}
    assert read - set(kinds) == set()


def test_the_documented_kinds_are_the_declared_kinds() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_.]+)`", DOCS.read_text(encoding="utf-8"), re.M))
    assert documented == set(load_kinds())


def test_derived_kinds_belong_to_the_collector() -> None:
    kinds = load_kinds()
    assert {k for k, s in kinds.items() if s.owner == "collector"} == {"agent.sequence", "manual.evidence",
                                                                       "ledger.verify"}


@pytest.mark.parametrize("hours", [0, 1, 22, 24 * 9 + 1])
def test_what_the_simulated_site_sends_fits_its_kinds(hours: int) -> None:
    kinds = load_kinds()
    site = SimSite(terminals=5, cameras=4)
    for o in snapshot(site, site.start + timedelta(hours=hours)):
        spec = kinds[o.kind]
        assert o.subject_kind in spec.subjects, o
        assert spec.payload_errors(o.payload) == [], (o.kind, o.payload)


@pytest.mark.parametrize("probe", sorted(FAILSAFE))
def test_a_crashed_probe_still_reports_a_payload_the_collector_takes(probe: str) -> None:
    kind, payload = FAILSAFE[probe]
    assert load_kinds()[kind].payload_errors({**payload, "probe_error": "RuntimeError: boom"}) == []


def test_a_check_module_from_outside_adds_its_own_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    from typing_extensions import TypedDict

    from rules import kinds

    class Door(TypedDict, total=False):
        opened_s: float

    monkeypatch.setattr(kinds, "_DECLARED", {})
    monkeypatch.setattr(kinds, "_PAYLOADS", dict(kinds._PAYLOADS))
    kinds.declare_kind("door.opened", owner="importer", subject="door")
    kinds.payload("door.opened")(Door)
    kinds.load_kinds.cache_clear()
    try:
        spec = kinds.load_kinds()["door.opened"]
        assert spec.owner == "importer" and spec.payload_errors({"opened_s": "long"}) == [
            ("opened_s", "Input should be a valid number")]
    finally:
        monkeypatch.undo()
        kinds.load_kinds.cache_clear()


def test_event_kinds_are_occurrences_no_check_reads() -> None:
    """Compaction thins these beyond their raw window (docs/storage.md, "Events"): none may be a kind a check
    judges by its newest observation."""
    from rules.kinds import event_kinds

    assert event_kinds() == {"usb.block", "software.change", "ups.event", "canary.hit"}
    read = {k for spec in load_checks().values() for k in spec.reads}
    assert not event_kinds() & read


def test_a_malformed_event_flag_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rules import kinds

    table = tmp_path / "kinds.yaml"
    text = kinds.KINDS_FILE.read_text(encoding="utf-8")
    table.write_text(text.replace("host, event: true}", 'host, event: "yes"}', 1), encoding="utf-8")
    monkeypatch.setattr(kinds, "KINDS_FILE", table)
    kinds.load_kinds.cache_clear()
    try:
        with pytest.raises(kinds.KindsError, match="usb.block: event must be true or false"):
            kinds.load_kinds()
    finally:
        monkeypatch.undo()
        kinds.load_kinds.cache_clear()
