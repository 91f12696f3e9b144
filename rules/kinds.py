"""Observation kinds: who may write each (`rules/kinds.yaml`) and the payload shape its checks read.

A payload shape is declared beside the checks that read the kind (`@payload("antivirus.status")` on a
TypedDict): the fields those checks parse, validated strictly (no "true" for true, no "3" for 3);
fields it does not name pass through. The collector validates each posted observation against its
kind's shape, so a malformed payload is refused at ingest (422 naming the field) instead of reaching
a check. Only validation: the stored payload is the one sent.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

import yaml
from pydantic import AfterValidator, TypeAdapter, ValidationError

from rules.model import SUBJECT_KINDS, Observation
from rules.registry import load_checks

KINDS_FILE = Path(__file__).parent / "kinds.yaml"
Owner = Literal["agent", "camera", "poller", "importer", "canary", "collector"]
OWNERS: tuple[str, ...] = get_args(Owner)


def _iso_time(text: str) -> str:
    """An ISO 8601 time with a UTC offset, as checks parse it (`datetime.fromisoformat`)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an ISO 8601 time with a UTC offset, e.g. 2026-11-29T10:00:00+08:00") from None
    if value.tzinfo is None:
        raise ValueError("time must carry a UTC offset, e.g. 2026-11-29T10:00:00+08:00")
    return text


IsoTime = Annotated[str, AfterValidator(_iso_time)]


@dataclass(frozen=True)
class KindSpec:
    name: str
    owner: str
    subjects: frozenset[str]
    payload: TypeAdapter[Any] | None = None
    # payload fields that vary between probes without the fact changing (kinds.yaml `volatile`)
    volatile: tuple[str, ...] = ()
    # one observation per occurrence (kinds.yaml `event`): compaction keeps an event beyond its raw window
    # only for a reason of its own, and counts the rest per subject and day (docs/storage.md)
    event: bool = False

    def payload_errors(self, payload: dict[str, Any]) -> list[tuple[str, str]]:
        """(field path under `payload`, message) for each way the payload breaks its kind's shape."""
        if self.payload is None:
            return []
        try:
            # TypedDicts: no instances built, extras ignored; pydantic-core's validator itself, without the Python
            # wrapper TypeAdapter puts around it (ingest asks this of every observation)
            self.payload.validator.validate_python(payload, strict=True)
        except ValidationError as e:
            return [(".".join(str(p) for p in err["loc"]), err["msg"]) for err in e.errors()[:20]]
        return []


_PAYLOADS: dict[str, type] = {}
T = TypeVar("T", bound=type)


def payload(kind: str) -> Callable[[T], T]:
    """Declare the payload shape of `kind` (a TypedDict from typing_extensions; one per kind)."""

    def register(shape: T) -> T:
        if _PAYLOADS.get(kind, shape) is not shape:
            raise ValueError(f"payload of {kind!r} is declared twice")
        _PAYLOADS[kind] = shape
        return shape

    return register


_DECLARED: dict[str, dict[str, Any]] = {}


def declare_kind(name: str, *, owner: str, subject: str | list[str]) -> None:
    """Add a kind to the table from a check module outside this package (a `clausewatch.checks`
    entry point), as one more row of `rules/kinds.yaml` would."""
    _DECLARED[name] = {"owner": owner, "subject": subject}


class KindsError(Exception):
    """The kinds table is malformed; the message names the kind."""


@lru_cache(maxsize=1)
def load_kinds() -> dict[str, KindSpec]:
    """Every known kind with its owner, subject kinds and payload shape (checks are loaded first, so
    their payload declarations are in)."""
    load_checks()
    table = yaml.safe_load(KINDS_FILE.read_text(encoding="utf-8"))
    if twice := sorted(set(table) & set(_DECLARED)):
        raise KindsError(f"{KINDS_FILE.name}: kinds declared again by a check module: {', '.join(twice)}")
    table.update(_DECLARED)
    out: dict[str, KindSpec] = {}
    for name, entry in table.items():
        subjects = entry.get("subject")
        subjects = [subjects] if isinstance(subjects, str) else list(subjects or [])
        if entry.get("owner") not in OWNERS:
            raise KindsError(f"{KINDS_FILE.name}: {name}: owner must be one of {', '.join(OWNERS)}")
        if not subjects or any(s not in SUBJECT_KINDS for s in subjects):
            raise KindsError(f"{KINDS_FILE.name}: {name}: subject must be one of {', '.join(SUBJECT_KINDS)}")
        shape = _PAYLOADS.get(name)
        out[name] = KindSpec(name, entry["owner"], frozenset(subjects), TypeAdapter(shape) if shape else None,
                             _volatile_paths(name, entry.get("volatile")), _event(name, entry.get("event")))
    if stray := sorted(set(_PAYLOADS) - set(out)):
        raise KindsError(f"{KINDS_FILE.name}: payload declared for kinds not in the table: {', '.join(stray)}")
    return out


def _event(kind: str, value: Any) -> bool:
    if value is not None and not isinstance(value, bool):
        raise KindsError(f"{KINDS_FILE.name}: {kind}: event must be true or false")
    return bool(value)


def event_kinds() -> frozenset[str]:
    """The kinds kinds.yaml declares `event: true`."""
    return frozenset(name for name, spec in load_kinds().items() if spec.event)


_PATH_RE = re.compile(r"^[a-z_][a-z0-9_]*(\[\])?(\.([a-z_][a-z0-9_]*(\[\])?|\*))*$")


def _volatile_paths(kind: str, paths: Any) -> tuple[str, ...]:
    if paths is None:
        return ()
    if not isinstance(paths, list) or not all(isinstance(p, str) and _PATH_RE.match(p) for p in paths):
        raise KindsError(f"{KINDS_FILE.name}: {kind}: volatile must be a list of payload fields such as "
                         "`eicar.latency_ms`, `attempts[].elapsed_ms` or `metrics.*`")
    return tuple(paths)


def readable_by_others(o: Observation) -> bool:
    """Whether checks of other subjects may read `o` (its payload fits its kind's shape). One subject's
    malformed observation, stored before ingest checked payloads, then costs only its own findings."""
    spec = load_kinds().get(o.kind)
    return spec is None or not spec.payload_errors(o.payload)
