"""Server-rendered Dutch pages: landing page and one page per role, plus the maps they embed.

Routes are thin: check sign-in and role (a redirect to sign-in, or a Dutch 403 page), call the
services (which scope every query to the user's organisation), render. Forms post with the
session's CSRF token and redirect back (post/redirect/get), so every page works without
JavaScript; only the maps (served as their own documents under ``/kaarten``) need it.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.app import SessionDep, templates
from api.auth import OptionalPrincipal, Principal, check_csrf
from api.formatting import euro, nl_date, nl_month, nl_number
from api.headers import csp_nonce
from api.services import caseload as caseload_svc
from api.services import imports as imports_svc
from api.services import maps as maps_svc
from api.services import overview
from api.services import review as review_svc
from api.services import rounds as rounds_svc
from api.services import users as users_svc
from api.services import youths as youths_svc
from api.services.round_states import InvalidTransition
from api.services.rounds import Actor, NotFound
from api.services.scope import own_case
from maps.options import build_options_map
from maps.supply import build_compare_map, build_supply_map, render_html
from store import models as m
from store.csvio import ImportFailed, RowError

router = APIRouter(include_in_schema=False)

MANAGE_ROLES = ("admin", "gemeente")
PAGE_SOLVE_SECONDS = 10.0  # a page-started solve; the API takes a time limit per request

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


# --------------------------------------------------------------------------- access


class PageDenied(Exception):
    """Signed in but not allowed: rendered as a Dutch 403 page."""


def _actor(principal: Principal) -> Actor:
    return Actor(principal.user_id, principal.organisation_id, principal.role)


def _gate(request: Request, principal: Principal | None, roles: tuple[str, ...]) -> Response | None:
    """A redirect to sign-in, a 403 page, or None when ``principal`` may open the page."""
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/inloggen?next={quote(target)}", status.HTTP_303_SEE_OTHER)
    if principal.role not in roles:
        return _denied(request, principal, "Deze pagina is niet voor jouw rol.")
    return None


def _denied(request: Request, principal: Principal | None, message: str) -> HTMLResponse:
    return render(
        request,
        "denied.html",
        {"title": "Geen toegang", "message": message},
        principal,
        status_code=status.HTTP_403_FORBIDDEN,
    )


def _not_found(request: Request, principal: Principal | None, message: str) -> HTMLResponse:
    return render(
        request, "denied.html", {"title": "Niet gevonden", "message": message}, principal, 404
    )


def _back(path: str, **params: str | int | None) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(f"{path}?{query}" if query else path, status.HTTP_303_SEE_OTHER)


# --------------------------------------------------------------------------- review


def _solve_later(request: Request, round_id: int) -> None:
    seconds = float(os.environ.get("STEK_PAGE_SOLVE_SECONDS", PAGE_SOLVE_SECONDS))
    rounds_svc.run_solve(request.app.state.sessions, round_id, seconds)


@router.get("/beoordelen", response_class=HTMLResponse)
def review(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    ronde: int | None = None,
    versie: int | None = None,
    gemeente: str | None = None,
    type: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    melding: str | None = None,
    fout: str | None = None,
) -> Response:
    gate = _gate(request, principal, review_svc.REVIEW_ROLES)
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    actor = _actor(principal)
    all_rounds = review_svc.rounds(session, actor)
    if ronde is None and all_rounds:
        ronde = all_rounds[0].id
    view = None
    if ronde is not None:
        try:
            view = review_svc.review_view(
                session,
                actor,
                ronde,
                versie,
                review_svc.Filters(gemeente or None, type or None, status_ or None),
            )
        except NotFound as exc:
            return _not_found(request, principal, str(exc))
        except rounds_svc.Forbidden as exc:
            return _denied(request, principal, str(exc))
    return render(
        request,
        "review.html",
        {
            "title": "Beoordelen",
            "rounds": all_rounds,
            "view": view,
            "filters": {"gemeente": gemeente or "", "type": type or "", "status": status_ or ""},
            "status_nl": review_svc.STATUS_NL,
            "round_status_nl": review_svc.ROUND_STATUS_NL,
            "reasons": review_svc.REASON_NL,
            "melding": melding,
            "fout": fout,
            "manage": principal.role in MANAGE_ROLES,
            # The score reveals the urgency ranking: not for corporations.
            "show_score": principal.role in ("admin", "gemeente"),
            "today": date.today(),
            "refresh": view is not None and view.round.status == "solving",
        },
        principal,
    )


@router.post("/beoordelen/matches/{match_id}")
def decide(
    request: Request,
    match_id: int,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    decision: Annotated[str, Form(max_length=10)] = "",
    version: Annotated[int, Form(ge=1)] = 1,
    reason_code: Annotated[str, Form(max_length=40)] = "",
    reason_text: Annotated[str, Form(max_length=1000)] = "",
    ronde: Annotated[int | None, Form()] = None,
) -> Response:
    gate = _gate(request, principal, review_svc.REVIEW_ROLES)
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    check_csrf(principal, csrf_token)
    if decision not in ("accept", "reject"):
        return _back("/beoordelen", ronde=ronde, fout="Kies accepteren of afwijzen.")
    try:
        match = rounds_svc.decide(
            session,
            match_id,
            _actor(principal),
            decision == "accept",
            version,
            reason_code or None,
            reason_text.strip() or None,
        )
    except rounds_svc.Forbidden as exc:
        return _denied(request, principal, str(exc))
    except (rounds_svc.WorkflowError, rounds_svc.NotFound) as exc:
        session.rollback()
        return _back("/beoordelen", ronde=ronde, fout=f"Niet opgeslagen: {exc}.")
    word = "geaccepteerd" if match.status == "accepted" else "afgewezen"
    # FastAPI runs the unit of work's commit after the response is sent; commit now so the
    # redirected GET (post/redirect/get) sees the decision.
    session.commit()
    return _back("/beoordelen", ronde=ronde, melding=f"Match {match.id} is {word}.")


@router.post("/beoordelen/rondes")
def create_round(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    background: BackgroundTasks,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    maand: Annotated[str, Form(max_length=7)] = "",
    tempo: Annotated[str, Form(max_length=10)] = "none",
) -> Response:
    gate = _gate(request, principal, MANAGE_ROLES)
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    check_csrf(principal, csrf_token)
    try:
        year, month = (int(x) for x in maand.split("-"))
        first = date(year, month, 1)
    except ValueError:
        return _back("/beoordelen", fout=f"Maand {maand!r} niet herkend: gebruik JJJJ-MM.")
    pacing = next((p for p in rounds_svc.PACINGS if p == tempo), None)
    if pacing is None:
        return _back("/beoordelen", fout=f"Keuze voor contingenten {tempo!r} niet herkend.")
    try:
        rnd = rounds_svc.create_round(session, first, 0, _actor(principal), pacing)
        rounds_svc.start_solve(session, rnd.id, _actor(principal))
    except (rounds_svc.WorkflowError, InvalidTransition) as exc:
        # e.g. no policy for that month: say so on the page instead of a 500
        session.rollback()
        return _back("/beoordelen", fout=f"Niet gelukt: {exc}.")
    session.commit()
    background.add_task(_solve_later, request, rnd.id)
    return _back("/beoordelen", ronde=rnd.id, melding="De ronde wordt doorgerekend.")


def _round_action(
    request: Request,
    session: Session,
    principal: Principal | None,
    round_id: int,
    csrf_token: str,
    action: str,
    background: BackgroundTasks | None = None,
) -> Response:
    gate = _gate(request, principal, MANAGE_ROLES)
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    check_csrf(principal, csrf_token)
    actor = _actor(principal)
    try:
        if action == "publish":
            rounds_svc.publish(session, round_id, actor)
            session.commit()  # before the redirect, see decide()
            message = "Het voorstel is gepubliceerd: corporaties en gemeenten kunnen beoordelen."
        else:
            rounds_svc.start_resolve(session, round_id, actor)
            session.commit()
            assert background is not None
            background.add_task(_solve_later, request, round_id)
            message = "De ronde wordt opnieuw doorgerekend (geaccepteerde matches blijven staan)."
    except (rounds_svc.WorkflowError, InvalidTransition, rounds_svc.NotFound) as exc:
        session.rollback()
        return _back("/beoordelen", ronde=round_id, fout=f"Niet gelukt: {exc}.")
    return _back("/beoordelen", ronde=round_id, melding=message)


@router.post("/beoordelen/rondes/{round_id}/publiceren")
def publish_round(
    request: Request,
    round_id: int,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _round_action(request, session, principal, round_id, csrf_token, "publish")


@router.post("/beoordelen/rondes/{round_id}/doorrekenen")
def resolve_round(
    request: Request,
    round_id: int,
    session: SessionDep,
    principal: OptionalPrincipal,
    background: BackgroundTasks,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _round_action(request, session, principal, round_id, csrf_token, "resolve", background)


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


# --------------------------------------------------------------------------- admin


@router.get("/beheer", response_class=HTMLResponse)
def admin(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    gate = _gate(request, principal, ("admin",))
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    return _admin_page(request, session, principal)


def _admin_page(
    request: Request,
    session: Session,
    principal: Principal,
    errors: list[Any] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    actor = _actor(principal)
    return render(
        request,
        "admin.html",
        {
            "title": "Beheer",
            "counts": overview.counts(session),
            "policies": overview.policies(session),
            "types": overview.housing_types(session),
            "users": users_svc.list_users(session, actor),
            "organisations": users_svc.list_organisations(session),
            "kinds": imports_svc.allowed_kinds(principal.role),
            "errors": errors,
            "message": message,
        },
        principal,
        status_code=status_code,
    )


@router.post("/beheer/import", response_class=HTMLResponse)
async def admin_import(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    file: UploadFile,
    kind: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    gate = _gate(request, principal, ("admin",))
    if gate is not None or principal is None:
        return gate or _denied(request, principal, "")
    check_csrf(principal, csrf_token)
    data = await file.read(imports_svc.MAX_UPLOAD_BYTES + 1)
    name = file.filename or "upload.csv"
    if len(data) > imports_svc.MAX_UPLOAD_BYTES:
        errors = [RowError(None, None, "bestand is groter dan 20 MB")]
        return _admin_page(request, session, principal, errors, status_code=413)
    if kind not in imports_svc.allowed_kinds(principal.role):
        errors = [RowError(None, "soort", f"kies een soort uit de lijst, niet {kind!r}")]
        return _admin_page(request, session, principal, errors, status_code=422)
    try:
        report = imports_svc.import_upload(session, _actor(principal), kind, name, data)
    except ImportFailed as exc:
        session.rollback()
        imports_svc.record_refused(session, _actor(principal), kind, name, exc.errors)
        return _admin_page(request, session, principal, exc.errors, status_code=422)
    message = f"{name}: {report.inserted} nieuw, {report.updated} bijgewerkt."
    return _admin_page(request, session, principal, message=message)
