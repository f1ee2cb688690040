"""The planner page's fan charts and the CSV of the figures behind each (issue 16 item 5).

One projection per request answers every chart on the page: the chosen scenario (or, with a
comparison, both scenarios with common random numbers and their paired difference) for the two
outputs planners ask about, ``tekort`` and ``contingent over``, at the levels the page shows
(hele regio, gemeente, woonvorm, corporatie, and gemeente × corporatie for a corporation's own
rows). It goes through ``api.services.supply``'s cache, keyed by a fingerprint of the inputs
and settings: a change in the data is a new key, so a page never shows a stale projection, and
several server processes each keep their own valid copy (nothing to invalidate across them).

Scenarios are the planner's picker: the examples of ``api.services.maps.SCENARIOS`` and the
stored ones. Scope is the supply API's (``supply.allowed_cells``): admin, planners and gemeente
staff see every cell; a corporation only its own contingent (no regional shortfall).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services import maps as maps_svc
from api.services import supply as supply_svc
from api.services.rounds import Actor, Forbidden
from api.services.scope import own_organisation_code
from matcher.glossary import label
from store import models as m
from store.csvio import safe_csv_text
from store.supply_inputs import get_scenario, supply_inputs_from_db
from supply.inputs import PROVIDER
from supply.model import SupplyInputError, SupplyInputs, month_at
from supply.projection import ProjectionSettings
from supply.scenario import Scenario
from supply.stats import LEVELS, LevelStats

PAGE_MONTHS = 24
PAGE_RUNS = 500
PAGE_SEED = 0
PAGE_OUTPUTS = ("shortfall", "contingent_left")
PAGE_LEVELS = ("total", "gemeente", "type", "corporation", "gemeente_corporation")
# the page's breakdowns (query value -> projection level), beside the regional totals
BREAKDOWNS = {"gemeente": "gemeente", "woonvorm": "type", "corporatie": "corporation"}
BREAKDOWN_TITLES = {
    "gemeente": "per gemeente",
    "woonvorm": "per woonvorm",
    "corporatie": "per corporatie",
}
Y_LABELS = {"shortfall": "aantal jongeren", "contingent_left": "plaatsen in contingent"}
CSV_HEADER = (
    "uitkomst",
    "niveau",
    "code",
    "naam",
    "maand",
    "reeks",
    "p10",
    "mediaan",
    "p90",
    "gemiddelde",
)

# what a CSV cell says for a month hidden by small-cell protection
HIDDEN_TEXT = "afgeschermd"
Cell = tuple[str, ...]
Stats = dict[tuple[str, str], LevelStats]


class ChartRequestError(SupplyInputError):
    """A chart or CSV asked for with a bad field (Dutch message naming the field)."""


@dataclass(frozen=True)
class Band:
    """One series of one chart: a scenario's quantiles per month, or the paired difference."""

    name: str
    # None: the month is hidden by small-cell protection (supply.disclosure)
    p10: tuple[int | None, ...]
    p50: tuple[int | None, ...]
    p90: tuple[int | None, ...]
    mean: tuple[float | None, ...]
    difference: bool = False


@dataclass(frozen=True)
class ChartData:
    """What one chart shows and its CSV repeats."""

    chart_id: str
    output: str
    level: str
    cell: Cell
    place: str
    title: str
    ylabel: str
    months: tuple[date, ...]
    bands: tuple[Band, ...]
    difference: bool = False

    @property
    def cell_param(self) -> str:
        return "|".join(self.cell)

    @property
    def shown(self) -> tuple[Band, ...]:
        """The bands the chart draws: the scenarios, or only the paired difference."""
        return tuple(b for b in self.bands if b.difference == self.difference)


@dataclass(frozen=True)
class ChartGroup:
    heading: str
    output: str
    level: str
    charts: tuple[ChartData, ...]


@dataclass(frozen=True)
class PlannerFigures:
    """The projection(s) behind the page, the names to show and the viewer's scope."""

    scenario: str
    scenario_label: str
    vergelijk: str
    vergelijk_label: str
    months: tuple[date, ...]
    runs: int
    fans: tuple[tuple[str, Stats], ...]  # (Dutch name, stats): chosen scenario first
    difference: Stats | None
    names: dict[str, dict[str, str]]  # level letter g, t, c -> code -> name
    role: str
    own_corporation: str | None
    allowed: dict[str, Callable[[Cell], bool]] = field(repr=False)


