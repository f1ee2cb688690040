"""Rounds, proposals and match decisions (``/api/v1``).

Thin routes: parse, authorise, call the round services, shape the response. What a user sees is
scoped in the queries: a corporation only the matches on its own options, with a pseudonymised
youth; gemeente staff the matches in their gemeente; planners and regisseurs no matches at all.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import SessionDep
from api.auth import CurrentPrincipal, Principal
from api.services import rounds as svc
from api.services.round_states import InvalidTransition
from store import models as m

router = APIRouter(tags=["rounds"])

REVIEW_ROLES = ("admin", "gemeente", "corporatie")
MANAGE_ROLES = ("admin", "gemeente")


class ErrorOut(BaseModel):
    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
}


class RoundCreate(BaseModel):
    month: date = Field(description="Any day in the month; the round uses its first day")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    time_limit_s: float = Field(default=30.0, gt=0, le=600)


class RoundOut(BaseModel):
    id: int
    month: date
    status: str
    seed: int
    solver_version: str
    policy_valid_from: date | None
    error: str | None
    proposal_versions: list[int]


class MatchYouthForCorporation(BaseModel):
    """What a corporation may know of a youth: no income, no no-go areas, no care history."""

    code: str
    age_band: str
    household_size: int
    support_provider: str | None


class MatchOut(BaseModel):
    id: int
    version: int
    status: str
    reason_code: str | None
    reason_text: str | None
    option_code: str
    housing_type: str
    gemeente_code: str
    corporation: str | None
    youth: MatchYouthForCorporation


class ProposalOut(BaseModel):
    round_id: int
    version: int
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    matches: list[MatchOut]


class DecisionIn(BaseModel):
    decision: Literal["accept", "reject"]
    version: int = Field(ge=1, description="The match version you saw (optimistic locking)")
    reason_code: (
        Literal[
            "woning_past_niet", "jongere_weigert", "zorg_niet_rond", "samenstelling_huis", "anders"
        ]
        | None
    ) = None
    reason_text: str | None = Field(default=None, max_length=1000)


class ConfirmIn(BaseModel):
    version: int = Field(ge=1)


def _actor(principal: Principal) -> svc.Actor:
    return svc.Actor(principal.user_id, principal.organisation_id, principal.role)


def _require(principal: Principal, roles: tuple[str, ...]) -> None:
    if principal.role not in roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Geen toegang voor deze rol")


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Map workflow errors to HTTP: 404, 403, 409 with the Dutch reason."""
    try:
        return fn(*args, **kwargs)
    except svc.NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except svc.Forbidden as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
    except (svc.WorkflowError, InvalidTransition) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


def _round_out(session: Session, rnd: m.AllocationRound) -> RoundOut:
    versions = session.scalars(
        select(m.Proposal.version).where(m.Proposal.round_id == rnd.id).order_by(m.Proposal.version)
    ).all()
    return RoundOut(
        id=rnd.id,
        month=rnd.month,
        status=rnd.status,
        seed=rnd.seed,
        solver_version=rnd.solver_version,
        policy_valid_from=rnd.policy_valid_from,
        error=rnd.error,
        proposal_versions=list(versions),
    )


def _age_band(birth: date, on: date) -> str:
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if age < 18:
        return "16-17"
    if age <= 20:
        return "18-20"
    if age <= 22:
        return "21-22"
    return "23-27"


def _solve_in_background(request: Request, round_id: int, time_limit_s: float) -> None:
    svc.run_solve(request.app.state.sessions, round_id, time_limit_s)


@router.post("/rounds", response_model=RoundOut, status_code=201, responses=ERRORS)
def create_round(
    body: RoundCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    background: BackgroundTasks,
    request: Request,
) -> RoundOut:
    """Snapshot the month's inputs and start solving in the background."""
    _require(principal, MANAGE_ROLES)
    rnd = svc.create_round(session, body.month, body.seed, _actor(principal))
    svc.start_solve(session, rnd.id, _actor(principal))
    session.commit()  # the background solve reads the committed round
    background.add_task(_solve_in_background, request, rnd.id, body.time_limit_s)
    return _round_out(session, rnd)


@router.get("/rounds", response_model=list[RoundOut], responses=ERRORS)
def list_rounds(principal: CurrentPrincipal, session: SessionDep) -> list[RoundOut]:
    _require(principal, REVIEW_ROLES)
    rows = session.scalars(select(m.AllocationRound).order_by(m.AllocationRound.id.desc())).all()
    return [_round_out(session, r) for r in rows]


