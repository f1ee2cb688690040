"""Data for the maps, scoped to the viewer in the queries (``maps`` draws, this decides).

- supply maps: planner and admin see everything; a gemeente its own options; a corporation only
  its own options, places and contingents (``Forbidden`` for regisseurs). The projection layers
  follow the supply API's scope (``api.services.supply.projection_access``): a layer is drawn
  only at a level the API would answer for the viewer, so a corporation gets no regional
  shortfall per gemeente, only its own contingent left (level ``gemeente_corporation``);
- the options map of one young person: only the youth's own regisseur gets the no-go areas; an
  admin sees the options without them; everyone else is refused.

The shortfall layers come from a ``supply`` projection on the same inputs as the planner's
projection (``store.supply_inputs.supply_inputs_from_db``), with fewer runs (median per gemeente
and month). Scenarios: the planners' stored scenarios plus the examples in ``SCENARIOS``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services import supply as supply_svc
from api.services.rounds import Actor, Forbidden, NotFound
from api.services.scope import own_organisation_code
from fixtures.cbs import ATTRIBUTION, ATTRIBUTION_WIJKEN, read_gemeenten
from maps import colours
from maps.data import (
    Anchor,
    AreaShape,
    Measure,
    NoGoShape,
    OptionPoint,
    OptionsMapData,
    SupplyMapData,
    Value,
)
from store import models as m
from store.geometry import from_wkb

SUPPLY_ROLES = ("admin", "planner", "gemeente", "corporatie")
LEVELS = ("gemeente", "wijk", "buurt")
LEVEL_NAMES = {"gemeente": "gemeente", "wijk": "wijk", "buurt": "buurt"}


@dataclass(frozen=True)
class ScenarioDef:
    name: str
    label: str
    build: Callable[[Sequence[str]], tuple[object, ...]]  # type codes -> supply.scenario changes


def _base(_types: Sequence[str]) -> tuple[object, ...]:
    return ()


def _inflow_plus_20(_types: Sequence[str]) -> tuple[object, ...]:
    from supply.scenario import InflowFactor

    return (InflowFactor(1.2),)


def _kma_shorter(types: Sequence[str]) -> tuple[object, ...]:
    from supply.scenario import StayShift

    return (StayShift("kma", -3),) if "kma" in types else ()


SCENARIOS: dict[str, ScenarioDef] = {
    s.name: s
    for s in (
        ScenarioDef("base", "Basis (huidige gegevens)", _base),
        ScenarioDef("instroom-plus-20", "Voorbeeld: instroom +20 %", _inflow_plus_20),
        ScenarioDef("kma-korter", "Voorbeeld: Kamers met Aandacht 3 maanden korter", _kma_shorter),
    )
}


class UnknownScenario(ValueError):
    pass


BACKGROUND_MARGIN_M = 15_000.0


def background(areas: Sequence[AreaShape]) -> tuple[AreaShape, ...]:
    """The real CBS gemeenten around ``areas`` (within 15 km of their extent) that the map does
    not draw itself: the light offline base under every map (no tiles)."""
    if not areas:
        return ()
    minx, miny, maxx, maxy = shapely.total_bounds([a.geometry for a in areas])
    frame = shapely.box(minx, miny, maxx, maxy).buffer(BACKGROUND_MARGIN_M)
    drawn = {a.gemeente_code for a in areas} if areas[0].level == "gemeente" else set()
    return tuple(
        AreaShape(g.code, g.name, "gemeente", g.code, g.geometry)
        for g in read_gemeenten()
        if g.code not in drawn and g.geometry.intersects(frame)
    )


def attribution(level: str) -> tuple[str, ...]:
    """Sources of the boundaries a map at ``level`` draws (CBS, Kadaster; CC BY 4.0)."""
    return (ATTRIBUTION,) if level == "gemeente" else (ATTRIBUTION, ATTRIBUTION_WIJKEN)


def scenario_names(session: Session | None = None) -> dict[str, str]:
    """Scenario name -> Dutch label, for the picker: the examples here and, given a session,
    the planners' stored scenarios (``stek scenario create``, the supply API)."""
    names = {name: s.label for name, s in SCENARIOS.items()}
    if session is not None:
        from store.supply_inputs import list_scenarios

        for stored in list_scenarios(session):
            names.setdefault(stored.name, stored.description or stored.name)
    return names


def _organisation(session: Session, actor: Actor) -> m.Organisation | None:
    return session.get(m.Organisation, actor.organisation_id) if actor.organisation_id else None


def _check_supply_access(actor: Actor) -> None:
    if actor.role not in SUPPLY_ROLES:
        raise Forbidden("de aanbodkaart is voor planners, gemeenten, corporaties en beheer")