# -- the projection --------------------------------------------------------------------------
def scenario_inputs(session: Session, name: str, base: SupplyInputs) -> SupplyInputs:
    """``base`` under the picker's scenario ``name`` (an example or a stored scenario)."""
    example = maps_svc.SCENARIOS.get(name)
    if example is not None:
        return Scenario(name, example.build(base.types)).apply(base)  # type: ignore[arg-type]
    return get_scenario(session, name).apply(base)


def _names(session: Session) -> dict[str, dict[str, str]]:
    gemeenten = dict(
        session.execute(select(m.Area.code, m.Area.name).where(m.Area.level == "gemeente")).all()
    )
    types = dict(session.execute(select(m.HousingType.code, m.HousingType.name)).all())
    corporations = dict(
        session.execute(
            select(m.Organisation.code, m.Organisation.name).where(
                m.Organisation.kind == "corporatie"
            )
        ).all()
    )
    corporations[PROVIDER] = "zorgaanbieder (geen corporatie)"
    return {"g": gemeenten, "t": types, "c": corporations}


def _scope(session: Session, actor: Actor) -> dict[str, Callable[[Cell], bool]]:
    allowed = {}
    for level in PAGE_LEVELS:
        try:
            allowed[level] = supply_svc.allowed_cells(session, actor, level)
        except Forbidden:
            continue
    if not allowed:
        raise Forbidden("Geen toegang tot de aanbodprognose voor deze rol")
    return allowed


def planner_figures(
    session: Session,
    actor: Actor,
    scenario: str,
    vergelijk: str = "",
    start: date | None = None,
    runs: int = PAGE_RUNS,
) -> PlannerFigures:
    """The page's projection for ``scenario`` (and ``vergelijk``), cached by inputs.

    Raises ``Forbidden`` for a role that sees no projection, ``maps.UnknownScenario`` for a
    name not in the picker and ``SupplyInputError`` when a stored scenario no longer fits the
    data.
    """
    allowed = _scope(session, actor)
    labels = maps_svc.scenario_names(session)
    for field_name, name in (("scenario", scenario), ("vergelijk", vergelijk)):
        if name and name not in labels:
            raise maps_svc.UnknownScenario(f"{field_name}: onbekend scenario {name!r}")
    first = (start or supply_svc.default_start()).replace(day=1)
    base = supply_inputs_from_db(session, start=first, months=PAGE_MONTHS)
    chosen = scenario_inputs(session, scenario, base)
    settings = ProjectionSettings(
        runs=runs, seed=PAGE_SEED, levels=PAGE_LEVELS, outputs=PAGE_OUTPUTS
    )
    difference: Stats | None = None
    if vergelijk and vergelijk != scenario:
        other = scenario_inputs(session, vergelijk, base)
        comparison = supply_svc.cached_comparison(other, chosen, settings, vergelijk, scenario)
        fans: tuple[tuple[str, Stats], ...] = (
            (labels[scenario], comparison.scenario),
            (labels[vergelijk], comparison.base),
        )
        difference = comparison.difference
        n_runs = comparison.runs
    else:
        vergelijk = ""
        projection = supply_svc.cached_projection(chosen, settings)
        fans = ((labels[scenario], projection.stats),)
        n_runs = projection.runs
    own = own_organisation_code(session, actor) if actor.role in supply_svc.SEE_OWN else None
    return PlannerFigures(
        scenario=scenario,
        scenario_label=labels[scenario],
        vergelijk=vergelijk,
        vergelijk_label=labels.get(vergelijk, ""),
        months=tuple(month_at(first, i) for i in range(PAGE_MONTHS)),
        runs=n_runs,
        fans=fans,
        difference=difference,
        names=_names(session),
        role=actor.role,
        own_corporation=own,
        allowed=allowed,
    )


# -- charts ----------------------------------------------------------------------------------
def place_name(figs: PlannerFigures, level: str, cell: Cell) -> str:
    """The Dutch name of a cell (``hele regio``, a gemeente, type or corporation name)."""
    if not cell:
        return label("supply_level", "total")
    dims = LEVELS[level]
    return " – ".join(figs.names[d].get(code, code) for d, code in zip(dims, cell, strict=True))


