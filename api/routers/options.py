"""Housing options (``/api/v1/options``): no personal data; a corporation sees its own stock,
gemeente staff the options in their gemeente, the other roles all options. ``POST /options``
registers a vacancy of the caller's own corporation with the fields of
``matcher.records.OptionRecord`` (x, y in RD New; the areas follow from the location)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, status
from pydantic import BaseModel

from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, actor
from api.schemas.records import record_body, refused
from api.services import catalog, stock
from api.services.intake import Invalid
from matcher.records import OptionRecord
from store import models as m

router = APIRouter(prefix="/options", tags=["options"])


class OptionOut(BaseModel):
    code: str
    housing_type: str
    corporation: str | None
    gemeente_code: str
    wijk_code: str | None
    buurt_code: str | None
    x: float
    y: float
    kale_huur: float
    servicekosten: float
    capacity: int
    shared_house_id: str | None
    available_from: date
    status: str


class OptionPage(BaseModel):
    total: int
    items: list[OptionOut]


def _out(option: m.HousingOption) -> OptionOut:
    return OptionOut(
        code=option.code,
        housing_type=option.type.code,
        corporation=option.corporation.code if option.corporation else None,
        gemeente_code=option.gemeente_code,
        wijk_code=option.wijk_code,
        buurt_code=option.buurt_code,
        x=option.x,
        y=option.y,
        kale_huur=option.kale_huur,
        servicekosten=option.servicekosten,
        capacity=option.capacity,
        shared_house_id=option.shared_house_id,
        available_from=option.available_from,
        status=option.status,
    )


@router.get("", response_model=OptionPage, responses=ERRORS)
def list_options(
    principal: Caller,
    session: SessionDep,
    gemeente_code: Annotated[str | None, Query(max_length=6)] = None,
    housing_type: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(pattern="^(available|placed|withdrawn)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> OptionPage:
    """Options in your scope, by code."""
    rows, total = catalog.list_options(
        session,
        actor(principal),
        gemeente_code=gemeente_code,
        type_code=housing_type,
        status=status,
        limit=limit,
        offset=offset,
    )
    return OptionPage(total=total, items=[_out(o) for o in rows])


@router.get("/{code}", response_model=OptionOut, responses=ERRORS)
def get_option(
    code: Annotated[str, Path(max_length=40)], principal: Caller, session: SessionDep
) -> OptionOut:
    return _out(catalog.get_option(session, actor(principal), code))


@router.post(
    "",
    response_model=OptionOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    openapi_extra=record_body(OptionRecord),
)
def register_option(
    principal: Caller, session: SessionDep, body: Annotated[dict[str, Any], Body()]
) -> OptionOut:
    """Register a vacancy of your own corporation (role corporatie); it is available from
    ``available_from`` and in the next round. The server sets the code."""
    try:
        option = stock.register_option_record(session, actor(principal), body)
    except Invalid as exc:
        raise refused(exc.errors) from exc
    return _out(option)