def _areas(session: Session, level: str) -> tuple[AreaShape, ...]:
    rows = session.execute(
        select(m.Area.code, m.Area.name, m.Area.gemeente_code, m.Area.geometry)
        .where(m.Area.level == level)
        .order_by(m.Area.code)
    )
    return tuple(AreaShape(c, n, level, g, from_wkb(geom)) for c, n, g, geom in rows)


def _scoped_options(session: Session, actor: Actor) -> list[m.HousingOption]:
    stmt = (
        select(m.HousingOption)
        .where(m.HousingOption.status == "available")
        .order_by(m.HousingOption.code)
    )
    if actor.role == "corporatie":
        stmt = stmt.where(m.HousingOption.corporation_id == actor.organisation_id)
    elif actor.role == "gemeente":
        org = _organisation(session, actor)
        stmt = stmt.where(m.HousingOption.gemeente_code == (org.gemeente_code if org else None))
    elif actor.role not in ("admin", "planner"):
        raise Forbidden("geen toegang tot woonplekken")
    return list(session.scalars(stmt))


def _option_point(o: m.HousingOption, colour: str = colours.OPTION) -> OptionPoint:
    from api.formatting import euro

    corp = o.corporation.name if o.corporation else "zorgaanbieder"
    lines = (
        o.type.name,
        f"{o.code} · {corp}",
        f"{o.capacity} plaats(en), kale huur {euro(o.kale_huur)}",
    )
    return OptionPoint(o.code, o.type.name, o.x, o.y, lines, colour)


def _api_allows(session: Session, actor: Actor, level: str) -> bool:
    """Whether the supply API would answer ``actor`` at projection ``level`` (one scope)."""
    try:
        supply_svc.projection_access(session, actor, level)
    except Forbidden:
        return False
    return True


def _area_of(o: m.HousingOption, level: str) -> str | None:
    return {"gemeente": o.gemeente_code, "wijk": o.wijk_code, "buurt": o.buurt_code}[level]


def projection_months(start: date, months: int) -> tuple[date, ...]:
    from supply.model import month_at

    return tuple(month_at(start, i) for i in range(months))


def project_gemeenten(
    session: Session,
    scenario: str,
    start: date,
    months: int = 24,
    runs: int = 200,
    corporation: str | None = None,
) -> tuple[dict[str, list[Value]] | None, dict[str, list[Value]]]:
    """Median shortfall and contingent left per gemeente and month under ``scenario``.

    ``corporation`` limits the contingent to that corporation's agreements and leaves out the
    shortfall (``None``): it is regional, and a corporation sees only its own rows.
    """
    from store.supply_inputs import get_scenario, supply_inputs_from_db
    from supply.projection import ProjectionSettings
    from supply.scenario import Scenario, ScenarioError

    # The same inputs as the planner's projection (``api.services.supply``): one story.
    base = supply_inputs_from_db(session, start=start, months=months)
    if scenario in SCENARIOS:
        inputs = Scenario(scenario, SCENARIOS[scenario].build(base.types)).apply(base)  # type: ignore[arg-type]
    else:
        try:
            inputs = get_scenario(session, scenario).apply(base)
        except ScenarioError:
            raise UnknownScenario(f"onbekend scenario {scenario!r}") from None
    levels = ("gemeente_corporation",) if corporation else ("gemeente",)
    outputs = ("contingent_left",) if corporation else ("shortfall", "contingent_left")
    # cached by a fingerprint of inputs and settings (as the planner's charts): never stale
    settings = ProjectionSettings(runs=runs, seed=0, levels=levels, outputs=outputs)
    result = supply_svc.cached_projection(inputs, settings)
    shortfall: dict[str, list[Value]] | None = None
    if not corporation:
        short = result.get("shortfall", "gemeente")
        shortfall = {  # small-cell protection: a hidden month is None (supply.disclosure)
            cell[0]: [
                int(x) if short.shown(i, mi) else None
                for mi, x in enumerate(short.quantiles[0.5][i])
            ]
            for i, cell in enumerate(short.cells)
        }
    left: dict[str, list[Value]]
    if corporation:
        left_stats = result.get("contingent_left", "gemeente_corporation")
        left = {
            cell[0]: [int(x) for x in left_stats.quantiles[0.5][i]]
            for i, cell in enumerate(left_stats.cells)
            if cell[1] == corporation
        }
    else:
        left_stats = result.get("contingent_left", "gemeente")
        left = {
            cell[0]: [int(x) for x in left_stats.quantiles[0.5][i]]
            for i, cell in enumerate(left_stats.cells)
        }
    return shortfall, left