def _band(name: str, st: LevelStats, ci: int, difference: bool = False) -> Band:
    months = range(st.mean.shape[1])
    shown = [st.shown(ci, mi) for mi in months]

    def figures(arr: Any) -> tuple[Any, ...]:
        return tuple(arr[ci, mi].item() if shown[mi] else None for mi in months)

    return Band(
        name=name,
        p10=figures(st.quantiles[0.1]),
        p50=figures(st.quantiles[0.5]),
        p90=figures(st.quantiles[0.9]),
        mean=figures(st.mean),
        difference=difference,
    )


def _title(output: str, place: str) -> str:
    return f"{label('supply_output', output).capitalize()}: {place}"


def _chart_id(output: str, level: str, index: int, difference: bool = False) -> str:
    kind = "verschil-" if difference else ""
    return f"{kind}{output}-{level}-{index}".replace("_", "-")


def _check(figs: PlannerFigures, output: str, level: str) -> None:
    if output not in PAGE_OUTPUTS:
        raise ChartRequestError(
            f"uitkomst: onbekend {output!r} (kies uit {', '.join(PAGE_OUTPUTS)})"
        )
    if level not in PAGE_LEVELS or (output, level) not in figs.fans[0][1]:
        raise ChartRequestError(
            f"niveau: {label('supply_output', output)} heeft geen niveau {level!r}"
        )
    if level not in figs.allowed:
        raise Forbidden(
            f"Dit niveau ({label('supply_level', level)}) is niet voor jouw rol: een corporatie "
            "ziet alleen het contingent van de eigen corporatie."
        )


def charts(
    figs: PlannerFigures, output: str, level: str, cell: Cell | None = None
) -> list[ChartData]:
    """The charts of ``output`` at ``level`` the viewer may see (``cell``: only that one).

    Raises ``ChartRequestError`` naming the field for an unknown output, level or cell and
    ``Forbidden`` for a level or cell outside the viewer's scope."""
    _check(figs, output, level)
    cells = figs.fans[0][1][(output, level)].cells
    if cell is not None and cell not in cells:
        raise ChartRequestError(f"cel: onbekende cel {'|'.join(cell)!r} op dit niveau")
    if cell is not None and not figs.allowed[level](cell):
        raise Forbidden("Deze grafiek valt buiten jouw organisatie.")
    out = []
    for ci, key in enumerate(cells):
        if (cell is not None and key != cell) or not figs.allowed[level](key):
            continue
        place = place_name(figs, level, key)
        bands = [_band(name, stats[(output, level)], ci) for name, stats in figs.fans]
        if figs.difference is not None:
            diff = figs.difference[(output, level)]
            bands.append(_band(difference_name(figs), diff, ci, difference=True))
        out.append(
            ChartData(
                chart_id=_chart_id(output, level, ci),
                output=output,
                level=level,
                cell=key,
                place=place,
                title=_title(output, place),
                ylabel=Y_LABELS[output],
                months=figs.months,
                bands=tuple(bands),
            )
        )
    return out


def difference_name(figs: PlannerFigures) -> str:
    return f"verschil: {figs.scenario_label} min {figs.vergelijk_label}"


def difference_chart(chart: ChartData) -> ChartData:
    """The paired difference of a comparison chart as its own chart."""
    return ChartData(
        chart_id=_chart_id(chart.output, chart.level, 0, difference=True),
        output=chart.output,
        level=chart.level,
        cell=chart.cell,
        place=chart.place,
        title=f"Verschil in {label('supply_output', chart.output)}: {chart.place}",
        ylabel=f"verschil, {Y_LABELS[chart.output]}",
        months=chart.months,
        bands=chart.bands[-1:],
        difference=True,
    )


def _without_empty(found: Iterable[ChartData]) -> list[ChartData]:
    """Charts with something to show: a month above zero (hidden months count as something:
    the chart says they are hidden)."""
    return [c for c in found if any(v is None or v > 0 for b in c.bands for v in b.p90)]


@dataclass(frozen=True)
class PageCharts:
    groups: tuple[ChartGroup, ...]
    differences: tuple[ChartData, ...]  # the paired difference of the first group's charts
    notes: tuple[str, ...]


