"""Observations -> findings, the same way in `agent once`, the collector and the tests."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.kinds import readable_by_others
from rules.model import Control, Observation, Status
from rules.observation_names import duration_words, kind_name
from rules.registry import CheckInput, CheckSpec, MissingData, Params, UndeclaredParam, Verdict, load_checks


@dataclass(slots=True)
class Result:
    """A control's verdict on one subject at `now`, with the observations that back it."""

    control: str
    subject_kind: str
    subject_id: str
    status: Status
    value: dict[str, Any]
    reason_zh: str
    reason_en: str
    evidence: list[str] = field(default_factory=list)


def _age_text(seconds: float) -> tuple[str, str]:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} 天", f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} 小时", f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} 分钟", f"{seconds / 60:.0f} minutes"


def _unreadable(inp: CheckInput, error: Exception) -> Verdict:
    """The verdict when a check could not read what it was given (e.g. stored before payloads were
    validated at ingest): `unknown`, naming the observation and the error."""
    read = inp.used[-1] if inp.used else None
    what = f"{read.kind} {read.id}" if read else "?"
    text = f"{type(error).__name__}: {error}"[:300]
    return Verdict("unknown", f"无法判定：观测数据 {what} 无法解读（{text}）",
                   f"cannot judge: observation {what} is unreadable ({text})",
                   {"error": text, "observation": read.id if read else None})


def evaluate_one(
    control: Control,
    spec: CheckSpec,
    subject: tuple[str, str],
    latest: Mapping[tuple[str, str], Observation],
    now: datetime,
    related: Mapping[str, list[Observation]] | None = None,
    round_cache: dict[str, Any] | None = None,
    *,
    params: Params | None = None,
) -> Result:
    """Run one check. Missing data and data older than the control's freshness give `unknown`.
    `params`: the control's parameters as `spec.params_for` gives them, when the caller holds them already."""
    params = spec.params_for(control.params) if params is None else params
    inp = CheckInput(control.id, subject[0], subject[1], params, now, latest, related or {},
                     round_cache=round_cache if round_cache is not None else {})
    try:
        verdict = spec.func(inp)
    except MissingData as e:
        what = e.kind + (f"[{e.key}]" if e.key else "")
        what_zh, what_en = kind_name(what)
        verdict = Verdict("unknown", f"没有收到数据：{what_zh}", f"no data received: {what_en}", {"missing": what})
    except UndeclaredParam as e:  # a fault of the check's code: its own finding says so, the others go on
        verdict = Verdict("unknown", f"无法判定：检查项读取了未声明的参数（{e.name}）",
                          f"cannot judge: the check reads a parameter it does not declare ({e.name})",
                          {"undeclared_param": e.name})
    except Exception as e:  # noqa: BLE001 - one malformed observation costs its own finding, nothing more
        verdict = _unreadable(inp, e)
    evidence = [o.id for o in inp.used]
    oldest_allowed = now - control.freshness_td
    stale = [o for o in inp.used if o.as_of < oldest_allowed] if verdict.status != "unknown" else []
    if stale:
        oldest = min(stale, key=lambda o: o.as_of)
        zh, en = _age_text((now - oldest.as_of).total_seconds())
        kind_zh, kind_en = kind_name(oldest.kind)
        allowed_zh, allowed_en = duration_words(control.freshness)
        value = {**verdict.value, "stale_kind": oldest.kind, "last_observed": oldest.as_of.isoformat()}
        verdict = Verdict(
            "unknown",
            f"数据已过期：{kind_zh} 最近一次在 {zh} 前（允许 {allowed_zh}）；上次结果：{verdict.reason_zh}",
            f"data is stale: last {kind_en} {en} ago (allowed {allowed_en}); "
            f"last result: {verdict.reason_en}",
            value,
        )
    return Result(
        control.id, subject[0], subject[1], verdict.status, verdict.value, verdict.reason_zh,
        verdict.reason_en, evidence,
    )


def evaluate(
    controls: list[Control],
    observations: list[Observation],
    now: datetime,
) -> list[Result]:
    """Evaluate every automatic control against a flat list of observations (e.g. `agent once`)."""
    checks = load_checks()
    latest: dict[tuple[str, str], dict[tuple[str, str], Observation]] = {}
    by_kind: dict[str, list[Observation]] = {}
    for obs in sorted(observations, key=lambda o: o.as_of):
        latest.setdefault(obs.subject, {})[(obs.kind, obs.key)] = obs
    for subj_latest in latest.values():
        for obs in subj_latest.values():
            if readable_by_others(obs):
                by_kind.setdefault(obs.kind, []).append(obs)
    results = []
    cache: dict[str, Any] = {}
    for control in controls:
        if control.check is None:
            continue
        spec = checks[control.check]
        for subject, subj_latest in latest.items():
            if subject[0] != control.subject:
                continue
            if not any(k in spec.kinds for k, _ in subj_latest):
                continue
            related = {k: by_kind.get(k, []) for k in spec.related}
            results.append(evaluate_one(control, spec, subject, subj_latest, now, related, cache))
    return results