def supply_map_data(
    session: Session,
    actor: Actor,
    scenario: str = "base",
    level: str = "gemeente",
    start: date | None = None,
    months: int = 24,
    runs: int = 200,
) -> SupplyMapData:
    """The supply map for ``actor``: places per type per area, contingent left and shortfall."""
    _check_supply_access(actor)
    if level not in LEVELS:
        raise ValueError(f"onbekend niveau {level!r}: kies gemeente, wijk of buurt")
    names = scenario_names(session)
    if scenario not in names:
        raise UnknownScenario(f"onbekend scenario {scenario!r}")
    start = (start or date.today()).replace(day=1)
    areas = _areas(session, level)
    options = _scoped_options(session, actor)
    org = _organisation(session, actor)
    types = list(session.scalars(select(m.HousingType).order_by(m.HousingType.code)))
    places: dict[str, dict[str, int]] = {t.code: defaultdict(int) for t in types}
    for o in options:
        code = _area_of(o, level)
        if code:
            places[o.type.code][code] += o.capacity
    measures: list[Measure] = []
    notes: list[str] = []
    months_out: tuple[date, ...] = ()
    # the projection layers at the levels the supply API answers for this actor (one scope)
    regional = _api_allows(session, actor, "gemeente")
    own = not regional and _api_allows(session, actor, "gemeente_corporation")
    if level == "gemeente" and (regional or own):
        corporation = own_organisation_code(session, actor) if own else None
        try:
            shortfall, left = project_gemeenten(session, scenario, start, months, runs, corporation)
        except ValueError as exc:  # SupplyInputError, ScenarioError: show the map without them
            notes.append(f"Geen prognose: {exc}")
        else:
            months_out = projection_months(start, months)
            if shortfall is not None:
                measures.append(
                    Measure(
                        "shortfall",
                        "Tekort (mediaan prognose)",
                        shortfall,
                        higher_is_worse=True,
                        monthly=True,
                        none_label="afgeschermd (kleine aantallen)",
                    )
                )
            title = "Eigen contingent over (mediaan)" if own else "Contingent over (mediaan)"
            measures.append(Measure("contingent_left", title, left, monthly=True))
    all_codes = [a.code for a in areas]
    for t in types:
        values: dict[str, Value] = {c: places[t.code].get(c, 0) for c in all_codes}
        measures.append(Measure(f"places:{t.code}", f"Plaatsen {t.name}", values))
    total: dict[str, Value] = {
        c: sum(int(places[t.code].get(c, 0)) for t in types) for c in all_codes
    }
    projected = sum(x.monthly for x in measures)
    measures.insert(projected, Measure("places", "Plaatsen totaal", total))
    outlines = _areas(session, "gemeente") if level != "gemeente" else ()
    label = names[scenario]
    who = f" · {org.name}" if actor.role == "corporatie" and org else ""
    return SupplyMapData(
        title=f"Aanbod per {LEVEL_NAMES[level]} · {label}{who}",
        level=level,
        areas=areas,
        measures=tuple(measures),
        months=months_out,
        options=tuple(_option_point(o) for o in options),
        outlines=outlines,
        notes=tuple(notes),
        scenario=label,
        background=background(areas),
        attribution=attribution(level),
    )


def options_map_data(
    session: Session, actor: Actor, youth_id: int, option_codes: Sequence[str] | None = None
) -> OptionsMapData:
    """The map of one young person's options (``option_codes``; default: none) and anchors.

    Anchors and no-go areas only for the youth's own regisseur (admin sees the options only).
    """
    youth = session.get(m.Youth, youth_id)
    if youth is None:
        raise NotFound(f"jongere {youth_id} bestaat niet")
    own = actor.role == "regisseur" and youth.regisseur_id == actor.user_id
    if not own and actor.role != "admin":
        raise Forbidden("alleen de eigen regisseur ziet de kaart van deze jongere")
    codes = list(option_codes or [])
    rows = (
        list(
            session.scalars(
                select(m.HousingOption)
                .where(m.HousingOption.code.in_(codes))
                .order_by(m.HousingOption.code)
            )
        )
        if codes
        else []
    )
    rank = {c: i for i, c in enumerate(codes)}
    rows.sort(key=lambda o: rank.get(o.code, 0))
    no_go: list[NoGoShape] = []
    if own:
        for ng in youth.no_go_areas:
            if ng.area_code:
                area = session.scalars(select(m.Area).where(m.Area.code == ng.area_code)).first()
                if area is not None:
                    no_go.append(NoGoShape(f"{area.name} ({area.code})", from_wkb(area.geometry)))
            elif ng.geometry is not None:
                no_go.append(NoGoShape("Eigen gebied", from_wkb(ng.geometry)))
    gemeenten = _areas(session, "gemeente")
    return OptionsMapData(
        title=f"Woonplekken voor {youth.code}",
        areas=gemeenten,
        options=tuple(
            _option_point(o, colours.OPTION if i < 5 else colours.OPTION_OTHER)
            for i, o in enumerate(rows)
        ),
        anchors=tuple(Anchor(a.label, a.x, a.y) for a in youth.anchors) if own else (),
        no_go=tuple(no_go),
        background=background(gemeenten),
        attribution=attribution("gemeente"),
    )
