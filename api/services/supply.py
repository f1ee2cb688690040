"""Supply projections and scenarios for the API, the CLI and the planner page (issue 6).

Everything starts from what the database holds now (``store.supply_inputs``). Projections are
cached in this process (LRU, keyed by a fingerprint of the inputs and the settings), so a page
load does not rerun 2,000 runs: a change in the data changes the fingerprint, so the cache never
serves a stale projection. Scope: admin, planner and gemeente staff see every row; a corporation
only the rows of its own corporation (levels with a corporation); regisseurs nothing.

Public functions (for routers, CLI and pages):

* ``project_for(session, scenario_name, months, runs, seed, start=None)`` -> ``Projection``
* ``projection_rows(session, actor, projection, output, level, cell=None)`` -> scoped rows
* ``list_scenarios(session)``, ``create_scenario(session, actor, record)``
* ``compare(session, base_name, scenario_name, months, runs, seed)`` -> ``Comparison``
* ``fanchart_png(session, actor, scenario_name, output, level, cell, months, runs, seed)``
* ``comparison_rows(session, actor, comparison, output, level)``, ``rows_csv(rows)`` -> CSV text
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from api.services.rounds import Actor, Forbidden
from api.services.scope import own_organisation_code
from matcher.glossary import GLOSSARY, label
from store.csvio import spreadsheet_safe
from store.supply_inputs import (
    BASE_SCENARIO,
    StoredScenario,
    get_scenario,
    save_scenario,
    supply_inputs_from_db,
)
from store.supply_inputs import list_scenarios as _list_scenarios
from supply.disclosure import protect_comparison, protect_projection
from supply.model import SupplyInputError, SupplyInputs, parse_month
from supply.projection import Projection, ProjectionSettings, project
from supply.scenario import Comparison, Scenario, ScenarioError, compare_inputs
from supply.stats import DEFAULT_LEVELS, LEVELS, OUTPUTS, level_applies

SEE_ALL = ("admin", "planner", "gemeente")
SEE_OWN = ("corporatie",)
MANAGE = ("admin", "planner", "gemeente")
PROJECTION_LEVELS = (*DEFAULT_LEVELS, "group")
# Requests answer synchronously: the API caps the work (the CLI allows 10,000 runs, 120 months).
MAX_RUNS = 2000
MAX_MONTHS = 60
CLI_MAX_RUNS = 10_000
CLI_MAX_MONTHS = 120
CACHE_SIZE = 32  # page charts, map layers and API answers for a few scenarios at once

__all__ = [
    "BASE_SCENARIO",
    "Forbidden",
    "ScenarioError",
    "SupplyInputError",
    "compare",
    "create_scenario",
    "fanchart_png",
    "list_scenarios",
    "project_for",
    "projection_access",
    "projection_rows",
]


# -- cache ----------------------------------------------------------------------------------
class _Cache:
    """A small thread-safe LRU of computed results."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                self.hits += 1
                return self.items[key]
            self.misses += 1
        value = compute()  # outside the lock: two requests may compute once each, harmless
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.hits = self.misses = 0


CACHE = _Cache(CACHE_SIZE)


def fingerprint(inputs: SupplyInputs, *parts: object) -> str:
    """A hash of every input array and code list plus ``parts`` (settings)."""
    h = hashlib.sha256()
    for codes in (inputs.gemeenten, inputs.types, inputs.corporations):
        h.update("|".join(codes).encode())
    h.update(inputs.start.isoformat().encode())
    for name in (
        "inflow",
        "waiting",
        "capacity",
        "occupancy",
        "turnover",
        "los",
        "contingent",
        "contingent_used",
        "uses_contingent",
        "moving_on",
        "contingent_share",
        "capacity_added",
    ):
        arr = getattr(inputs, name)
        if arr is not None:
            h.update(name.encode())
            h.update(np.ascontiguousarray(arr).tobytes())
    h.update(repr((inputs.pipeline, inputs.moving_on_uses_contingent, parts)).encode())
    return h.hexdigest()


# -- projections ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    scenario: str
    months: int
    runs: int
    seed: int
    start: date


def _check_request(months: int, runs: int, seed: int) -> None:
    if not 1 <= months <= CLI_MAX_MONTHS:
        raise SupplyInputError(f"months: tussen 1 en {CLI_MAX_MONTHS}, niet {months}")
    if not 1 <= runs <= CLI_MAX_RUNS:
        raise SupplyInputError(f"runs: tussen 1 en {CLI_MAX_RUNS}, niet {runs}")
    if seed < 0:
        raise SupplyInputError("seed: niet negatief")


