"""Youths (``/api/v1/youths``): scoped per role, one response schema per audience.

- regisseur: own caseload, details including no-go areas, anchors, income;
- gemeente (and admin): youths of the own gemeente (admin: all) without no-go areas, anchors,
  income or relations;
- corporatie: no access here (the pseudonymised youth inside a match is all it sees);
- planner: ``/youths/aggregates`` only.

Every detail read is audited by the service. ``POST /youths`` and ``PUT /youths/{code}``
register and change a youth of the own caseload (regisseur only) with the fields of
``matcher.records.YouthRecord``; a refused record is a 422 with one Dutch message per field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import shapely
from fastapi import APIRouter, Body, Path, Query, status
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, actor
from api.schemas.records import record_body, refused
from api.services import intake
from api.services import youths as svc
from matcher.records import YouthRecord
from store import models as m
from store.geometry import from_wkb

router = APIRouter(prefix="/youths", tags=["youths"])

YouthStatus = Literal["waiting", "placed", "inactive"]


class YouthSummary(BaseModel):
    """A line in a youth list: enough to pick one, nothing sensitive."""

    code: str
    age: int
    gemeente_code: str
    status: str
    urgency: int
    waiting_since: date | None


class YouthPage(BaseModel):
    total: int
    items: list[YouthSummary]


class GemeenteYouthOut(BaseModel):
    """The gemeente's (and admin's) view: no no-go areas, anchors, income or relations."""

    view: Literal["gemeente"] = "gemeente"
    code: str
    birth_date: date
    age: int
    gemeente_code: str
    status: str
    support_need: int
    urgency: int
    care_end_date: date | None
    waiting_since: date | None
    household_size: int
    support_provider: str | None
    accepted_types: list[str]
    regisseur: str | None = Field(description="Name of the youth's regisseur (contact)")


class AnchorOut(BaseModel):
    label: str
    x: float
    y: float


class NoGoAreaOut(BaseModel):
    area_code: str | None
    wkt: str | None = Field(description="Polygon in RD New (EPSG:28992) when not a CBS area")


class RegisseurYouthOut(BaseModel):
    """The own regisseur's view: the whole case, including no-go areas."""

    view: Literal["regisseur"] = "regisseur"
    code: str
    birth_date: date
    age: int
    gemeente_code: str
    status: str
    income: float
    support_need: int
    urgency: int
    care_end_date: date | None
    waiting_since: date | None
    max_rent: float | None
    household_size: int
    max_distance_m: float | None
    support_provider: str | None
    accepted_types: list[str]
    preferred_areas: list[str]
    anchors: list[AnchorOut]
    no_go_areas: list[NoGoAreaOut]
    companions: list[str]
    conflicts: list[str]


class YouthCountOut(BaseModel):
    gemeente_code: str
    status: str
    age_band: str
    count: int


def _summary(youth: m.Youth, today: date) -> YouthSummary:
    return YouthSummary(
        code=youth.code,
        age=svc.age_on(youth.birth_date, today),
        gemeente_code=youth.gemeente_code,
        status=youth.status,
        urgency=youth.urgency,
        waiting_since=youth.waiting_since,
    )


def _no_go(area: m.YouthNoGoArea) -> NoGoAreaOut:
    wkt = None
    if area.geometry is not None:
        wkt = str(shapely.to_wkt(from_wkb(area.geometry), rounding_precision=-1, trim=True))
    return NoGoAreaOut(area_code=area.area_code, wkt=wkt)


def regisseur_view(youth: m.Youth, today: date) -> RegisseurYouthOut:
    return RegisseurYouthOut(
        code=youth.code,
        birth_date=youth.birth_date,
        age=svc.age_on(youth.birth_date, today),
        gemeente_code=youth.gemeente_code,
        status=youth.status,
        income=youth.income,
        support_need=youth.support_need,
        urgency=youth.urgency,
        care_end_date=youth.care_end_date,
        waiting_since=youth.waiting_since,
        max_rent=youth.max_rent,
        household_size=youth.household_size,
        max_distance_m=youth.max_distance_m,
        support_provider=youth.support_provider,
        accepted_types=[a.type.code for a in youth.accepted_types],
        preferred_areas=[p.area_code for p in youth.preferred_areas],
        anchors=[AnchorOut(label=a.label, x=a.x, y=a.y) for a in youth.anchors],
        no_go_areas=[_no_go(n) for n in youth.no_go_areas],
        companions=sorted(r.other.code for r in youth.relations if r.kind == "companion"),
        conflicts=sorted(r.other.code for r in youth.relations if r.kind == "conflict"),
    )


