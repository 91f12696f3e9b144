"""The log audits' thresholds are control parameters.

An audit (access, calls, accounts) needs its limits before it runs: how long a door may stand
open, how many records one account may export in a window. Those limits are parameters of the
controls that judge the audit's result, so the catalog is their one home; the audit commands read
them from here and a command-line flag may override one for an ad hoc run. The audit records the
limits it ran with (`thresholds` in its payload); a check names any that differ from its control's.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rules.model import Control
from rules.registry import Verdict, load_checks

# Per audit kind: the control parameters that are thresholds of that audit.
THRESHOLDS: dict[str, tuple[str, ...]] = {
    "access.audit": ("max_held_open_s", "escort_window_s"),
    "calls.audit": ("min_recorded_ratio", "retention_years", "max_silence_h"),
    "accounts.audit": ("export_limit", "export_window_min", "max_gap_h", "session_idle_min"),
}
AUDIT_THRESHOLD_NAMES = frozenset(name for names in THRESHOLDS.values() for name in names)


def audit_thresholds(controls: Iterable[Control], kind: str) -> dict[str, float]:
    """The thresholds `kind`'s audit runs with, as the controls that judge it set them
    (the first control in catalog order wins when two set the same one)."""
    checks = load_checks()
    out: dict[str, float] = {}
    for control in controls:
        spec = checks.get(control.check or "")
        if spec is None or kind not in spec.kinds:
            continue
        params = spec.params_for(control.params)
        if "audit_kind" in params and params["audit_kind"] != kind:
            continue
        for name in THRESHOLDS[kind]:
            if name in params and params[name] is not None:
                out.setdefault(name, float(params[name]))
    return out


def overrides(used: Mapping[str, Any], wanted: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Thresholds an audit ran with that differ from what the catalog sets: name -> {used, control}."""
    out = {}
    for name, want in wanted.items():
        got = used.get(name)
        if isinstance(got, int | float) and not isinstance(got, bool) and float(got) != float(want):
            out[name] = {"used": float(got), "control": float(want)}
    return out


def naming_overrides(verdict: Verdict, params: Mapping[str, Any], payload: Mapping[str, Any], kind: str) -> Verdict:
    """The verdict, its reason naming each threshold the audit ran with that differs from the
    control's (an audit recorded from an ad hoc run); unchanged when there is none."""
    wanted = {n: float(params[n]) for n in THRESHOLDS.get(kind, ()) if n in params and params[n] is not None}
    used = payload.get("thresholds")
    found = overrides(used if isinstance(used, dict) else {}, wanted)
    if not found:
        return verdict
    zh = "，".join(f"{n}={v['used']:g}（控制项为 {v['control']:g}）" for n, v in found.items())
    en = ", ".join(f"{n}={v['used']:g} (control: {v['control']:g})" for n, v in found.items())
    return Verdict(verdict.status, f"{verdict.reason_zh}；审计使用了临时阈值：{zh}",
                   f"{verdict.reason_en}; the audit ran with ad hoc thresholds: {en}",
                   {**verdict.value, "threshold_overrides": found})
