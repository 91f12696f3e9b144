"""The retention policy compaction applies (`rules/retention.yaml`): each kind's raw window, the
keyframe period beyond it, and how long an evidence file no kept observation names stays."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from rules.kinds import load_kinds

RETENTION_FILE = Path(__file__).resolve().parents[2] / "rules" / "retention.yaml"
FOREVER = math.inf


class RetentionError(ValueError):
    """The policy file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class RetentionPolicy:
    keep_raw_days: float
    keyframe_hours: float
    evidence_keep_days: float
    kinds: dict[str, float] = field(default_factory=dict)  # kind -> its own raw window in days (inf: forever)

    def raw_days(self, kind: str) -> float:
        return self.kinds.get(kind, self.keep_raw_days)

    def cutoff(self, kind: str, now: datetime) -> float | None:
        """Epoch seconds before which `kind`'s raw observations may be compacted, on a keyframe boundary
        (so each keyframe period is compacted whole, once); None for a kind kept forever."""
        days = self.raw_days(kind)
        if days == FOREVER:
            return None
        period = self.keyframe_hours * 3600
        return math.floor((now - timedelta(days=days)).timestamp() / period) * period

    def with_raw_days(self, days: float | None) -> RetentionPolicy:
        """The policy with another default raw window (`--keep-raw-days`); kinds with their own keep theirs."""
        return self if days is None else replace(self, keep_raw_days=days)

    def as_dict(self) -> dict[str, Any]:
        return {"keep_raw_days": self.keep_raw_days, "keyframe_hours": self.keyframe_hours,
                "evidence_keep_days": self.evidence_keep_days,
                "kinds": {k: "forever" if v == FOREVER else v for k, v in sorted(self.kinds.items())}}


def _days(where: str, value: Any, *, forever: bool = False, least: float = 0.0) -> float:
    if forever and value == "forever":
        return FOREVER
    if isinstance(value, bool) or not isinstance(value, int | float) or not least <= value < 100_000:
        allowed = "a number of days or `forever`" if forever else "a number"
        raise RetentionError(f"{where}: must be {allowed} from {least:g} up, got {value!r}")
    return float(value)


def load_policy(path: Path = RETENTION_FILE) -> RetentionPolicy:
    try:
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise RetentionError(f"{path}: cannot be read ({e})") from None
    if not isinstance(table, dict):
        raise RetentionError(f"{path}: must be a mapping")
    if stray := sorted(set(table) - {"keep_raw_days", "keyframe_hours", "evidence_keep_days", "kinds"}):
        raise RetentionError(f"{path}: unknown keys: {', '.join(map(str, stray))}")
    kinds = table.get("kinds") or {}
    if not isinstance(kinds, dict):
        raise RetentionError(f"{path}: kinds: must be a mapping of kind to days")
    known = load_kinds()
    own: dict[str, float] = {}
    for kind, value in kinds.items():
        if kind not in known:
            raise RetentionError(f"{path}: kinds.{kind}: not an observation kind (rules/kinds.yaml)")
        own[kind] = _days(f"{path}: kinds.{kind}", value, forever=True)
    return RetentionPolicy(
        keep_raw_days=_days(f"{path}: keep_raw_days", table.get("keep_raw_days")),
        keyframe_hours=_days(f"{path}: keyframe_hours", table.get("keyframe_hours"), least=1),
        evidence_keep_days=_days(f"{path}: evidence_keep_days", table.get("evidence_keep_days")),
        kinds=own)
