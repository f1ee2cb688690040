"""The regisseur's intake pages: register a young person, change their data and status, and
see who changed what (the audit entries are the versions).

Only the youth's own regisseur opens these pages (``page_user("regisseur")``, and the services
query the own caseload only); forms carry the session's CSRF token (``form_user``). A refused
form comes back with a Dutch message at each field and a summary at the top; nothing is written.
"""

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
from api.services import intake as svc
from api.services import places
from store import models as m

router = APIRouter(include_in_schema=False)
Regisseur = Annotated[Principal, Depends(page_user("regisseur"))]
RegisseurForm = Annotated[Principal, Depends(form_user("regisseur"))]
Text = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=200_000)]
TextList = Annotated[list[str], Form(max_length=svc.RANKS)]


def _form_context(
    session: Session,
    raw: svc.YouthInput,
    errors: dict[str, str],
    youth: m.Youth | None,
) -> dict[str, Any]:
    choices = places.area_choices(session)
    gemeenten = [(c.code, c.name) for c in choices if c.level == "gemeente"]
    types = list(session.execute(select(m.HousingType.code, m.HousingType.name)).all())
    return {
        "form": raw,
        "errors": errors,
        "youth": youth,
        "choices": choices,
        "gemeenten": sorted(gemeenten, key=lambda g: g[1]),
        "types": sorted(types, key=lambda t: t[1]),
        "ranks": svc.RANKS,
        "no_go_fields": svc.NO_GO_FIELDS,
        "anchor_labels": svc.ANCHOR_LABELS,
        "field_names": svc.FIELD_NAMES,
        "areas_geojson": places.map_areas_geojson(session),
        "status_choices": svc.STATUS_CHOICES,
    }


NoGoList = Annotated[list[str], Form(max_length=svc.NO_GO_FIELDS)]


def _input(
    birth_date: Text = "",
    gemeente_code: Text = "",
    income: Text = "",
    household_size: Text = "",
    support_need: Text = "",
    care_end_date: Text = "",
    urgency: Text = "",
    max_rent: Text = "",
    max_distance_km: Text = "",
    support_provider: Text = "",
    accepted_types: TextList = [],  # noqa: B006 (FastAPI copies defaults)
    preferred_areas: TextList = [],  # noqa: B006
    anchor_school: Text = "",
    anchor_werk: Text = "",
    anchor_netwerk: Text = "",
    no_go_areas: NoGoList = [],  # noqa: B006
    no_go_drawing: LongText = "",
    companions: Text = "",
    conflicts: Text = "",
) -> svc.YouthInput:
    """The intake form's fields (a dependency, so both intake forms read them the same way)."""
    return svc.YouthInput(
        birth_date=birth_date,
        gemeente_code=gemeente_code,
        income=income,
        household_size=household_size,
        support_need=support_need,
        care_end_date=care_end_date,
        urgency=urgency,
        max_rent=max_rent,
        max_distance_km=max_distance_km,
        support_provider=support_provider,
        accepted_types=accepted_types,
        preferred_areas=preferred_areas,
        anchors={"school": anchor_school, "werk": anchor_werk, "netwerk": anchor_netwerk},
        no_go_areas=no_go_areas,
        no_go_drawing=no_go_drawing,
        companions=companions,
        conflicts=conflicts,
    )


YouthForm = Annotated[svc.YouthInput, Depends(_input)]


def _show_form(
    request: Request,
    session: Session,
    principal: Principal,
    raw: svc.YouthInput,
    errors: dict[str, str],
    youth: m.Youth | None,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = _form_context(session, raw, errors, youth)
    title = f"Gegevens van {youth.code}" if youth else "Jongere aanmelden"
    context.update(title=title, **(extra or {}))
    return render(request, "intake_form.html", context, principal, status_code=status_code)


@router.get("/regisseur/aanmelden", response_class=HTMLResponse)
def new_youth(request: Request, session: SessionDep, principal: Regisseur) -> Response:
    return _show_form(request, session, principal, svc.YouthInput(), {}, None)


@router.post("/regisseur/aanmelden", response_class=HTMLResponse)
def create_youth(
    request: Request, session: SessionDep, principal: RegisseurForm, raw: YouthForm
) -> Response:
    try:
        saved = svc.save_youth(session, actor_of(principal), None, raw)
    except svc.Invalid as exc:
        session.rollback()
        return _show_form(request, session, principal, raw, exc.errors, None, status_code=422)
    return back(f"/regisseur/jongeren/{saved.youth.code}/gegevens", opgeslagen="nieuw")


def _youth_page(
    request: Request,
    session: Session,
    principal: Principal,
    code: str,
    raw: svc.YouthInput | None = None,
    errors: dict[str, str] | None = None,
    status_errors: dict[str, str] | None = None,
    status_form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    actor = actor_of(principal)
    try:
        youth = svc.own_youth(session, actor, code)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    saved = request.query_params.get("opgeslagen")
    extra = {
        "history": svc.history(session, actor, code),
        "saved": saved,
        "round_note": svc.round_effect(session, youth)
        if saved in ("gewijzigd", "status")
        else None,
        "status_errors": status_errors or {},
        "status_form": status_form or {},
    }
    values = raw or svc.form_values(youth, places.area_choices(session))
    return _show_form(
        request, session, principal, values, errors or {}, youth, extra, status_code=status_code
    )


@router.get("/regisseur/jongeren/{code}/gegevens", response_class=HTMLResponse)
def youth_data(request: Request, code: str, session: SessionDep, principal: Regisseur) -> Response:
    return _youth_page(request, session, principal, code)


@router.post("/regisseur/jongeren/{code}/gegevens", response_class=HTMLResponse)
def change_youth(
    request: Request, code: str, session: SessionDep, principal: RegisseurForm, raw: YouthForm
) -> Response:
    try:
        svc.save_youth(session, actor_of(principal), code, raw)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    except svc.Invalid as exc:
        session.rollback()
        return _youth_page(request, session, principal, code, raw, exc.errors, status_code=422)
    return back(f"/regisseur/jongeren/{code}/gegevens", "opgeslagen", opgeslagen="gewijzigd")


@router.post("/regisseur/jongeren/{code}/status", response_class=HTMLResponse)
def change_status(
    request: Request,
    code: str,
    session: SessionDep,
    principal: RegisseurForm,
    status: Text = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        svc.set_status(session, actor_of(principal), code, status, reason)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    except svc.Invalid as exc:
        session.rollback()
        return _youth_page(
            request,
            session,
            principal,
            code,
            status_errors=exc.errors,
            status_form={"status": status, "reason": reason},
            status_code=422,
        )
    return back(f"/regisseur/jongeren/{code}/gegevens", "status", opgeslagen="status")


@router.post("/regisseur/aanmelden/voorbeeld")
def preview(
    session: SessionDep,
    principal: RegisseurForm,
    area: Text = "",
    drawing: LongText = "",
    types: TextList = [],  # noqa: B006 (FastAPI copies defaults)
) -> JSONResponse:
    """How many options a no-go choice removes (the form's preview; JSON for intake.js)."""
    try:
        found = svc.preview(session, actor_of(principal), area, drawing, types)
    except svc.Invalid as exc:
        return JSONResponse({"error": next(iter(exc.errors.values()))}, status_code=422)
    return JSONResponse({"removed": found.removed, "total": found.total, "message": found.message})