def gemeente_view(youth: m.Youth, today: date) -> GemeenteYouthOut:
    return GemeenteYouthOut(
        code=youth.code,
        birth_date=youth.birth_date,
        age=svc.age_on(youth.birth_date, today),
        gemeente_code=youth.gemeente_code,
        status=youth.status,
        support_need=youth.support_need,
        urgency=youth.urgency,
        care_end_date=youth.care_end_date,
        waiting_since=youth.waiting_since,
        household_size=youth.household_size,
        support_provider=youth.support_provider,
        accepted_types=[a.type.code for a in youth.accepted_types],
        regisseur=youth.regisseur.name if youth.regisseur else None,
    )


@router.get("", response_model=YouthPage, responses=ERRORS)
def list_youths(
    principal: Caller,
    session: SessionDep,
    status: YouthStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> YouthPage:
    """Youths in your scope (regisseur: own caseload; gemeente: own gemeente; admin: all)."""
    rows, total = svc.list_youths(
        session, actor(principal), status=status, limit=limit, offset=offset
    )
    today = date.today()
    return YouthPage(total=total, items=[_summary(y, today) for y in rows])


@router.get("/aggregates", response_model=list[YouthCountOut], responses=ERRORS)
def youth_aggregates(principal: Caller, session: SessionDep) -> list[YouthCountOut]:
    """Counts per gemeente, status and age band (planner, admin; gemeente: own gemeente)."""
    rows = svc.aggregates(session, actor(principal), date.today())
    return [
        YouthCountOut(
            gemeente_code=r.gemeente_code, status=r.status, age_band=r.age_band, count=r.count
        )
        for r in rows
    ]


@router.get(
    "/{code}",
    response_model=RegisseurYouthOut | GemeenteYouthOut,
    responses=ERRORS,
)
def read_youth(
    code: Annotated[str, Path(max_length=40)],
    principal: Caller,
    session: SessionDep,
) -> RegisseurYouthOut | GemeenteYouthOut:
    """One youth's details (audited). The regisseur's view includes no-go areas."""
    who = actor(principal)
    youth = svc.read_youth(session, who, code)
    today = date.today()
    if svc.view_for(who) == "regisseur":
        return regisseur_view(youth, today)
    return gemeente_view(youth, today)


YOUTH_BODY = record_body(YouthRecord)
RecordBody = Annotated[dict[str, Any], Body()]


@router.post(
    "",
    response_model=RegisseurYouthOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
    openapi_extra=YOUTH_BODY,
)
def create_youth(principal: Caller, session: SessionDep, body: RecordBody) -> RegisseurYouthOut:
    """Register a young person in your own caseload (regisseur only); areas by CBS code,
    anchors and no-go polygons (WKT) in RD New."""
    try:
        saved = intake.save_youth_record(session, actor(principal), None, body)
    except intake.Invalid as exc:
        raise refused(exc.errors) from exc
    return regisseur_view(saved.youth, date.today())


@router.put("/{code}", response_model=RegisseurYouthOut, responses=ERRORS, openapi_extra=YOUTH_BODY)
def change_youth(
    code: Annotated[str, Path(max_length=40)],
    principal: Caller,
    session: SessionDep,
    body: RecordBody,
) -> RegisseurYouthOut:
    """Replace a youth's data (own caseload only); every field as for registration. Audited
    with what changed."""
    try:
        saved = intake.save_youth_record(session, actor(principal), code, body)
    except intake.Invalid as exc:
        raise refused(exc.errors) from exc
    return regisseur_view(saved.youth, date.today())
