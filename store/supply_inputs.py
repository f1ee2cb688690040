"""Supply projection inputs and stored scenarios from the database (issue 6).

``supply_inputs_from_db`` reads what the database holds now (the menukaart, options, waiting
youths, contingents) through the repository loaders and hands them to the pure
``supply.inputs.inputs_from_records``, so the projection and the monthly rounds tell one story.
Scenario rows are read and written here; like every repository, nothing here commits.

Defaults (to verify per region, shown in the UI and docs/supply-model.md):

* options with status ``placed`` count as occupied now, ``available`` as free, ``withdrawn``
  not at all;
* without a forecast table, the expected inflow per gemeente x type is the number of youths
  waiting there now spread over a year (``annual_inflow_factor`` x waiting / 12 a month);
* types without a planned stay get a uniform stay of 12-36 months;
* the gemeenten are all gemeente areas in the database, the corporations all organisations of
  kind ``corporatie`` (plus ``-`` for provider-held options).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.problem import Contingent
from store import models as m
from store.repository import load_contingents, load_options, load_types, load_youths
from supply.inputs import PROVIDER, ForecastRow, inputs_from_records
from supply.model import SupplyInputs, los_uniform, month_at, parse_month
from supply.scenario import (
    Scenario,
    ScenarioError,
    check_scenario,
    scenario_from_record,
    scenario_to_record,
)

BASE_SCENARIO = "base"
DEFAULT_STAY_MONTHS = (12, 36)


@dataclass(frozen=True)
class StoredScenario:
    id: int
    name: str
    description: str
    changes: list[dict[str, Any]]
    created_at: datetime
    created_by: str | None

    def scenario(self) -> Scenario:
        return scenario_from_record(
            {"name": self.name, "description": self.description, "changes": self.changes}
        )


def default_forecast(
    start: date, months: int, youths: Sequence[Any], annual_inflow_factor: float = 1.0
) -> list[ForecastRow]:
    """Expected inflow when no forecast table exists: as many care leavers a year as wait now
    per gemeente x first accepted type (times ``annual_inflow_factor``), spread evenly."""
    counts: dict[tuple[str, str], int] = {}
    for y in youths:
        key = (y.gemeente_code, y.accepted_types[0])
        counts[key] = counts.get(key, 0) + 1
    rows = []
    for i in range(months):
        month = month_at(start, i)
        for (gemeente, type_code), n in sorted(counts.items()):
            rows.append(ForecastRow(month, gemeente, type_code, annual_inflow_factor * n / 12))
    return rows


def supply_inputs_from_db(
    session: Session,
    *,
    start: date | str,
    months: int,
    forecast: Sequence[ForecastRow] | None = None,
    annual_inflow_factor: float = 1.0,
    turnover: float = 0.0,
    moving_on_uses_contingent: bool = False,
    default_stay_months: tuple[int, int] = DEFAULT_STAY_MONTHS,
) -> SupplyInputs:
    """Projection inputs for what the database holds now.

    Types with neither ``stay_min_months`` nor ``stay_max_months`` get a uniform stay of
    ``default_stay_months`` (a default to verify: housing first and urgentiewoningen have no
    planned end, people stay long).
    """
    start_month = parse_month(start, "start")
    types = load_types(session)
    options = load_options(session, status=None)
    status = dict(session.execute(select(m.HousingOption.code, m.HousingOption.status)).all())
    options = tuple(o for o in options if status.get(o.code) != "withdrawn")
    occupied = [o.code for o in options if status.get(o.code) == "placed"]
    youths = load_youths(session, status="waiting")
    last_year = month_at(start_month, months - 1).year
    contingents: list[Contingent] = []
    for year in range(start_month.year - 1, last_year + 1):
        contingents.extend(load_contingents(session, year))
    gemeenten = sorted(
        session.scalars(select(m.Area.code).where(m.Area.level == "gemeente")).all()
        or {o.gemeente_code for o in options} | {y.gemeente_code for y in youths}
    )
    corporations = sorted(
        set(session.scalars(select(m.Organisation.code).where(m.Organisation.kind == "corporatie")))
        | {c.corporation for c in contingents}
    )
    if any(o.corporation is None for o in options):
        corporations.append(PROVIDER)
    if forecast is None:
        forecast = default_forecast(start_month, months, youths, annual_inflow_factor)
    lo, hi = default_stay_months
    los = {
        t.code: los_uniform(lo, hi)
        for t in types
        if t.stay_min_months is None and t.stay_max_months is None
    }
    return inputs_from_records(
        start=start_month,
        los=los,
        months=months,
        types=types,
        options=options,
        youths=youths,
        contingents=contingents,
        forecast=forecast,
        occupied=occupied,
        gemeenten=gemeenten,
        corporations=corporations,
        turnover=turnover,
        moving_on_uses_contingent=moving_on_uses_contingent,
    )


# -- stored scenarios ---------------------------------------------------------------------------
def _stored(row: m.SupplyScenario, email: str | None) -> StoredScenario:
    return StoredScenario(
        id=row.id,
        name=row.name,
        description=row.description,
        changes=list(row.changes),
        created_at=row.created_at,
        created_by=email,
    )


def list_scenarios(session: Session) -> list[StoredScenario]:
    """Stored scenarios by name (the base is implicit and not stored)."""
    stmt = (
        select(m.SupplyScenario, m.User.email)
        .outerjoin(m.User, m.SupplyScenario.created_by_id == m.User.id)
        .order_by(m.SupplyScenario.name)
    )
    return [_stored(row, email) for row, email in session.execute(stmt)]


def get_scenario(session: Session, name: str) -> Scenario:
    """The scenario called ``name`` (``base``: no changes); ``ScenarioError`` if unknown."""
    if name == BASE_SCENARIO:
        return Scenario(BASE_SCENARIO)
    row = session.scalar(select(m.SupplyScenario).where(m.SupplyScenario.name == name))
    if row is None:
        raise ScenarioError(f"scenario, veld name: onbekend scenario {name!r}")
    return _stored(row, None).scenario()


def save_scenario(
    session: Session, record: Any, base: SupplyInputs, created_by_id: int | None = None
) -> StoredScenario:
    """Check a scenario record against ``base`` and add it (flushes, never commits).

    Raises ``ScenarioError`` naming the field for a bad shape, an unknown gemeente, type or
    corporation, a negative count, a taken name or the reserved name ``base``; nothing is
    added then.
    """
    scenario = scenario_from_record(record)
    if scenario.name == BASE_SCENARIO:
        raise ScenarioError("scenario, veld name: 'base' is gereserveerd voor de basis")
    check_scenario(base, scenario)
    taken = session.scalar(
        select(m.SupplyScenario.id).where(m.SupplyScenario.name == scenario.name)
    )
    if taken is not None:
        raise ScenarioError(f"scenario, veld name: {scenario.name!r} bestaat al")
    stored = scenario_to_record(scenario)
    row = m.SupplyScenario(
        name=scenario.name,
        description=scenario.description,
        changes=stored["changes"],
        created_by_id=created_by_id,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return _stored(row, None)


def inflow_weights(session: Session, year: int) -> dict[str, list[float]]:
    """Expected care leavers per gemeente for the twelve months of ``year``: the inflow the
    projection starts from (the forecast it is given, or ``default_forecast``), summed over
    types. The weights of monthly contingent budgets (``supply.pacing.paced_contingents``)."""
    inputs = supply_inputs_from_db(session, start=date(year, 1, 1), months=12)
    per_gemeente = np.asarray(inputs.inflow).sum(axis=2)  # (months, gemeenten)
    return {g: per_gemeente[:, i].tolist() for i, g in enumerate(inputs.gemeenten)}
