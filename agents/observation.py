"""What the agent observes, as a plain record: the resident agent never loads the pydantic models.

The fields are those of `rules.model.Observation` (docs/observations.md). `to_json()` is the body
the collector ingests (and validates); `to_model()` is the validated model, for judging with the
catalog (`agent once`). pydantic and its schemas cost about half the idle agent's memory.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rules.model import Observation


def _jsonable(value: Any) -> Any:
    """Payload values JSON does not know, as pydantic would write them."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@dataclass(slots=True)
class AgentObservation:
    source: str
    subject_kind: str
    subject_id: str
    kind: str
    observed_at: datetime  # timezone-aware
    payload: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    site: str = "default"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seq: int | None = None

    @property
    def subject(self) -> tuple[str, str]:
        return (self.subject_kind, self.subject_id)

    @property
    def as_of(self) -> datetime:
        """The time checks order by (rules.model.Observation.as_of): on the host itself, its own clock."""
        return self.observed_at

    def as_dict(self) -> dict[str, Any]:
        """The ingest API's form (observed_at as ISO 8601 with its offset)."""
        return {"id": self.id, "source": self.source, "site": self.site, "subject_kind": self.subject_kind,
                "subject_id": self.subject_id, "kind": self.kind, "key": self.key,
                "observed_at": self.observed_at.isoformat(), "seq": self.seq, "payload": self.payload,
                "evidence": []}

    def to_json(self) -> bytes:
        return json.dumps(self.as_dict(), default=_jsonable, ensure_ascii=False, separators=(",", ":")).encode()

    def to_model(self) -> Observation:
        from rules.model import Observation

        return Observation.model_validate_json(self.to_json())
