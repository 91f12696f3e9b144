"""POST /api/v1/climate/readings: push endpoint for climate probes no poller can reach.

A source token limited to subject kind `sensor` (or an admin) sends raw temperature and
humidity; the collector adds dew point and rate of change and stores `climate.reading`.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from collector.auth import Principal
from collector.deps import StateDep, require
from collector.ingest import clock_problem
from collector.sources.pollers.climate import ClimateTracker
from rules.model import AwareTime

router = APIRouter(prefix="/api/v1/climate", tags=["climate"])


class Reading(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sensor: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$")
    temperature_c: float = Field(ge=-50, le=100)
    humidity_pct: float = Field(ge=0, le=100)
    time: AwareTime | None = None
    probe: str = Field(default="", max_length=100)
    room: str = Field(default="", max_length=100)  # the room it measures, for alert inhibition


class Readings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    readings: list[Reading] = Field(min_length=1, max_length=1000)


class Accepted(BaseModel):
    accepted: int
    duplicates: int


def _tracker(request: Request, site: str) -> ClimateTracker:
    trackers = request.app.state.__dict__.setdefault("climate_trackers", {})
    return trackers.setdefault(site, ClimateTracker(site=site, source="climate-push"))


@router.post("/readings", response_model=Accepted, responses={
    401: {"description": "no or unknown token"}, 403: {"description": "token may not write this sensor"},
    422: {"description": "malformed reading; nothing stored"}})
async def push_readings(body: Readings, request: Request, state: StateDep,
                        principal: Annotated[Principal, Depends(require("ingest"))]) -> Accepted:
    """Store readings `{"readings": [{"sensor", "temperature_c", "humidity_pct", "time"?, "probe"?, "room"?}]}`."""
    now = datetime.now(UTC)
    for i, r in enumerate(body.readings):
        if not principal.may_write("sensor", r.sensor):
            raise HTTPException(403, f"readings[{i}]: {principal.actor} may not write sensor/{r.sensor}")
        if r.time is not None and (late := clock_problem(r.time, now, state.settings.max_clock_skew_s)):
            raise HTTPException(422, f"readings[{i}].time: {late}")
    site = principal.site if principal.kind != "user" else state.settings.site
    tracker = _tracker(request, site)
    batch = [tracker.reading(r.sensor, r.temperature_c, r.humidity_pct, probe=r.probe, at=r.time, transport="push")
             for r in body.readings]
    for o, r in zip(batch, body.readings, strict=True):
        o.source = principal.actor
        if r.room:
            o.payload["room"] = r.room
    result = await run_in_threadpool(state.store.ingest, batch, actor=principal.actor)
    if result.accepted:
        state.worker.submit(batch)
    state.metrics.observed(principal.actor, principal.kind, result.accepted, result.duplicates)
    return Accepted(accepted=result.accepted, duplicates=result.duplicates)
