"""Contingents with their use (``/api/v1/contingents``): admin and planners see all, gemeente
staff their gemeente's, a corporation its own; regisseurs none."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, actor, call
from api.services import catalog

router = APIRouter(prefix="/contingents", tags=["contingents"])


class ContingentOut(BaseModel):
    corporation: str
    gemeente_code: str
    year: int
    housing_type: str | None
    amount: int
    used: int
    remaining: int


@router.get("", response_model=list[ContingentOut], responses=ERRORS)
def list_contingents(
    principal: Caller,
    session: SessionDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[ContingentOut]:
    """Contingents in your scope: amount, used by final placements, and what remains."""
    rows = call(catalog.list_contingents, session, actor(principal), year=year)
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
