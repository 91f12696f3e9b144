"""Observations -> findings, the same way in `agent once`, the collector and the tests."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rules.kinds import readable_by_others
from rules.model import Control, Observation, Status
from rules.observation_names import duration_words, kind_name
from rules.registry import CheckInput, CheckSpec, MissingData, Params, UndeclaredParam, Verdict, load_checks

FOREVER = datetime.max.replace(tzinfo=UTC)
EVER = datetime.min.replace(tzinfo=UTC)  # a verdict's hold from the beginning of time
_INSTANT = timedelta(microseconds=1)


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
    # from and until when the same observations give the same result (None: it depends on the moment judged)
    holds_until: datetime | None = None
    holds_from: datetime = EVER


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
    freshness: timedelta | None = None,
) -> Result:
    """Run one check. Missing data and data older than the control's freshness give `unknown`.
    `params`, `freshness`: the control's parameters as `spec.params_for` gives them and its freshness, when
    the caller holds them already."""
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
    used = inp.used
    # the verdict holds, for the same observations, until the oldest of them turns stale or the clock passes
    # a moment the check compared it with; at any time if neither; a check that read the clock must be asked again
    holds_until: datetime | None = None if inp.read_now else FOREVER
    holds_from = EVER
    if inp.turns and holds_until is not None:
        holds_from = max((t for t in inp.turns if t <= now), default=EVER)
        holds_until = min((t - _INSTANT for t in inp.turns if t > now), default=FOREVER)
    if used and verdict.status != "unknown":
        oldest = used[0] if len(used) == 1 else min(used, key=_as_of)
        oldest_at = oldest.as_of
        freshness = control.freshness_td if freshness is None else freshness
        if oldest_at < now - freshness:
            verdict, holds_until = _stale(control, verdict, oldest, now), None
        elif holds_until is not None:
            fresh_until = _plus(oldest_at, freshness)
            if fresh_until < holds_until:
                holds_until = fresh_until
    return Result(
        control.id, subject[0], subject[1], verdict.status, verdict.value, verdict.reason_zh,
        verdict.reason_en, [o.id for o in used], holds_until, holds_from,
    )


def _as_of(o: Observation) -> datetime:
    return o.as_of


def _plus(t: datetime, span: timedelta) -> datetime:
    try:
        return t + span
    except OverflowError:  # a time at the calendar's end (stored before times were checked) never turns stale
        return FOREVER


def _stale(control: Control, verdict: Verdict, oldest: Observation, now: datetime) -> Verdict:
    """`unknown`, saying how old the oldest observation read is and what it showed while fresh."""
    zh, en = _age_text((now - oldest.as_of).total_seconds())
    kind_zh, kind_en = kind_name(oldest.kind)
    allowed_zh, allowed_en = duration_words(control.freshness)
    value = {**verdict.value, "stale_kind": oldest.kind, "last_observed": oldest.as_of.isoformat()}
    return Verdict(
        "unknown",
        f"数据已过期：{kind_zh} 最近一次在 {zh} 前（允许 {allowed_zh}）；上次结果：{verdict.reason_zh}",
        f"data is stale: last {kind_en} {en} ago (allowed {allowed_en}); "
        f"last result: {verdict.reason_en}",
        value,
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