def default_start() -> date:
    """The first projected month: the current month."""
    return date.today().replace(day=1)


def scenario_inputs(
    session: Session, scenario_name: str, months: int, start: date | str | None = None
) -> tuple[SupplyInputs, SupplyInputs]:
    """(base, scenario) inputs for ``months`` from ``start`` (default: this month)."""
    first = parse_month(start, "start") if start is not None else default_start()
    base = supply_inputs_from_db(session, start=first, months=months)
    scenario = get_scenario(session, scenario_name)
    return base, scenario.apply(base)


def project_for(
    session: Session,
    scenario_name: str = BASE_SCENARIO,
    months: int = 36,
    runs: int = 2000,
    seed: int = 0,
    start: date | str | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    with_groups: bool = True,
) -> Projection:
    """The projection of ``scenario_name`` (``base``: no changes), cached by inputs and settings.

    ``with_groups=False`` skips the finest level (gemeente x type x corporation), which costs
    as much as all other levels together. Raises ``ScenarioError`` for an unknown scenario and
    ``SupplyInputError`` for bad settings.
    """
    _check_request(months, runs, seed)
    _, inputs = scenario_inputs(session, scenario_name, months, start)
    levels = PROJECTION_LEVELS if with_groups else DEFAULT_LEVELS
    settings = ProjectionSettings(runs=runs, seed=seed, levels=levels, workers=workers)
    return cached_projection(inputs, settings, progress)


def _settings_key(settings: ProjectionSettings) -> tuple[object, ...]:
    """What in the settings changes the figures (``workers`` and chunking do not: chunks draw
    from per-run streams)."""
    return (
        settings.runs,
        settings.seed,
        settings.mode,
        settings.dispersion,
        settings.levels,
        settings.outputs,
        settings.quantiles,
    )


def small_cell_threshold() -> int:
    """``STEK_SMALL_CELL_THRESHOLD`` (default 5): figures about young people in 1..this-1 are
    hidden (``supply.disclosure``)."""
    from api.settings import get_settings

    return get_settings().small_cell_threshold


def _protected_levels(settings: ProjectionSettings) -> ProjectionSettings:
    """The settings with every default level added: protection looks at every sum of levels,
    so the figures it hides do not depend on which levels a page or request asked for (a map
    of gemeenten and a total on another page would otherwise give a hidden gemeente back)."""
    return dataclasses.replace(
        settings, levels=tuple(dict.fromkeys((*DEFAULT_LEVELS, *settings.levels)))
    )


def cached_projection(
    inputs: SupplyInputs,
    settings: ProjectionSettings,
    progress: Callable[[int, int], None] | None = None,
) -> Projection:
    """``project(inputs, settings)`` through the cache, keyed by a fingerprint of the inputs
    and the settings: other data or settings give another key, so a hit is never stale (and
    two processes each keep their own, equally valid, copy). Figures about young people come
    protected (``supply.disclosure``; every default level is computed for that)."""
    settings = _protected_levels(settings)
    threshold = small_cell_threshold()
    key = "projection:" + fingerprint(inputs, *_settings_key(settings), threshold)
    result: Projection = CACHE.get_or_compute(
        key, lambda: protect_projection(project(inputs, settings, progress), threshold)
    )
    return result


def cached_comparison(
    base: SupplyInputs,
    other: SupplyInputs,
    settings: ProjectionSettings,
    base_name: str,
    other_name: str,
) -> Comparison:
    """``compare_inputs`` through the cache (keyed and protected like
    :func:`cached_projection`)."""
    settings = _protected_levels(settings)
    threshold = small_cell_threshold()
    key = (
        "compare:"
        + fingerprint(base, *_settings_key(settings), threshold)
        + fingerprint(other, base_name, other_name)
    )
    result: Comparison = CACHE.get_or_compute(
        key,
        lambda: protect_comparison(
            compare_inputs(base, other, settings, base_name, other_name), threshold
        ),
    )
    return result


