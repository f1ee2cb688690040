"""Supply projections, scenarios and fan charts (``/api/v1/supply``).

Thin routes over ``api.services.supply``: admin, planners and gemeente staff see every row,
a corporation only its own (levels with a corporation), regisseurs nothing. Bad input (unknown
scenario, gemeente, type or corporation, negative count, bad month) is a 422 whose detail names
the field; nothing is stored then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, actor, utc
from api.routers.jobs import JobOut, job_out
from api.services import supply as svc
from api.services.rounds import Forbidden, NotFound
from api.worker import run_enqueued
from store import jobs

router = APIRouter(prefix="/supply", tags=["supply"])
T = TypeVar("T")

Output = Literal[
    "shortfall",
    "waiting",
    "occupancy",
    "placements",
    "move_outs",
    "inflow",
    "contingent_used",
    "contingent_left",
]
Level = Literal[
    "total", "gemeente", "type", "corporation", "gemeente_type", "gemeente_corporation", "group"
]
CompareLevel = Literal[
    "total", "gemeente", "type", "corporation", "gemeente_type", "gemeente_corporation"
]
ScenarioName = Annotated[str, Query(min_length=1, max_length=100)]
Months = Annotated[int, Query(ge=1, le=svc.MAX_MONTHS)]
Runs = Annotated[
    int, Query(ge=1, le=svc.MAX_RUNS, description="Monte-Carlo-runs (meer: stek project)")
]
Seed = Annotated[int, Query(ge=0, le=2**31 - 1)]
Start = Annotated[str | None, Query(max_length=10, description="JJJJ-MM; standaard deze maand")]
Group = Annotated[
    str | None,
    Query(max_length=200, description="één cel van het niveau, codes met | (GM0828|kma)"),
]
ERRORS_422: dict[int | str, dict[str, Any]] = {**ERRORS, 422: {"description": "Ongeldige invoer"}}


HIDDEN = Field(
    description=(
        "small-cell protection (docs/privacy.md): the figures of this cell and month are not"
        " given (null) because one of them lies between 0 and STEK_SMALL_CELL_THRESHOLD, or"
        " because they would give such a figure back from a total"
    )
)


class ProjectionRowOut(BaseModel):
    output: str
    level: str
    cell: str
    month: str
    mean: float | None
    p10: int | None
    p50: int | None
    p90: int | None
    hidden: bool = HIDDEN


class ComparisonRowOut(BaseModel):
    output: str
    level: str
    cell: str
    month: str
    base_p50: int | None
    scenario_p50: int | None
    diff_of_medians: int | None = Field(description="scenario P50 minus base P50")
    diff_p10: int | None = Field(description="P10 of the per-run paired difference (the band)")
    diff_p50: int | None
    diff_p90: int | None = Field(description="P90 of the per-run paired difference (the band)")
    diff_mean: float | None
    hidden: bool = HIDDEN


class ScenarioCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    changes: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=100,
        description=(
            "kind add_places (gemeente, type_code, places, month, corporation?), "
            "contingent_change (corporation, delta, gemeente?), inflow_factor (factor, "
            "gemeente?, type_code?, month?), stay_shift (type_code, months)"
        ),
    )


class ScenarioOut(BaseModel):
    id: int
    name: str
    description: str
    changes: list[dict[str, Any]]
    created_at: datetime
    created_by: str | None


def _call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except Forbidden as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except (svc.ScenarioError, svc.SupplyInputError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


def _scenario_out(s: Any) -> ScenarioOut:
    return ScenarioOut(
        id=s.id,
        name=s.name,
        description=s.description,
        changes=s.changes,
        created_at=utc(s.created_at),
        created_by=s.created_by,
    )


@dataclass(frozen=True)
class _ProjectionQuery:
    scenario: str
    output: str
    level: str
    group: str | None
    months: int
    runs: int
    seed: int
    start: str | None


def _projection_query(
    scenario: ScenarioName = "base",
    output: Output = "shortfall",
    level: Level = "total",
    group: Group = None,
    months: Months = 36,
    runs: Runs = 2000,
    seed: Seed = 0,
    start: Start = None,
) -> _ProjectionQuery:
    """The query parameters shared by ``/projection``, ``/projection.csv`` and ``/fanchart.png``."""
    return _ProjectionQuery(scenario, output, level, group, months, runs, seed, start)


ProjectionQuery = Annotated[_ProjectionQuery, Depends(_projection_query)]


@dataclass(frozen=True)
class _ComparisonQuery:
    scenario: str
    base: str
    output: str
    level: str
    months: int
    runs: int
    seed: int
    start: str | None


def _comparison_query(
    scenario: ScenarioName,
    base: ScenarioName = "base",
    output: Output = "shortfall",
    level: CompareLevel = "total",
    months: Months = 36,
    runs: Runs = 2000,
    seed: Seed = 0,
    start: Start = None,
) -> _ComparisonQuery:
    """The query parameters shared by ``/compare`` and ``/compare.csv``."""
    return _ComparisonQuery(scenario, base, output, level, months, runs, seed, start)


ComparisonQuery = Annotated[_ComparisonQuery, Depends(_comparison_query)]


def _projection_rows(
    principal: Caller, session: SessionDep, q: _ProjectionQuery
) -> list[dict[str, Any]]:
    who = actor(principal)

    def work() -> list[dict[str, Any]]:
        svc.check_output_level(q.output, q.level)
        svc.projection_access(session, who, q.level)  # refuse before computing anything
        projection = svc.project_for(
            session, q.scenario, q.months, q.runs, q.seed, q.start, with_groups=q.level == "group"
        )
        return svc.projection_rows(session, who, projection, q.output, q.level, q.group)

    return _call(work)


@router.get("/projection", response_model=list[ProjectionRowOut], responses=ERRORS_422)
def get_projection(
    principal: Caller, session: SessionDep, q: ProjectionQuery
) -> list[dict[str, Any]]:
    """P10/P50/P90 and mean per month of one output, grouped by ``level`` (corporations: only
    their own rows). Results are cached per data and settings."""
    return _projection_rows(principal, session, q)


@router.get("/projection.csv", response_class=Response, responses=ERRORS_422)
def get_projection_csv(principal: Caller, session: SessionDep, q: ProjectionQuery) -> Response:
    """The same rows as ``/projection`` as ``;``-separated CSV."""
    rows = _projection_rows(principal, session, q)
    return Response(
        svc.rows_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="prognose-{q.scenario}.csv"'},
    )


@router.get("/scenarios", response_model=list[ScenarioOut], responses=ERRORS)
def get_scenarios(principal: Caller, session: SessionDep) -> list[ScenarioOut]:
    """Stored scenarios (``base`` is implicit: the database as it is)."""
    if principal.role not in (*svc.SEE_ALL, *svc.SEE_OWN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Geen toegang voor deze rol")
    return [_scenario_out(s) for s in svc.list_scenarios(session)]


@router.post("/scenarios", response_model=ScenarioOut, status_code=201, responses=ERRORS_422)
def post_scenario(principal: Caller, session: SessionDep, body: ScenarioCreate) -> ScenarioOut:
    """Store a scenario: the base plus named changes, checked against the database now."""
    stored = _call(svc.create_scenario, session, actor(principal), body.model_dump())
    return _scenario_out(stored)


def _comparison_rows(
    principal: Caller, session: SessionDep, q: _ComparisonQuery
) -> list[dict[str, Any]]:
    who = actor(principal)

    def work() -> list[dict[str, Any]]:
        svc.check_output_level(q.output, q.level)
        svc.projection_access(session, who, q.level)
        comparison = svc.compare(session, q.base, q.scenario, q.months, q.runs, q.seed, q.start)
        return svc.comparison_rows(session, who, comparison, q.output, q.level)

    return _call(work)


@router.get("/compare", response_model=list[ComparisonRowOut], responses=ERRORS_422)
def get_comparison(
    principal: Caller, session: SessionDep, q: ComparisonQuery
) -> list[dict[str, Any]]:
    """Scenario against base with common random numbers: both medians, the difference of
    medians and the P10–P90 band of the paired difference."""
    return _comparison_rows(principal, session, q)


@router.get("/compare.csv", response_class=Response, responses=ERRORS_422)
def get_comparison_csv(principal: Caller, session: SessionDep, q: ComparisonQuery) -> Response:
    """The comparison rows as ``;``-separated CSV."""
    rows = _comparison_rows(principal, session, q)
    return Response(
        svc.rows_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="vergelijking-{q.scenario}.csv"'},
    )


@router.get(
    "/fanchart.png",
    response_class=Response,
    responses={**ERRORS_422, 200: {"content": {"image/png": {}}}},
)
def get_fanchart(principal: Caller, session: SessionDep, q: ProjectionQuery) -> Response:
    """A fan chart (median with P10–P90 band) of one output for one group, as PNG."""
    png = _call(
        svc.fanchart_png,
        session,
        actor(principal),
        q.scenario,
        q.output,
        q.level,
        q.group,
        q.months,
        q.runs,
        q.seed,
        q.start,
    )
    return Response(png, media_type="image/png")


class ProjectionJobIn(BaseModel):
    """A projection too heavy to wait for: computed by a worker (docs/workers.md)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(default="base", min_length=1, max_length=100)
    output: Output = "shortfall"
    level: Level = "total"
    group: str | None = Field(default=None, max_length=200)
    months: int = Field(default=36, ge=1, le=svc.MAX_MONTHS)
    runs: int = Field(default=2000, ge=1, le=svc.CLI_MAX_RUNS)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    start: str | None = Field(default=None, max_length=10)


@router.post("/projection-jobs", response_model=JobOut, status_code=202, responses=ERRORS_422)
def post_projection_job(
    principal: Caller,
    session: SessionDep,
    body: ProjectionJobIn,
    background: BackgroundTasks,
    request: Request,
) -> JobOut:
    """Queue a projection (up to 10,000 runs): the answer names the job; ``GET /jobs/{id}``
    gives its status and, once done, the same rows as ``/projection``."""
    who = actor(principal)
    payload = _call(
        svc.projection_job_payload,
        session,
        who,
        body.scenario,
        body.output,
        body.level,
        body.group,
        body.months,
        body.runs,
        body.seed,
        body.start,
    )
    job = jobs.enqueue(session, "projection", payload)
    session.commit()
    background.add_task(run_enqueued, request, job.id)
    return job_out(job)
