"""The regisseur's pages: the own caseload, one young person's options and suggestions, and
the map of them. Admin opens them too, with the gemeente's view of a youth (decision 25)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import SessionDep
from api.headers import csp_nonce
from api.pages.common import actor_of, denied, not_found, page_user, render
from api.services import caseload as caseload_svc
from api.services import maps as maps_svc
from api.services import suggestions as sugg_svc
from api.services import youths as youths_svc
from api.services.rounds import Actor, Forbidden, NotFound
from api.services.scope import own_case
from maps.options import build_options_map
from maps.supply import render_html
from store import models as m

router = APIRouter(include_in_schema=False)
Caseload = Annotated[Principal, Depends(page_user("regisseur", "admin"))]


@router.get("/regisseur", response_class=HTMLResponse)
def regisseur(request: Request, session: SessionDep, principal: Caseload) -> Response:
    youths, total = youths_svc.list_youths(session, actor_of(principal), limit=200)
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
    request: Request, session: Session, principal: Principal, code: str
) -> tuple[Actor, m.Youth] | Response:
    """Youth ``code`` from the caller's caseload with the caller's actor, or the 404 page."""
    actor = actor_of(principal)
    try:
        return actor, youths_svc.read_youth(session, actor, code)
    except NotFound as exc:
        return not_found(request, principal, str(exc))


@router.get("/regisseur/jongeren/{code}", response_class=HTMLResponse)
def youth_page(request: Request, code: str, session: SessionDep, principal: Caseload) -> Response:
    found = _caseload_youth(request, session, principal, code)
    if isinstance(found, Response):
        return found
    actor, youth = found
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
def youth_map(request: Request, code: str, session: SessionDep, principal: Caseload) -> Response:
    found = _caseload_youth(request, session, principal, code)
    if isinstance(found, Response):
        return found
    actor, youth = found
    try:
        suggested = _suggestions(request, session, principal, youth.id, k=50)
        if suggested is not None:
            codes = [x.option.code for x in suggested.suggestions]
        else:
            codes = [o.code for o in caseload_svc.options_for(session, actor, youth).eligible[:50]]
        data = maps_svc.options_map_data(session, actor, youth.id, codes)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    except Forbidden as exc:
        return denied(request, principal, str(exc))
    return HTMLResponse(render_html(build_options_map(data), nonce=csp_nonce(request)))


def _suggestions(
    request: Request, session: Session, principal: Principal, youth_id: int, k: int = 10
) -> Any:
    """The suggestions service's answer (score breakdown, misses, counterfactuals), or None
    when it cannot answer for today (the page then shows the rule-based lists)."""
    try:
        return sugg_svc.suggestions_for(
            session, principal, youth_id, k, cache=sugg_svc.index_cache(request.app)
        )
    except (sugg_svc.InvalidDay, LookupError, ValueError):
        return None