def allowed_cells(session: Session, actor: Actor, level: str) -> Callable[[tuple[str, ...]], bool]:
    """Which cells of ``level`` the actor may see (``Forbidden`` when none)."""
    if actor.role in SEE_ALL:
        return lambda cell: True
    if actor.role in SEE_OWN:
        own = own_organisation_code(session, actor)
        if "c" not in LEVELS[level] or own is None:
            raise Forbidden(
                "Een corporatie ziet alleen eigen rijen: kies een niveau met corporatie "
                "(corporation, gemeente_corporation, group)"
            )
        at = LEVELS[level].index("c")
        return lambda cell: cell[at] == own
    raise Forbidden("Geen toegang tot de aanbodprognose voor deze rol")


def projection_access(session: Session, actor: Actor, level: str) -> None:
    """Raise ``Forbidden`` when the actor may see nothing at ``level``."""
    allowed_cells(session, actor, level)


def check_output_level(output: str, level: str) -> None:
    if output not in OUTPUTS:
        raise SupplyInputError(f"output: onbekende uitkomst {output!r} (kies uit {OUTPUTS})")
    if level not in PROJECTION_LEVELS:
        raise SupplyInputError(
            f"level: onbekend niveau {level!r} (kies uit {', '.join(PROJECTION_LEVELS)})"
        )
    if not level_applies(output, level):
        raise SupplyInputError(f"level: {output} heeft geen niveau {level!r}")


def projection_rows(
    session: Session,
    actor: Actor,
    projection: Projection,
    output: str,
    level: str,
    cell: str | None = None,
) -> list[dict[str, Any]]:
    """Rows of one output at one level (``cell``: ``|``-joined codes to pick one), per month:
    mean, p10, p50, p90 — only the cells the actor may see."""
    check_output_level(output, level)
    allowed = allowed_cells(session, actor, level)
    st = projection.get(output, level)
    months = [d.strftime("%Y-%m") for d in projection.month_dates()]
    wanted = tuple(cell.split("|")) if cell else None
    if wanted is not None and wanted not in st.cells:
        raise SupplyInputError(f"group: onbekende cel {cell!r} op niveau {level}")
    rows = []
    for ci, key in enumerate(st.cells):
        if (wanted is not None and key != wanted) or not allowed(key):
            continue
        for mi, month in enumerate(months):
            shown = st.shown(ci, mi)  # small-cell protection: no figures, flagged
            rows.append(
                {
                    "output": output,
                    "level": level,
                    "cell": "|".join(key) or "totaal",
                    "month": month,
                    "mean": round(float(st.mean[ci, mi]), 4) if shown else None,
                    "p10": int(st.quantiles[0.1][ci, mi]) if shown else None,
                    "p50": int(st.quantiles[0.5][ci, mi]) if shown else None,
                    "p90": int(st.quantiles[0.9][ci, mi]) if shown else None,
                    "hidden": not shown,
                }
            )
    if wanted is not None and not rows:
        raise Forbidden("Deze groep valt buiten uw organisatie")
    return rows


# -- projections as jobs (issue 17 item 5; docs/workers.md) --------------------------------
def projection_job_payload(
    session: Session,
    actor: Actor,
    scenario: str,
    output: str,
    level: str,
    group: str | None,
    months: int,
    runs: int,
    seed: int,
    start: str | None,
) -> dict[str, Any]:
    """A projection job's payload, checked before it is queued (bad settings, an unknown
    scenario or a level the actor may not see are refused now, not by the worker later)."""
    _check_request(months, runs, seed)
    check_output_level(output, level)
    projection_access(session, actor, level)
    get_scenario(session, scenario)
    if start is not None:
        parse_month(start, "start")
    return {
        "scenario": scenario,
        "output": output,
        "level": level,
        "group": group,
        "months": months,
        "runs": runs,
        "seed": seed,
        "start": start,
        "user_id": actor.user_id,
        "organisation_id": actor.organisation_id,
        "role": actor.role,
    }


def run_projection_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """The rows a projection job asked for, as the requester may see them (small cells
    protected as everywhere): ``{"rows": [...]}``."""
    who = Actor(payload.get("user_id"), payload.get("organisation_id"), str(payload["role"]))
    projection = project_for(
        session,
        str(payload["scenario"]),
        int(payload["months"]),
        int(payload["runs"]),
        int(payload["seed"]),
        payload.get("start"),
        with_groups=payload["level"] == "group",
    )
    rows = projection_rows(
        session, who, projection, str(payload["output"]), str(payload["level"]), payload["group"]
    )
    return {"rows": rows}


# -- scenarios ------------------------------------------------------------------------------
def list_scenarios(session: Session) -> list[StoredScenario]:
    """Stored scenarios by name (``base`` is implicit)."""
    return _list_scenarios(session)


