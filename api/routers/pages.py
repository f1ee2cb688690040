"""Server-rendered Dutch pages: landing page and one page per role, plus the maps they embed.

Routes are thin: check sign-in and role (a redirect to sign-in, or a Dutch 403 page), call the
services (which scope every query to the user's organisation), render. Forms post with the
session's CSRF token and redirect back (post/redirect/get), so every page works without
JavaScript; only the maps (served as their own documents under ``/kaarten``) need it.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.auth import OptionalPrincipal, Principal
from api.deps import SessionDep
from api.headers import csp_nonce
from api.pages.common import actor_of as _actor
from api.pages.common import denied as _denied
from api.pages.common import not_found as _not_found
from api.pages.common import render
from api.services import caseload as caseload_svc
from api.services import maps as maps_svc
from api.services import overview
from api.services import rounds as rounds_svc
from api.services import youths as youths_svc
from api.services.rounds import Actor, NotFound
from api.services.scope import own_case
from maps.options import build_options_map
from maps.supply import build_compare_map, build_supply_map, render_html
from store import models as m

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, session: SessionDep, principal: OptionalPrincipal) -> HTMLResponse:
    return render(
        request, "landing.html", {"title": "Start", "counts": overview.counts(session)}, principal
    )


# --------------------------------------------------------------------------- access


def _gate(request: Request, principal: Principal | None, roles: tuple[str, ...]) -> Response | None:
    """A redirect to sign-in, a 403 page, or None when ``principal`` may open the page."""
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/inloggen?next={quote(target)}", status.HTTP_303_SEE_OTHER)
    if principal.role not in roles:
        return _denied(request, principal, "Deze pagina is niet voor jouw rol.")
    return None


# --------------------------------------------------------------------------- regisseur


@router.get("/regisseur", response_class=HTMLResponse)
def regisseur(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    gate = _gate(request, principal, ("regisseur", "admin"))
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    youths, total = youths_svc.list_youths(session, _actor(principal), limit=200)
    return render(
        request,
        "regisseur.html",
        {
            "title": "Regisseur",
            "youths": youths,
            "total": total,
            "today": date.today(),
            "age_on": youths_svc.age_on,
        },
        principal,
    )


def _caseload_youth(
    request: Request, session: Session, principal: Principal | None, code: str
) -> tuple[Principal, Actor, m.Youth] | Response:
    """The gate and lookup of the regisseur's youth pages: the caller, its actor and youth
    ``code`` from its caseload, or the response to send instead (sign-in, 403 or 404)."""
    gate = _gate(request, principal, ("regisseur", "admin"))
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    actor = _actor(principal)
    try:
        return principal, actor, youths_svc.read_youth(session, actor, code)
    except NotFound as exc:
        return _not_found(request, principal, str(exc))


@router.get("/regisseur/jongeren/{code}", response_class=HTMLResponse)
def youth_page(
    request: Request, code: str, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    found = _caseload_youth(request, session, principal, code)
    if isinstance(found, Response):
        return found
    principal, actor, youth = found
    # Woonplekken, their distances and the map are the case itself: for the own regisseur only.
    # Admin gets the gemeente's view of the youth (docs/decisions.md 9), so nothing is loaded.
    own = own_case(actor, youth)
    return render(
        request,
        "youth.html",
        {
            "title": f"Jongere {youth.code}",
            "youth": youth,
            "o": caseload_svc.options_for(session, actor, youth) if own else None,
            "s": _suggestions(request, session, principal, youth.id) if own else None,
            "today": date.today(),
            "age_on": youths_svc.age_on,
            "own": own,
        },
        principal,
    )


@router.get("/kaarten/jongeren/{code}", response_class=HTMLResponse)
def youth_map(
    request: Request, code: str, session: SessionDep, principal: OptionalPrincipal
) -> Response:
    found = _caseload_youth(request, session, principal, code)
    if isinstance(found, Response):
        return found
    principal, actor, youth = found
    try:
        suggested = _suggestions(request, session, principal, youth.id, k=50)
        if suggested is not None:
            codes = [x.option.code for x in suggested.suggestions]
        else:
            codes = [o.code for o in caseload_svc.options_for(session, actor, youth).eligible[:50]]
        data = maps_svc.options_map_data(session, actor, youth.id, codes)
    except NotFound as exc:
        return _not_found(request, principal, str(exc))
    except rounds_svc.Forbidden as exc:
        return _denied(request, principal, str(exc))
    return HTMLResponse(render_html(build_options_map(data), nonce=csp_nonce(request)))


def _suggestions(
    request: Request, session: Session, principal: Principal, youth_id: int, k: int = 10
) -> Any:
    """The suggestions service's answer (score breakdown, misses, counterfactuals), or None
    when it cannot answer for today (the page then shows the rule-based lists)."""
    from api.services import suggestions as sugg_svc

    try:
        return sugg_svc.suggestions_for(
            session, principal, youth_id, k, cache=sugg_svc.index_cache(request.app)
        )
    except (sugg_svc.InvalidDay, LookupError, ValueError):
        return None


# --------------------------------------------------------------------------- planner


@router.get("/planner", response_class=HTMLResponse)
def planner(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    scenario: str = "base",
    vergelijk: str = "",
    niveau: str = "gemeente",
) -> Response:
    gate = _gate(request, principal, maps_svc.SUPPLY_ROLES)
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    names = maps_svc.scenario_names(session)
    scenario = scenario if scenario in names else "base"
    vergelijk = vergelijk if vergelijk in names and vergelijk != scenario else ""
    niveau = niveau if niveau in maps_svc.LEVELS else "gemeente"
    year = overview.current_year()
    type_names, rows = overview.supply_by_gemeente(session, year)
    query = urlencode({"scenario": scenario, "niveau": niveau})
    return render(
        request,
        "planner.html",
        {
            "title": "Planner",
            "year": year,
            "type_names": type_names,
            "rows": rows if principal.role in ("planner", "admin") else [],
            "scenarios": names,
            "scenario": scenario,
            "vergelijk": vergelijk,
            "niveau": niveau,
            "levels": maps_svc.LEVELS,
            "map_url": f"/kaarten/aanbod?{query}",
            "compare_url": (
                f"/kaarten/aanbod/vergelijk?{urlencode({'a': scenario, 'b': vergelijk})}"
                if vergelijk
                else None
            ),
            "fan_charts": _fan_chart_urls(request, scenario, principal.role),
        },
        principal,
    )


def _fan_chart_urls(request: Request, scenario: str, role: str) -> list[tuple[str, str]]:
    """Fan chart images from the supply API (``/api/v1/supply/fanchart.png``) when it exists.

    The supply API knows its own stored scenarios; the map's example scenarios are local, so
    the charts show the base unless the API knows the chosen name as well. A corporation sees
    only its own rows (level ``corporation``; shortfall has no corporation, so it gets its
    occupancy instead): every URL emitted here must answer 200 for ``role``.
    """
    try:
        from api.routers import supply as supply_api
    except ImportError:
        return []
    url = "/api/v1/supply/fanchart.png"
    if not any(getattr(r, "path", "") == "/supply/fanchart.png" for r in supply_api.router.routes):
        return []
    name = scenario if scenario == "base" else "base"
    charts = [
        ("total", "shortfall", "Tekort, hele regio"),
        ("total", "contingent_left", "Contingent over, hele regio"),
    ]
    if role == "corporatie":
        charts = [
            ("corporation", "occupancy", "Bezet, eigen corporatie"),
            ("corporation", "contingent_left", "Contingent over, eigen corporatie"),
        ]
    out = []
    for level, output, alt in charts:
        query = urlencode(
            {"scenario": name, "output": output, "level": level, "months": 24, "runs": 500}
        )
        out.append((f"{url}?{query}", f"{alt} (scenario {name}): mediaan met P10–P90"))
    return out


@router.get("/kaarten/aanbod", response_class=HTMLResponse)
def supply_map(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    scenario: str = "base",
    niveau: str = "gemeente",
) -> Response:
    gate = _gate(request, principal, maps_svc.SUPPLY_ROLES)
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    try:
        data = maps_svc.supply_map_data(session, _actor(principal), scenario, niveau)
    except (maps_svc.UnknownScenario, ValueError) as exc:
        return _not_found(request, principal, str(exc))
    return HTMLResponse(render_html(build_supply_map(data), nonce=csp_nonce(request)))


@router.get("/kaarten/aanbod/vergelijk", response_class=HTMLResponse)
def compare_map(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    a: str = "base",
    b: str = "instroom-plus-20",
) -> Response:
    gate = _gate(request, principal, maps_svc.SUPPLY_ROLES)
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    actor = _actor(principal)
    try:
        left = maps_svc.supply_map_data(session, actor, a, "gemeente")
        right = maps_svc.supply_map_data(session, actor, b, "gemeente")
    except (maps_svc.UnknownScenario, ValueError) as exc:
        return _not_found(request, principal, str(exc))
    html = render_html(build_compare_map(left, right), nonce=csp_nonce(request))
    return HTMLResponse(html)
