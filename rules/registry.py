"""Checks are registered by name; controls in the catalog refer to them by that name.

A check is a pure function: it reads the latest observations of one subject (and, when it
declares `related` kinds, the latest observations of that kind about other subjects) plus
the control's parameters, and returns a Verdict. It does no I/O. Outsiders add checks
through the `clausewatch.checks` entry-point group (a module that registers on import).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
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


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of a parameter that every control using the check must set


class UndeclaredParam(KeyError):
    """A check read a parameter it does not declare: a fault in the check, never in the catalog."""

    def __init__(self, check: str, name: str):
        super().__init__(f"check {check!r} reads parameter {name!r} that it does not declare")
        self.check, self.name = check, name


class Params(Mapping[str, Any]):
    """A control's parameters as its check sees them: the declared names only, the control's values
    over the check's defaults. Reading any other name raises UndeclaredParam."""

    def __init__(self, check: str, declared: Mapping[str, Any], values: Mapping[str, Any]):
        self._check = check
        self._values = {name: values.get(name, default) for name, default in declared.items()}

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            raise UndeclaredParam(self._check, name)
        return self._values[name]

    def get(self, name: str, default: Any = None) -> Any:
        """As `params[name]`: a default here would hide a parameter the check forgot to declare."""
        return self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class MissingData(Exception):
    """Raised by CheckInput.require when an observation the check needs has never arrived."""

    def __init__(self, kind: str, key: str = ""):
        super().__init__(kind)
        self.kind, self.key = kind, key


@dataclass(slots=True)
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


@dataclass(slots=True)
class CheckInput:
    """What a check may look at. Records which observations it read, for evidence and freshness."""

    control_id: str
    subject_kind: str
    subject_id: str
    params: Mapping[str, Any]
    at: datetime  # the moment judged: read it as `now`, which notes that the verdict depends on it
    latest: Mapping[tuple[str, str], Observation]
    related: Mapping[str, list[Observation]] = field(default_factory=dict)
    used: list[Observation] = field(default_factory=list)
    # shared by every check call of one evaluation round: indexes derived from `related`, so a check
    # that compares a subject with all others stays linear in the number of subjects
    round_cache: dict[str, Any] = field(default_factory=dict)
    # whether the check read the clock: a verdict that did not holds, for the same observations, at any time
    read_now: bool = False
    # the moments the check compared the clock with (`before`): its verdict holds until the clock passes one
    turns: list[datetime] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        self.read_now = True
        return self.at

    def before(self, moment: datetime) -> bool:
        """Whether the moment judged is before `moment`. Unlike reading `now`, this leaves the verdict holding
        between sweeps while the clock stays on the same side of `moment`."""
        before = self.at < moment  # raises for a moment without a UTC offset: the check cannot judge
        self.turns.append(moment)
        return before

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

    def subjects_with(self, kind: str) -> list[str]:
        """The ids of the subjects that have an observation of `kind` (declared as `related` and `presence`)."""
        return [o.subject_id for o in self.related.get(kind, ())]


CheckFunc = Callable[[CheckInput], Verdict]
# the keys (e.g. people's accounts) through which an observation concerns other subjects than its own
JoinKeys = Callable[[Observation], Iterable[str]]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    func: CheckFunc
    kinds: tuple[str, ...]
    related: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)  # defaults a control may override; REQUIRED: must
    doc: str = ""
    # related kind -> its join keys: another subject's observation of that kind can alter this check's
    # verdict on a subject only when it shares a key with the subject's own latest observation of the kind
    # (a kind not named here: any other subject's observation can)
    related_by: Mapping[str, JoinKeys] = field(default_factory=dict)
    # kinds of its subject it reads when present, without needing them (their absence is no `unknown`)
    context: tuple[str, ...] = ()
    # related kinds of which it reads only who has one (CheckInput.subjects_with), not what it says: another
    # subject's newer observation of the kind alters no verdict unless that subject had none before
    presence: tuple[str, ...] = ()

    def params_for(self, control_params: Mapping[str, Any]) -> Params:
        return Params(self.name, self.params, control_params)

    @cached_property
    def reads(self) -> frozenset[str]:
        """Every observation kind whose change can alter this check's verdict."""
        return frozenset(self.kinds) | frozenset(self.related) | frozenset(self.context)


_REGISTRY: dict[str, CheckSpec] = {}
_loaded = False


def check(
    name: str, *, kinds: Iterable[str], related: Iterable[str] = (), params: Mapping[str, Any] | None = None,
    related_by: Mapping[str, JoinKeys] | None = None, context: Iterable[str] = (), presence: Iterable[str] = (),
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check under `name`; `kinds` are the observation kinds of its subject it reads and
    `params` every parameter it reads, with its default (REQUIRED when each control must set it).
    `related_by` and `presence` narrow which other subjects' observations of a `related` kind matter,
    `context` names kinds of its subject it reads only when present (CheckSpec)."""

    def register(func: CheckFunc) -> CheckFunc:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"check {name!r} is registered twice")
        if set(related_by or {}) - set(related) or set(presence) - set(related):
            raise ValueError(f"check {name!r} joins kinds it does not declare as related")
        if set(related_by or {}) & set(presence):
            raise ValueError(f"check {name!r} reads a related kind both by join keys and by presence")
        _REGISTRY[name] = CheckSpec(
            name, func, tuple(kinds), tuple(related), dict(params or {}), (func.__doc__ or "").strip(),
            dict(related_by or {}), tuple(context), tuple(presence),
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