def create_scenario(
    session: Session, actor: Actor, record: Any, horizon_months: int = 60
) -> StoredScenario:
    """Validate ``record`` against the base of the database now and store it (no commit).

    Raises ``Forbidden`` for roles that may not manage scenarios and ``ScenarioError`` naming
    the field for any bad input (nothing is stored then)."""
    if actor.role not in MANAGE:
        raise Forbidden("Alleen beheer, planners en gemeenten maken scenario's")
    base = supply_inputs_from_db(session, start=default_start(), months=horizon_months)
    return save_scenario(session, record, base, created_by_id=actor.user_id)


def compare(
    session: Session,
    base_name: str,
    scenario_name: str,
    months: int = 36,
    runs: int = 2000,
    seed: int = 0,
    start: date | str | None = None,
) -> Comparison:
    """Two scenarios side by side with common random numbers (cached)."""
    _check_request(months, runs, seed)
    first = parse_month(start, "start") if start is not None else default_start()
    base = supply_inputs_from_db(session, start=first, months=months)
    a = get_scenario(session, base_name).apply(base)
    b = get_scenario(session, scenario_name).apply(base)
    settings = ProjectionSettings(runs=runs, seed=seed, levels=DEFAULT_LEVELS)
    return cached_comparison(a, b, settings, base_name, scenario_name)


def comparison_rows(
    session: Session, actor: Actor, comparison: Comparison, output: str, level: str
) -> list[dict[str, Any]]:
    """Scoped rows of a comparison: both medians, the difference of medians and its band."""
    check_output_level(output, level)
    allowed = allowed_cells(session, actor, level)
    return [
        row
        for row in comparison.rows()
        if row["output"] == output
        and row["level"] == level
        and allowed(tuple(row["cell"].split("|")) if row["cell"] != "totaal" else ())
    ]


def rows_csv(rows: Iterable[dict[str, Any]]) -> str:
    """Rows as ``;``-separated CSV text (docs/file-formats.md)."""
    rows = list(rows)
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        # cells guarded against spreadsheet formulas (type names are imported text)
        writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def scenario_record(scenario: Scenario) -> dict[str, Any]:
    from supply.scenario import scenario_to_record

    return scenario_to_record(scenario)


# -- fan charts -----------------------------------------------------------------------------
def fanchart_png(
    session: Session,
    actor: Actor,
    scenario_name: str = BASE_SCENARIO,
    output: str = "shortfall",
    level: str = "total",
    cell: str | None = None,
    months: int = 36,
    runs: int = 2000,
    seed: int = 0,
    start: date | str | None = None,
) -> bytes:
    """A PNG fan chart (median with P10–P90 band) of one output for one cell (default: the
    first cell the actor may see at ``level``)."""
    from maps.fanchart import FanSeries
    from maps.fanchart_png import fanchart  # matplotlib: imported only when a PNG is asked for

    check_output_level(output, level)
    projection_access(session, actor, level)
    projection = project_for(
        session, scenario_name, months, runs, seed, start, with_groups=level == "group"
    )
    rows = projection_rows(session, actor, projection, output, level, cell)
    if not rows:
        raise Forbidden("Geen groep in uw bereik op dit niveau")
    first = rows[0]["cell"]
    rows = [r for r in rows if r["cell"] == first]
    series = FanSeries(  # a month hidden by small-cell protection (None) is a gap
        months=[parse_month(r["month"], "month") for r in rows],
        p10=[r["p10"] for r in rows],
        p50=[r["p50"] for r in rows],
        p90=[r["p90"] for r in rows],
    )
    where = label("supply_level", level) + ("" if level == "total" else f" {first}")
    scenario_text = GLOSSARY["scenario"].get(scenario_name, scenario_name)
    title = (
        f"{label('supply_output', output).capitalize()} · {where} · scenario {scenario_text} "
        f"({projection.runs} simulaties)"
    )
    return fanchart(series, title=title, ylabel=OUTPUT_LABELS.get(output, output))


OUTPUT_LABELS = {
    "shortfall": "Tekort (wachtend + geblokkeerd)",
    "waiting": "Wachtend",
    "occupancy": "Bezet",
    "placements": "Plaatsingen per maand",
    "move_outs": "Uitstroom per maand",
    "inflow": "Instroom per maand",
    "contingent_used": "Contingent gebruikt",
    "contingent_left": "Contingent over",
}
