"""The planner's pages: supply and contingents per gemeente and type, fan charts of the chosen
scenario (server-rendered SVG, each with the CSV of its figures at ``/planner/grafiek.csv``),
and the supply maps (served as their own documents under ``/kaarten``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from api.auth import Principal
from api.deps import SessionDep
from api.headers import csp_nonce
from api.pages.common import actor_of, denied, not_found, page_user, render
from api.services import maps as maps_svc
from api.services import overview
from api.services import planner_charts as charts_svc
from api.services.rounds import Forbidden
from maps.fanchart import Fan, FanChart, FanSeries, fanchart_svg
from maps.supply import build_compare_map, build_supply_map, render_html

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
    grafieken: str = "gemeente",
) -> Response:
    names = maps_svc.scenario_names(session)
    scenario = scenario if scenario in names else "base"
    vergelijk = vergelijk if vergelijk in names and vergelijk != scenario else ""
    niveau = niveau if niveau in maps_svc.LEVELS else "gemeente"
    grafieken = grafieken if grafieken in charts_svc.BREAKDOWNS else "gemeente"
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
            "charts": _charts_view(session, principal, scenario, vergelijk, grafieken),
        },
        principal,
    )


def _csv_url(figs: charts_svc.PlannerFigures, output: str, level: str, cell: str | None) -> str:
    params = {"scenario": figs.scenario, "vergelijk": figs.vergelijk, "uitkomst": output}
    params["niveau"] = level
    if cell is not None:
        params["cel"] = cell
    return f"/planner/grafiek.csv?{urlencode(params)}"


def _svg(chart: charts_svc.ChartData) -> Markup:
    """The chart as inline SVG; ``fanchart_svg`` escapes every text it writes."""
    fans = tuple(
        Fan(
            "verschil" if band.difference else band.name,
            FanSeries(chart.months, band.p10, band.p50, band.p90),
        )
        for band in chart.shown
    )
    svg = fanchart_svg(FanChart(chart.chart_id, chart.title, chart.ylabel, fans, chart.difference))
    return Markup(svg)  # built from escaped text only (maps.fanchart)


def _chart_item(figs: charts_svc.PlannerFigures, chart: charts_svc.ChartData) -> dict[str, Any]:
    return {
        "id": chart.chart_id,
        "title": chart.title,
        "svg": _svg(chart),
        "csv": _csv_url(figs, chart.output, chart.level, chart.cell_param),
    }


def _charts_view(
    session: SessionDep, principal: Principal, scenario: str, vergelijk: str, breakdown: str
) -> dict[str, Any]:
    """What ``planner_charts.html`` shows: the chart groups with their SVG and CSV links, or
    the reason there are none."""
    view: dict[str, Any] = {
        "breakdown": breakdown,
        "breakdowns": charts_svc.BREAKDOWN_TITLES,
        "groups": [],
        "differences": [],
        "notes": [],
    }
    try:
        figs = charts_svc.planner_figures(session, actor_of(principal), scenario, vergelijk)
    except (Forbidden, ValueError) as exc:  # bad data or scenario: the page, without charts
        view["notes"] = [f"Geen prognose: {exc}"]
        return view
    page = charts_svc.page_charts(figs, breakdown)
    view.update(
        scenario_label=figs.scenario_label,
        vergelijk_label=figs.vergelijk_label,
        runs=figs.runs,
        notes=list(page.notes),
        groups=[
            {
                "heading": group.heading,
                "csv": _csv_url(figs, group.output, group.level, None) if group.output else None,
                "charts": [_chart_item(figs, c) for c in group.charts],
            }
            for group in page.groups
        ],
        differences=[_chart_item(figs, c) for c in page.differences],
    )
    return view


@router.get("/planner/grafiek.csv", response_class=Response)
def chart_csv(
    request: Request,
    session: SessionDep,
    principal: Planner,
    uitkomst: Annotated[str, Query(max_length=40)],
    niveau: Annotated[str, Query(max_length=40)],
    scenario: Annotated[str, Query(max_length=100)] = "base",
    vergelijk: Annotated[str, Query(max_length=100)] = "",
    cel: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The figures behind one chart (``cel``) or all charts of a level, scoped like the page:
    UTF-8 with BOM, ``;``, every cell through the spreadsheet-formula guard."""
    try:
        figs = charts_svc.planner_figures(session, actor_of(principal), scenario, vergelijk)
        cell = tuple(cel.split("|")) if cel else None
        found = charts_svc.charts(figs, uitkomst, niveau, () if niveau == "total" else cell)
    except Forbidden as exc:
        return denied(request, principal, str(exc))
    except ValueError as exc:  # a bad field, scenario or stored data (SupplyInputError, ...)
        return render(
            request,
            "denied.html",
            {"title": "Geen cijfers", "message": f"Geen cijfers: {exc}"},
            principal,
            status_code=422,
        )
    name = "-".join(part for part in ("grafiek", uitkomst, niveau, cel or "alle") if part)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)[:120]
    return Response(
        charts_svc.csv_bytes(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'},
    )


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