@router.get("/rounds/{round_id}", response_model=RoundOut, responses=ERRORS)
def get_round(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> RoundOut:
    _require(principal, REVIEW_ROLES)
    rnd = _call(svc.get_round, session, round_id)
    return _round_out(session, rnd)


@router.post("/rounds/{round_id}/publish", response_model=RoundOut, responses=ERRORS)
def publish_round(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> RoundOut:
    _require(principal, MANAGE_ROLES)
    return _round_out(session, _call(svc.publish, session, round_id, _actor(principal)))


@router.post("/rounds/{round_id}/resolve", response_model=RoundOut, responses=ERRORS)
def resolve_round(
    round_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    background: BackgroundTasks,
    request: Request,
) -> RoundOut:
    """Re-solve with accepted matches fixed and rejected pairs forbidden (new version)."""
    _require(principal, MANAGE_ROLES)
    rnd = _call(svc.start_resolve, session, round_id, _actor(principal))
    session.commit()
    background.add_task(_solve_in_background, request, rnd.id, 30.0)
    return _round_out(session, rnd)


@router.post("/rounds/{round_id}/finalise", response_model=RoundOut, responses=ERRORS)
def finalise_round(round_id: int, principal: CurrentPrincipal, session: SessionDep) -> RoundOut:
    _require(principal, MANAGE_ROLES)
    return _round_out(session, _call(svc.finalise, session, round_id, _actor(principal)))


def _scoped_matches(session: Session, principal: Principal, proposal: m.Proposal) -> list[m.Match]:
    stmt = (
        select(m.Match)
        .join(m.HousingOption, m.Match.option_id == m.HousingOption.id)
        .where(m.Match.proposal_id == proposal.id)
        .order_by(m.Match.id)
    )
    if principal.role == "corporatie":
        stmt = stmt.where(m.HousingOption.corporation_id == principal.organisation_id)
    elif principal.role == "gemeente":
        org = session.get(m.Organisation, principal.organisation_id)
        stmt = stmt.where(m.HousingOption.gemeente_code == (org.gemeente_code if org else None))
    return list(session.scalars(stmt))


@router.get("/rounds/{round_id}/proposals/{version}", response_model=ProposalOut, responses=ERRORS)
def get_proposal(
    round_id: int,
    version: int,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> ProposalOut:
    """One proposal version with the matches this user may see."""
    _require(principal, REVIEW_ROLES)
    proposal = session.scalars(
        select(m.Proposal).where(m.Proposal.round_id == round_id, m.Proposal.version == version)
    ).first()
    if proposal is None:
        raise HTTPException(404, f"ronde {round_id} heeft geen voorstel versie {version}")
    matches = [_match_out(match) for match in _scoped_matches(session, principal, proposal)]
    return ProposalOut(
        round_id=round_id,
        version=proposal.version,
        status=proposal.status,
        objective=proposal.objective,
        bound=proposal.bound,
        gap=proposal.gap,
        matches=matches,
    )


@router.post("/matches/{match_id}/decision", response_model=MatchOut, responses=ERRORS)
def decide_match(
    match_id: int, body: DecisionIn, principal: CurrentPrincipal, session: SessionDep
) -> MatchOut:
    """Accept or reject a match; ``version`` must be the version you saw (else 409)."""
    _require(principal, REVIEW_ROLES)
    match = _call(
        svc.decide,
        session,
        match_id,
        _actor(principal),
        body.decision == "accept",
        body.version,
        body.reason_code,
        body.reason_text,
    )
    return _match_out(match)


@router.post("/matches/{match_id}/confirm", response_model=MatchOut, responses=ERRORS)
def confirm_match(
    match_id: int, body: ConfirmIn, principal: CurrentPrincipal, session: SessionDep
) -> MatchOut:
    _require(principal, MANAGE_ROLES)
    return _match_out(_call(svc.confirm, session, match_id, _actor(principal), body.version))


def _match_out(match: m.Match) -> MatchOut:
    option, youth = match.option, match.youth
    return MatchOut(
        id=match.id,
        version=match.version_id,
        status=match.status,
        reason_code=match.reason_code,
        reason_text=match.reason_text,
        option_code=option.code,
        housing_type=option.type.code,
        gemeente_code=option.gemeente_code,
        corporation=option.corporation.code if option.corporation else None,
        youth=MatchYouthForCorporation(
            code=youth.code,
            age_band=_age_band(youth.birth_date, match.proposal.round.month),
            household_size=youth.household_size,
            support_provider=youth.support_provider,
        ),
    )
