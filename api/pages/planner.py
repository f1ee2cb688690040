"""The planner's pages: supply and contingents per gemeente and type, fan charts from the
supply API, and the supply maps (served as their own documents under ``/kaarten``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import Principal
from api.deps import SessionDep
from api.headers import csp_nonce
from api.pages.common import actor_of, not_found, page_user, render
from api.services import maps as maps_svc
from api.services import overview
from maps.supply import build_compare_map, build_supply_map, render_html
from matcher.glossary import GLOSSARY

router = APIRouter(include_in_schema=False)
Planner = Annotated[Principal, Depends(page_user(*maps_svc.SUPPLY_ROLES))]


@router.get("/planner", response_class=HTMLResponse)
def planner(
    request: Request,
    session: SessionDep,
    principal: Planner,
    scenario: str = "base",
    vergelijk: str = "",
    niveau: str = "gemeente",
) -> Response:
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
    url = "/api/v1/supply/fanchart.png"
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
        scenario_text = GLOSSARY["scenario"].get(name, name)
        out.append((f"{url}?{query}", f"{alt} (scenario {scenario_text}): mediaan met P10–P90"))
    return out


@router.get("/kaarten/aanbod", response_class=HTMLResponse)
def supply_map(
    request: Request,
    session: SessionDep,
    principal: Planner,
    scenario: str = "base",
    niveau: str = "gemeente",
) -> Response:
    try:
        data = maps_svc.supply_map_data(session, actor_of(principal), scenario, niveau)
    except (maps_svc.UnknownScenario, ValueError) as exc:
        return not_found(request, principal, str(exc))
    return HTMLResponse(render_html(build_supply_map(data), nonce=csp_nonce(request)))


@router.get("/kaarten/aanbod/vergelijk", response_class=HTMLResponse)
def compare_map(
    request: Request,
    session: SessionDep,
    principal: Planner,
    a: str = "base",
    b: str = "instroom-plus-20",
) -> Response:
    actor = actor_of(principal)
    try:
        left = maps_svc.supply_map_data(session, actor, a, "gemeente")
        right = maps_svc.supply_map_data(session, actor, b, "gemeente")
    except (maps_svc.UnknownScenario, ValueError) as exc:
        return not_found(request, principal, str(exc))
    html = render_html(build_compare_map(left, right), nonce=csp_nonce(request))
    return HTMLResponse(html)
