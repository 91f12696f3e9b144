"""Checks are registered by name; controls in the catalog refer to them by that name.

A check is a pure function: it reads the latest observations of one subject (and, when it
declares `related` kinds, the latest observations of that kind about other subjects) plus
the control's parameters, and returns a Verdict. It does no I/O. Outsiders add checks
through the `clausewatch.checks` entry-point group (a module that registers on import).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any

from rules.model import Observation, Status

BUILTIN_CHECK_MODULES = (
    "rules.checks.agent",
    "rules.checks.camera",
    "rules.checks.egress",
    "rules.checks.facility",
    "rules.checks.lifecycle",
    "rules.checks.manual",
)


class MissingData(Exception):
    """Raised by CheckInput.require when an observation the check needs has never arrived."""

    def __init__(self, kind: str, key: str = ""):
        super().__init__(kind)
        self.kind, self.key = kind, key


@dataclass
class Verdict:
    status: Status
    reason_zh: str
    reason_en: str
    value: dict[str, Any] = field(default_factory=dict)


def passed(zh: str, en: str, **value: Any) -> Verdict:
    return Verdict("pass", zh, en, value)


def failed(zh: str, en: str, **value: Any) -> Verdict:
    return Verdict("fail", zh, en, value)


def unknown(zh: str, en: str, **value: Any) -> Verdict:
    return Verdict("unknown", zh, en, value)


@dataclass
class CheckInput:
    """What a check may look at. Records which observations it read, for evidence and freshness."""

    control_id: str
    subject_kind: str
    subject_id: str
    params: Mapping[str, Any]
    now: datetime
    latest: Mapping[tuple[str, str], Observation]
    related: Mapping[str, list[Observation]] = field(default_factory=dict)
    used: list[Observation] = field(default_factory=list)
    # shared by every check call of one evaluation round: indexes derived from `related`, so a check
    # that compares a subject with all others stays linear in the number of subjects
    round_cache: dict[str, Any] = field(default_factory=dict)

    def derived(self, name: str, build: Callable[[], Any]) -> Any:
        """A value computed once per evaluation round (e.g. an index over `others(kind)`)."""
        if name not in self.round_cache:
            self.round_cache[name] = build()
        return self.round_cache[name]

    def get(self, kind: str, key: str = "") -> Observation | None:
        obs = self.latest.get((kind, key))
        if obs is not None:
            self.used.append(obs)
        return obs

    def require(self, kind: str, key: str = "") -> Observation:
        obs = self.get(kind, key)
        if obs is None:
            raise MissingData(kind, key)
        return obs

    def others(self, kind: str) -> list[Observation]:
        """Latest observations of `kind` about other subjects (declared as `related`)."""
        return list(self.related.get(kind, ()))


CheckFunc = Callable[[CheckInput], Verdict]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    func: CheckFunc
    kinds: tuple[str, ...]
    related: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)  # defaults a control may override
    doc: str = ""

    @property
    def reads(self) -> frozenset[str]:
        """Every observation kind whose change can alter this check's verdict."""
        return frozenset(self.kinds) | frozenset(self.related)


_REGISTRY: dict[str, CheckSpec] = {}
_loaded = False


def check(
    name: str, *, kinds: Iterable[str], related: Iterable[str] = (), params: Mapping[str, Any] | None = None
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check under `name`; `kinds` are the observation kinds of its subject it reads."""

    def register(func: CheckFunc) -> CheckFunc:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"check {name!r} is registered twice")
        _REGISTRY[name] = CheckSpec(
            name, func, tuple(kinds), tuple(related), dict(params or {}), (func.__doc__ or "").strip()
        )
        return func

    return register


def load_checks() -> dict[str, CheckSpec]:
    """Import the built-in check modules and any registered through entry points."""
    global _loaded
    if not _loaded:
        for mod in BUILTIN_CHECK_MODULES:
            importlib.import_module(mod)
        for ep in entry_points(group="clausewatch.checks"):
            ep.load()
        _loaded = True
    return dict(_REGISTRY)

