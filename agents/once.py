"""`agent once`: every probe once on this host, judged by the catalog, no collector needed."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from agents.env import Env
from agents.observation import AgentObservation
from agents.probes import run_probes


def host_summary(env: Env, observations: list[AgentObservation]) -> dict[str, Any]:
    ident = next((o.payload for o in observations if o.kind == "host.identity"), {})
    return {"host_id": env.host_id, "hostname": ident.get("hostname"), "os": ident.get("os"),
            "addresses": ident.get("addresses", []), "agent_version": ident.get("agent_version"),
            "site": env.config.site}


def judge(observations: list[AgentObservation], now: datetime) -> list[dict[str, Any]]:
    """Findings the catalog gives for these observations."""
    from rules.catalog import default_catalog
    from rules.evaluate import evaluate

    results = evaluate(list(default_catalog()), [o.to_model() for o in observations], now)
    return [{"control": r.control, "subject_kind": r.subject_kind, "subject": r.subject_id, "status": r.status,
             "reason": {"zh": r.reason_zh, "en": r.reason_en}, "value": r.value, "evidence": r.evidence}
            for r in results]


def run_once(env: Env) -> dict[str, Any]:
    observations = run_probes(env)
    return {"host": host_summary(env, observations),
            "observations": [json.loads(o.to_json()) for o in observations],
            "findings": judge(observations, env.clock())}
