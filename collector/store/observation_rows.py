"""An observation as the store keeps it: its canonical bytes, its row, and the way back to an Observation."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from collector.proof.canonical import loads, stored_json
from collector.store.base import ObservationRow
from rules.model import STORED, Observation

log = logging.getLogger(__name__)


def utc_at(epoch_s: float) -> datetime:
    """The moment a stored epoch-seconds column names, in UTC."""
    return datetime.fromtimestamp(epoch_s, UTC)


def observation_body(o: Observation, sender: tuple[str, str] | None = None) -> bytes:
    """The canonical bytes stored, hashed into the batch's Merkle root and read back; `sender`: the
    (source, site) written instead of those `o` claims."""
    source, site = sender or (o.source, o.site)
    return stored_json(stored_fields(o, source, site, o.observed_at.isoformat(), o.payload))


def stored_fields(o: Any, source: str, site: str, observed_at: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What the stored body of `o` (an Observation, or a posted one as collector.ingest reads it) holds, written
    with `source`, `site`, `observed_at` (ISO 8601, as `datetime.isoformat` writes it) and `payload`.

    Built field by field: pydantic's generic dump costs more than the rest of ingest."""
    return {"id": o.id, "source": source, "site": site, "subject_kind": o.subject_kind, "subject_id": o.subject_id,
            "kind": o.kind, "key": o.key, "observed_at": observed_at, "seq": o.seq, "payload": payload,
            "evidence": [e.model_dump() for e in o.evidence] if o.evidence else []}


def observation_row(o: Observation, sender: tuple[str, str] | None = None) -> ObservationRow:
    """The row of `o`; `sender`: the (source, site) written instead of those `o` claims."""
    source, site = sender or (o.source, o.site)
    return (o.id, source, site, o.subject_kind, o.subject_id, o.kind, o.key, o.observed_at.timestamp(), o.seq,
            observation_body(o, sender))


def observation_from_body(body: bytes, received_at: float) -> Observation:
    data = loads(body)
    data["received_at"] = utc_at(received_at)
    data["observed_at"] = _stored_moment(data.get("observed_at"))
    return Observation.model_validate(data, context=STORED)


def _stored_moment(text: object) -> object:
    """The stored `observed_at` as the standard library reads it (the same moment and offset): its offsets
    compare and subtract several times faster than those pydantic gives, and checks do that all the time.
    Anything it cannot read stays text, for pydantic to judge as before."""
    if not isinstance(text, str):
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment if moment.tzinfo is not None else text


def readable_observations(rows: Iterable[tuple[bytes, float]]) -> list[Observation]:
    """The observations of (body, received_at) rows, leaving out (and logging) any row that cannot be
    read: one damaged row must cost its own line, not every page and evaluation that lists it."""
    out = []
    for body, received_at in rows:
        try:
            out.append(observation_from_body(body, received_at))
        except (ValueError, TypeError, OverflowError) as e:  # ValidationError and orjson's errors are ValueErrors
            log.warning("unreadable stored observation skipped (%s): %.200r", type(e).__name__, body)
    return out
