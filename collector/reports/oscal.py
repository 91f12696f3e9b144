"""OSCAL `assessment-results` (NIST OSCAL 1.2.3 JSON): one result for the period, a finding per
control (target: the control, satisfied or not), observations for what backs each finding and
links to the evidence files."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from collector.reports.data import ControlResult, ReportData

OSCAL_VERSION = "1.2.3"
NS = "https://clausewatch.dev/ns/oscal"
_UUID_NS = uuid.UUID("0b1f3c55-8d0e-4f6a-9b43-7f6c1d2a9e11")


def _uuid(digest: str, *parts: str) -> str:
    return str(uuid.uuid5(_UUID_NS, "|".join((digest, *parts))))


def _ts(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _control_id(control_id: str) -> str:
    return control_id.lower()


def _observation(r: ControlResult, digest: str, end: datetime,
                 evidence_href: Callable[[str | None], str | None]) -> dict[str, Any]:
    c = r.control
    obs: dict[str, Any] = {
        "uuid": _uuid(digest, "obs", c.id),
        "title": c.title.en,
        "description": f"{c.evidence.en}. {r.evidence_observations} observations; {len(r.violations)} violations;"
                       f" compliant {r.pct_compliant:.1f} % of the time with data;"
                       f" no data {r.pct_no_data:.1f} % of the period.",
        "props": [{"name": "clause", "ns": NS, "value": x} for x in c.clauses]
        + [{"name": "pct-compliant", "ns": NS, "value": f"{r.pct_compliant:.2f}"},
           {"name": "pct-no-data", "ns": NS, "value": f"{r.pct_no_data:.2f}"},
           {"name": "violations", "ns": NS, "value": str(len(r.violations))}],
        "methods": ["EXAMINE" if c.manual else "TEST"],
        "types": ["control-objective"],
        "collected": _ts(end),
    }
    files = [e for e in r.evidence_files if e.get("sha256")]
    if files:
        # a standalone report without a public URL names each file by its SHA-256 only (href is optional)
        obs["relevant-evidence"] = [
            {**({"href": href} if (href := evidence_href(e["sha256"])) else {}),
             "description": f"{e['filename']} (sha256 {e['sha256']}, valid until {e['valid_until']})"}
            for e in files]
    return obs


def _finding(r: ControlResult, digest: str, obs_uuid: str) -> dict[str, Any]:
    c = r.control
    state = "satisfied" if r.status_end == "pass" else "not-satisfied"
    finding: dict[str, Any] = {
        "uuid": _uuid(digest, "finding", c.id),
        "title": f"{c.id}: {c.title.en}",
        "description": c.text_zh,
        "props": [{"name": "status", "ns": NS, "value": r.status_end},
                  {"name": "severity", "ns": NS, "value": c.severity}],
        "target": {"type": "objective-id", "target-id": _control_id(c.id),
                   "status": {"state": state, "reason": r.status_end}},
        "related-observations": [{"observation-uuid": obs_uuid}],
    }
    if r.contradicted:
        finding["remarks"] = "Manual attestation contradicted by telemetry in the period."
    return finding


def build(d: ReportData, evidence_href: Callable[[str | None], str | None] = lambda sha: f"evidence/{sha}"
          ) -> dict[str, Any]:
    digest = d.digest()
    observations, findings = [], []
    for r in d.results:
        obs = _observation(r, digest, d.end, evidence_href)
        observations.append(obs)
        findings.append(_finding(r, digest, obs["uuid"]))
    result = {
        "uuid": _uuid(digest, "result"),
        "title": f"clausewatch assessment {d.start.date()} - {d.end.date()}",
        "description": f"Continuous assessment of site {d.site} against the tender's security clauses.",
        "start": _ts(d.start),
        "end": _ts(d.end),
        "reviewed-controls": {"control-selections": [{"include-controls": [
            {"control-id": _control_id(r.control.id)} for r in d.results]}]},
        "observations": observations,
        "findings": findings,
    }
    return {"assessment-results": {
        "uuid": _uuid(digest, "assessment-results"),
        "metadata": {
            "title": f"clausewatch assessment results — {d.site}",
            "last-modified": _ts(d.generated_at),
            "version": digest[:16],
            "oscal-version": OSCAL_VERSION,
            "props": [{"name": "report-sha256", "ns": NS, "value": digest},
                      {"name": "site-key-id", "ns": NS, "value": d.key_id}],
        },
        "import-ap": {"href": "#assessment-plan"},
        "results": [result],
    }}


def schema_path():
    from pathlib import Path

    return Path(__file__).parent / "schemas" / "oscal_assessment-results_schema.json"


def validate(doc: dict[str, Any]) -> list[str]:
    """Problems against NIST's official assessment-results JSON schema (empty when valid).

    The schema's patterns use Unicode classes (\\p{L}) that Python's `re` lacks, so patterns are
    matched with the `regex` module; everything else is plain jsonschema Draft 7."""
    import json

    import regex
    from jsonschema import Draft7Validator, FormatChecker, validators

    def pattern(validator, patrn, instance, schema):
        from jsonschema.exceptions import ValidationError

        if validator.is_type(instance, "string") and not regex.search(patrn, instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    cls = validators.extend(Draft7Validator, {"pattern": pattern})
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    v = cls(schema, format_checker=FormatChecker())
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in v.iter_errors(doc)]
