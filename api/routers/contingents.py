"""Contingents with their use (``/api/v1/contingents``): admin and planners see all, gemeente
staff their gemeente's, a corporation its own; regisseurs none.

Changing an agreement is two-sided (``/api/v1/contingents/changes``): the gemeente or the
corporation proposes an amount, the other party accepts or rejects; only an accepted amount
counts. Bad fields get 422 with a Dutch message per field; nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, actor, utc
from api.services import catalog
from api.services import contingents as svc
from matcher.records import ContingentRecord
from store import models as m

router = APIRouter(prefix="/contingents", tags=["contingents"])
T = TypeVar("T")


class ContingentOut(BaseModel):
    corporation: str
    gemeente_code: str
    year: int
    housing_type: str | None
    amount: int
    used: int
    remaining: int


class ChangeOut(BaseModel):
    id: int
    corporation: str
    gemeente_code: str
    year: int
    housing_type: str | None
    old_amount: int | None
    new_amount: int
    status: str
    note: str
    proposed_by: str | None
    proposed_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


class Decision(BaseModel):
    note: str = Field(default="", max_length=1000)


ChangeId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Year = Annotated[int | None, Query(ge=2000, le=2100)]


def _change_out(change: m.ContingentChange) -> ChangeOut:
    return ChangeOut(
        id=change.id,
        corporation=change.corporation.code,
        gemeente_code=change.gemeente_code,
        year=change.year,
        housing_type=change.type.code if change.type is not None else None,
        old_amount=change.old_amount,
        new_amount=change.new_amount,
        status=change.status,
        note=change.note,
        proposed_by=change.proposed_by.email if change.proposed_by is not None else None,
        proposed_at=utc(change.proposed_at),
        decided_by=change.decided_by.email if change.decided_by is not None else None,
        decided_at=utc(change.decided_at),
        decision_note=change.decision_note,
    )


@router.get("", response_model=list[ContingentOut], responses=ERRORS)
def list_contingents(
    principal: Caller, session: SessionDep, year: Year = None
) -> list[ContingentOut]:
    """Contingents in your scope: amount, used by final placements, and what remains."""
    rows = catalog.list_contingents(session, actor(principal), year=year)
    return [
        ContingentOut(
            corporation=corp,
            gemeente_code=c.gemeente_code,
            year=c.year,
            housing_type=type_code,
            amount=c.amount,
            used=c.used,
            remaining=c.amount - c.used,
        )
        for c, corp, type_code in rows
    ]


@router.get("/changes", response_model=list[ChangeOut], responses=ERRORS)
def list_changes(principal: Caller, session: SessionDep, year: Year = None) -> list[ChangeOut]:
    """Proposed, accepted, rejected and withdrawn changes in your scope, newest first."""
    return [_change_out(c) for c in svc.list_changes(session, actor(principal), year)]


@router.post("/changes", response_model=ChangeOut, status_code=201, responses=ERRORS)
def propose(
    principal: Caller,
    session: SessionDep,
    body: Annotated[dict[str, Any], Body(description="A contingent record (matcher.records)")],
) -> ChangeOut:
    """Propose an amount for an agreement of your own organisation; it counts only once the
    other party accepts. 422 names the field (e.g. an amount below what is already used)."""
    record = ContingentRecord.parse(body)
    return _change_out(svc.propose(session, actor(principal), record))


@router.post("/changes/{change_id}/accept", response_model=ChangeOut, responses=ERRORS)
def accept(
    change_id: ChangeId, body: Decision, principal: Caller, session: SessionDep
) -> ChangeOut:
    """The other party accepts: the proposed amount becomes the counted one."""
    return _change_out(svc.decide(session, actor(principal), change_id, True, body.note))


@router.post("/changes/{change_id}/reject", response_model=ChangeOut, responses=ERRORS)
def reject(
    change_id: ChangeId, body: Decision, principal: Caller, session: SessionDep
) -> ChangeOut:
    """The other party rejects: the agreed amount stays."""
    return _change_out(svc.decide(session, actor(principal), change_id, False, body.note))


@router.post("/changes/{change_id}/withdraw", response_model=ChangeOut, responses=ERRORS)
def withdraw(change_id: ChangeId, principal: Caller, session: SessionDep) -> ChangeOut:
    """The proposing party takes its proposal back."""
    return _change_out(svc.withdraw(session, actor(principal), change_id))
