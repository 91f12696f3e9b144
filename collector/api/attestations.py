"""Attestations by managers and the telemetry that contradicts them."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from collector.auth import Principal
from collector.deps import Reader, StateDep, require
from collector.people import attest
from rules.model import AwareTime

router = APIRouter(prefix="/api/v1", tags=["attestations"])
Manager = Annotated[Principal, Depends(require("attest"))]


class AttestationIn(BaseModel):
    period_start: AwareTime
    period_end: AwareTime
    statement: str = Field(min_length=6, max_length=10_000)
    corrects: int | None = Field(default=None, description="id of the attestation this one corrects")
    controls: list[str] = Field(default_factory=list, description="controls attested; empty: all")
    site: str | None = Field(default=None, description="the site attested; empty: the whole store")
    acknowledge_failures: bool = Field(default=False, description="the manager reviewed the period's failures that "
                                       "no waiver covers (GET /api/v1/attestations/failures); required when any")


@router.post("/attestations", status_code=201)
def create_attestation(body: AttestationIn, state: StateDep, principal: Manager) -> dict[str, Any]:
    """Sign the period's posture with a statement (immutable; correct by attesting again)."""
    try:
        return attest.attest(state.store, state.controls, start=body.period_start, end=body.period_end,
                             statement=body.statement, user=principal.name, corrects=body.corrects,
                             scope=body.controls or None, site=body.site,
                             acknowledge_failures=body.acknowledge_failures)
    except attest.AttestError as e:
        raise HTTPException(422, str(e)) from None


@router.get("/attestations")
def list_attestations(state: StateDep, _: Reader, start: Annotated[AwareTime | None, Query(alias="from")] = None,
                      end: Annotated[AwareTime | None, Query(alias="to")] = None,
                      site: str | None = None) -> list[dict[str, Any]]:
    """Attestation history, oldest first, with corrections linked both ways (with `site`: that
    site's and the whole store's)."""
    return attest.history(state.store, start=start, end=end, site=site)


@router.get("/attestations/failures")
def list_period_failures(state: StateDep, _: Reader, start: Annotated[AwareTime, Query(alias="from")],
                         end: Annotated[AwareTime, Query(alias="to")], site: str | None = None) -> list[dict[str, Any]]:
    """Every failure of the period, by control in tender order, with the waivers covering each: what a manager
    acknowledges before signing."""
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(422, "from/to: give times with a UTC offset")
    return attest.period_failures(state.store, state.controls, start, end, site)


@router.get("/attestations/contradictions")
def list_contradictions(state: StateDep, _: Reader, start: Annotated[AwareTime, Query(alias="from")],
                        end: Annotated[AwareTime, Query(alias="to")],
                        control: Annotated[list[str] | None, Query()] = None) -> list[dict[str, Any]]:
    """Failures of automatic controls on the same clause as a manual control, in the period:
    shown on the attestation form before a manager signs."""
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(422, "from/to: give times with a UTC offset")
    return attest.contradictions(state.store, state.controls, start, end, control)
