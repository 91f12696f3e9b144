"""The language sources, checks and the collector share: observations, controls, findings."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

SUBJECT_KINDS = (
    "host",  # a collection terminal or server, id = agent host id
    "camera",
    "zone",  # a floor-plan zone that must be seen by a camera
    "ups",
    "sensor",  # a machine-room climate probe
    "door",
    "batch",  # a data batch the bank dispatched (委托批次)
    "call_system",  # the call recording system
    "collection_system",  # the collection system's accounts and logs
    "site",  # the site as a whole (manual controls, ledger)
    "canary",  # an SMTP or egress canary outside the terminals' zone
)
SubjectKind = Literal[
    "host", "camera", "zone", "ups", "sensor", "door", "batch", "call_system", "collection_system", "site", "canary"
]
Status = Literal["pass", "fail", "unknown", "not_applicable"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "unknown", "not_applicable")
Severity = Literal["critical", "high", "medium", "low"]

# checked by pydantic-core itself (a Python validator per field costs more than the rest of an
# observation's validation); `\n?$` keeps what Python's `$` accepted, so stored history stays readable
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}\n?$"
_KIND_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\n?$"
# what a field checked by pattern must look like, said to the sender instead of the pattern
PATTERN_RULES = {"subject_id": "subject_id: letters, digits and ._:@/- only, at most 200 characters",
                 "kind": "kind must be dotted lower-case words, e.g. 'usb.devices'"}
_DURATION_RE = re.compile(r"^(\d+)(s|m|h|d)$")


@lru_cache(maxsize=256)
def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '2h', '3d' -> timedelta; raises ValueError naming the accepted form."""
    m = _DURATION_RE.match(text.strip())
    if not m:
        raise ValueError(f"duration {text!r} must look like 90s, 15m, 2h or 3d")
    n, unit = int(m.group(1)), m.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: n})


# Times a sender may give: wide enough for any clock that is merely wrong, narrow enough that adding
# a retention period or converting to any zone stays inside the calendar Python can hold
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
# validation context for rows read back from the store: they were checked when stored, and a rule
# added later must not make history unreadable
STORED = {"stored": True}


def in_calendar(v: datetime) -> datetime:
    """An aware time from 1970 to 2999 (UTC), or ValueError saying what is accepted."""
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError("time must carry a UTC offset, e.g. 2026-11-29T10:00:00+08:00")
    if not EARLIEST <= v < LATEST:
        raise ValueError("time must lie between 1970-01-01 and 2999-12-31 (UTC)")
    return v


# an API time (query or body): with a UTC offset, inside the calendar
AwareTime = Annotated[datetime, AfterValidator(in_calendar)]


class Text(BaseModel):
    """A user-facing text in both languages."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


class EvidenceRef(BaseModel):
    """An attachment stored by content: the SHA-256 of its bytes names it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    name: str = Field(min_length=1, max_length=255)
    media_type: str = "application/octet-stream"
    size: int = Field(ge=0)


class Observation(BaseModel):
    """One fact about one subject at one time, with the raw evidence behind it.

    `id` comes from the source so that re-sending is harmless; `key` tells apart
    observations of the same kind about the same subject that are all current at once
    (e.g. the evidence of each manual control on the site).
    """

    model_config = ConfigDict(extra="forbid")
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), min_length=8, max_length=64)
    source: str = Field(min_length=1, max_length=200)
    site: str = Field(default="default", min_length=1, max_length=100)
    subject_kind: SubjectKind
    subject_id: str = Field(pattern=_ID_PATTERN)
    kind: str = Field(pattern=_KIND_PATTERN)
    key: str = Field(default="", max_length=200)
    observed_at: datetime
    received_at: datetime | None = None
    seq: int | None = Field(default=None, ge=0, lt=2**63)  # the store keeps it as a signed 64-bit integer
    payload: dict[str, Any] = Field(default_factory=dict)
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=50)

    @field_validator("id", "source", "site", "key")
    @classmethod
    def _no_nul(cls, v: str, info: ValidationInfo) -> str:
        # a PostgreSQL store's text columns cannot hold NUL: refused on both stores, naming the field
        if "\x00" in v and not (info.context or {}).get("stored"):
            raise ValueError(f"{info.field_name}: must not contain NUL (\\u0000)")
        return v


    @field_validator("observed_at", "received_at")
    @classmethod
    def _aware(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        if v is None or (info.context or {}).get("stored"):
            return v
        return in_calendar(v)

    @property
    def subject(self) -> tuple[str, str]:
        return (self.subject_kind, self.subject_id)

    @property
    def as_of(self) -> datetime:
        """When the fact held, as far as the collector can tell: the sender's time, but never later
        than its arrival, so a sender's clock running ahead cannot make it look newer (or fresher)."""
        if self.received_at is not None and self.received_at < self.observed_at:
            return self.received_at
        return self.observed_at


class Control(BaseModel):
    """A control of the catalog: what must hold, which clause demands it, how it is judged."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")
    clauses: list[str] = Field(min_length=1)
    text_zh: str = Field(min_length=4)
    title: Text
    subject: SubjectKind
    check: str | None = None
    manual: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    severity: Severity
    evidence: Text
    freshness: str = "1d"
    owner_role: Literal["admin", "security", "facility", "manager"] | None = None
    cadence: str | None = None  # manual controls: how often evidence must be renewed, e.g. "30d"
    evidence_kind: str | None = None  # manual controls: scan, photo, signed_register, training_record
    attestation: Literal["measured", "tested", "configured", "attested"] = "measured"
    # "all": every known subject of the kind gets a finding (unknown without data);
    # "reporting": only subjects that ever reported what the check reads (e.g. backup servers)
    applies_to: Literal["all", "reporting"] = "all"

    @field_validator("freshness", "cadence")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @model_validator(mode="after")
    def _check_or_manual(self) -> Control:
        if self.manual == (self.check is not None):
            raise ValueError("a control names a 'check' or says 'manual: true', exactly one of them")
        if self.manual and self.subject != "site":
            raise ValueError("manual controls are attested for the whole site: subject must be 'site'")
        return self

    @property
    def freshness_td(self) -> timedelta:
        return parse_duration(self.freshness)