def page_charts(figs: PlannerFigures, breakdown: str) -> PageCharts:
    """The page's chart groups for the viewer: the regional totals (with the paired difference
    when comparing) and ``breakdown`` (gemeente, woonvorm or corporatie); notes say what a
    viewer's scope leaves out."""
    groups: list[ChartGroup] = []
    notes: list[str] = []
    if figs.role in supply_svc.SEE_OWN:
        # a corporation: its own contingent only, in total and per gemeente
        own = charts(figs, "contingent_left", "corporation")
        groups.append(ChartGroup("Eigen corporatie", "contingent_left", "corporation", tuple(own)))
        if breakdown == "gemeente":
            per = _without_empty(charts(figs, "contingent_left", "gemeente_corporation"))
            groups.append(
                ChartGroup(
                    "Contingent over per gemeente (eigen corporatie)",
                    "contingent_left",
                    "gemeente_corporation",
                    tuple(per),
                )
            )
            notes.append("Gemeenten waar de corporatie geen contingent heeft, staan er niet bij.")
        notes.append(
            "Het tekort is regionaal en per woonvorm; dat zien planners, gemeenten en beheer."
        )
        return _page(figs, groups, notes)
    totals = [c for o in PAGE_OUTPUTS for c in charts(figs, o, "total")]
    groups.append(ChartGroup("Hele regio", "", "total", tuple(totals)))
    level = BREAKDOWNS[breakdown]
    for output in PAGE_OUTPUTS:
        if (output, level) not in figs.fans[0][1]:
            continue
        found = charts(figs, output, level)
        if level == "corporation":
            found = [c for c in found if c.cell != (PROVIDER,)]
        heading = f"{label('supply_output', output).capitalize()} {BREAKDOWN_TITLES[breakdown]}"
        groups.append(ChartGroup(heading, output, level, tuple(found)))
    if breakdown == "woonvorm":
        notes.append("Het contingent is per corporatie en gemeente afgesproken, niet per woonvorm.")
    if breakdown == "corporatie":
        notes.append("Het tekort hoort bij gemeente en woonvorm, niet bij een corporatie.")
    return _page(figs, groups, notes)


def _page(figs: PlannerFigures, groups: Sequence[ChartGroup], notes: Sequence[str]) -> PageCharts:
    """With a comparison: the paired difference of the first group's charts (the totals)."""
    differences: tuple[ChartData, ...] = ()
    if figs.difference is not None and groups:
        differences = tuple(difference_chart(c) for c in groups[0].charts)
    hidden = any(v is None for g in groups for c in g.charts for b in c.bands for v in b.p50)
    if hidden:
        notes = [*notes, SMALL_CELLS_NOTE.format(threshold=supply_svc.small_cell_threshold())]
    return PageCharts(tuple(groups), differences, tuple(notes))


SMALL_CELLS_NOTE = (
    "Kleine aantallen worden afgeschermd: een maand waarin een cijfer over jongeren tussen 0 en"
    " {threshold} ligt (of uit een totaal terug te rekenen zou zijn), is een gat in de grafiek"
    " en heet in de CSV ‘afgeschermd’."
)


# -- CSV -------------------------------------------------------------------------------------
def _decimal(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def _figures(band: Band, i: int) -> list[Any]:
    """A month's p10, median, p90 and mean; a hidden month says so instead (small cells)."""
    mean = band.mean[i]
    if mean is None:
        return [HIDDEN_TEXT, HIDDEN_TEXT, HIDDEN_TEXT, HIDDEN_TEXT]
    return [band.p10[i], band.p50[i], band.p90[i], _decimal(mean)]


def csv_bytes(found: Sequence[ChartData]) -> bytes:
    """The figures of ``found`` as CSV: UTF-8 with BOM, ``;``, decimal comma, every cell
    through the spreadsheet-formula guard (names are imported text)."""
    rows: list[list[Any]] = []
    for chart in found:
        for band in chart.bands:
            for i, month in enumerate(chart.months):
                rows.append(
                    [
                        label("supply_output", chart.output),
                        label("supply_level", chart.level),
                        " × ".join(chart.cell) or "regio",
                        chart.place,
                        month.strftime("%Y-%m"),
                        band.name,
                        *_figures(band, i),
                    ]
                )
    return safe_csv_text(CSV_HEADER, rows).encode("utf-8-sig")
