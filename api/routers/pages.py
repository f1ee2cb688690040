"""Server-rendered Dutch pages: landing page and one page per role.

Until sign-in lands (the workflow issue) these pages show aggregates and reference data only:
no young person's details are rendered without an authenticated, authorised user.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.app import SessionDep, templates
from api.auth import OptionalPrincipal, Principal
from api.formatting import euro, nl_date, nl_month, nl_number
from api.services import overview

router = APIRouter(include_in_schema=False)

ROLES = (
    {
        "path": "/beoordelen",
        "title": "Beoordelen",
        "who": "Corporaties en gemeenten",
        "what": "Het maandelijkse toewijzingsvoorstel bekijken en per match accepteren of "
        "afwijzen met een reden.",
    },
    {
        "path": "/regisseur",
        "title": "Regisseur",
        "who": "Regisseurs en casemanagers",
        "what": "Voor een jongere uit je eigen caseload de best passende woonplekken zien, "
        "met uitleg waarom andere plekken niet passen.",
    },
    {
        "path": "/planner",
        "title": "Planner",
        "who": "Planners van gemeente en regio",
        "what": "Aanbod, contingenten en wachtenden per gemeente en woonvorm.",
    },
    {
        "path": "/beheer",
        "title": "Beheer",
        "who": "Beheerder",
        "what": "Gebruikers, organisaties, de menukaart en de huurtoeslaggrenzen.",
    },
)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with the helpers every template uses and the signed-in user, if any."""
    context.update(
        roles=ROLES,
        euro=euro,
        nl_number=nl_number,
        nl_date=nl_date,
        nl_month=nl_month,
        principal=principal,
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, session: SessionDep, principal: OptionalPrincipal) -> HTMLResponse:
    return render(
        request, "landing.html", {"title": "Start", "counts": overview.counts(session)}, principal
    )


@router.get("/beoordelen", response_class=HTMLResponse)
def review(request: Request, session: SessionDep, principal: OptionalPrincipal) -> HTMLResponse:
    return render(
        request,
        "review.html",
        {"title": "Beoordelen", "rounds": overview.rounds(session)},
        principal,
    )


@router.get("/regisseur", response_class=HTMLResponse)
def regisseur(request: Request, session: SessionDep, principal: OptionalPrincipal) -> HTMLResponse:
    return render(
        request,
        "regisseur.html",
        {"title": "Regisseur", "types": overview.housing_types(session)},
        principal,
    )


@router.get("/planner", response_class=HTMLResponse)
def planner(request: Request, session: SessionDep, principal: OptionalPrincipal) -> HTMLResponse:
    year = overview.current_year()
    type_names, rows = overview.supply_by_gemeente(session, year)
    return render(
        request,
        "planner.html",
        {"title": "Planner", "year": year, "type_names": type_names, "rows": rows},
        principal,
    )


@router.get("/beheer", response_class=HTMLResponse)
def admin(request: Request, session: SessionDep, principal: OptionalPrincipal) -> HTMLResponse:
    return render(
        request,
        "admin.html",
        {
            "title": "Beheer",
            "counts": overview.counts(session),
            "policies": overview.policies(session),
            "types": overview.housing_types(session),
        },
        principal,
    )
