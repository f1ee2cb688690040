"""A corporation's stock pages: its own options, register a vacancy by clicking the map,
withdraw an option or mark it occupied (``api.services.stock``; role ``corporatie`` only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import SessionDep
from api.errors import NotFound
from api.pages.common import actor_of, back, form_user, not_found, page_user, render
from api.services import places
from api.services import stock as svc
from api.services.intake import Invalid
from store import models as m

router = APIRouter(include_in_schema=False)
Corporation = Annotated[Principal, Depends(page_user("corporatie"))]
CorporationForm = Annotated[Principal, Depends(form_user("corporatie"))]
Text = Annotated[str, Form(max_length=200)]

FIELD_NAMES = {
    "type_code": "woonvorm",
    "address": "adres",
    "location": "locatie",
    "kale_huur": "kale huur",
    "servicekosten": "servicekosten",
    "capacity": "capaciteit",
    "available_from": "beschikbaar vanaf",
    "accessibility_notes": "toegankelijkheid",
    "code": "code",
    "status": "status",
}


def _input(
    type_code: Text = "",
    address: Text = "",
    location: Text = "",
    kale_huur: Text = "",
    servicekosten: Text = "",
    capacity: Text = "",
    available_from: Text = "",
    accessibility_notes: Annotated[str, Form(max_length=2000)] = "",
) -> svc.OptionInput:
    return svc.OptionInput(
        type_code=type_code,
        address=address,
        location=location,
        kale_huur=kale_huur,
        servicekosten=servicekosten,
        capacity=capacity,
        available_from=available_from,
        accessibility_notes=accessibility_notes,
    )


OptionForm = Annotated[svc.OptionInput, Depends(_input)]


def _list_context(session: Session, principal: Principal) -> dict[str, Any]:
    options = svc.own_options(session, actor_of(principal))
    names = places.area_names(
        session, [c for o in options for c in (o.gemeente_code, o.wijk_code, o.buurt_code)]
    )
    return {"options": options, "area_names": names, "transitions": svc.TRANSITIONS}


@router.get("/woningaanbod", response_class=HTMLResponse)
def stock_list(request: Request, session: SessionDep, principal: Corporation) -> Response:
    context = _list_context(session, principal)
    context.update(
        title="Woningaanbod",
        saved=request.query_params.get("opgeslagen"),
        code=request.query_params.get("woning"),
        error=None,
    )
    return render(request, "stock_list.html", context, principal)


def _form(
    request: Request,
    session: Session,
    principal: Principal,
    raw: svc.OptionInput,
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    types = session.execute(
        select(m.HousingType.code, m.HousingType.name, m.HousingType.persons_max).order_by(
            m.HousingType.name
        )
    ).all()
    context = {
        "title": "Woning aanmelden",
        "form": raw,
        "errors": errors,
        "types": types,
        "field_names": FIELD_NAMES,
        "areas_geojson": places.map_areas_geojson(session),
    }
    return render(request, "stock_form.html", context, principal, status_code=status_code)


@router.get("/woningaanbod/nieuw", response_class=HTMLResponse)
def new_option(request: Request, session: SessionDep, principal: Corporation) -> Response:
    return _form(request, session, principal, svc.OptionInput(), {})


@router.post("/woningaanbod/nieuw", response_class=HTMLResponse)
def create_option(
    request: Request, session: SessionDep, principal: CorporationForm, raw: OptionForm
) -> Response:
    try:
        option = svc.register_option(session, actor_of(principal), raw)
    except Invalid as exc:
        session.rollback()
        return _form(request, session, principal, raw, exc.errors, status_code=422)
    return back("/woningaanbod", f"woning-{option.code}", opgeslagen="nieuw", woning=option.code)


@router.post("/woningaanbod/{code}/status", response_class=HTMLResponse)
def change_status(
    request: Request, code: str, session: SessionDep, principal: CorporationForm, status: Text = ""
) -> Response:
    try:
        svc.set_option_status(session, actor_of(principal), code, status)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    except Invalid as exc:
        session.rollback()
        context = _list_context(session, principal)
        context.update(title="Woningaanbod", saved=None, code=code, error=exc.errors["status"])
        return render(request, "stock_list.html", context, principal, status_code=422)
    return back("/woningaanbod", f"woning-{code}", opgeslagen="status", woning=code)


@router.post("/woningaanbod/locatie")
def locate(session: SessionDep, principal: CorporationForm, location: Text = "") -> JSONResponse:
    """Which gemeente, wijk and buurt a clicked point lies in (JSON for intake.js)."""
    try:
        point = places.parse_latlon(location)
    except places.PlaceError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    where = places.locate(session, *point) if point else None
    if where is None:
        return JSONResponse(
            {"error": "Deze plek ligt in geen enkele gemeente van de regio."}, status_code=422
        )
    names = places.area_names(session, list(where.values()))
    parts = [
        f"{level} {names.get(code, code)}" for level, code in where.items() if code is not None
    ]
    return JSONResponse({"message": "Ligt in " + ", ".join(parts) + "."})
