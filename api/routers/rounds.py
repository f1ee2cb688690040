"""Rounds, proposals and match decisions (``/api/v1``).

Thin routes: parse, authorise, call the round services, shape the response. What a user sees is
scoped in the queries: a corporation only the matches on its own options, with a pseudonymised
youth; gemeente staff the matches in their gemeente; planners and regisseurs no matches at all.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, ErrorOut, actor, require
from api.services import rounds as svc
from api.services.youths import age_band
from api.worker import run_enqueued
from store import models as m

router = APIRouter(tags=["rounds"])

REVIEW_ROLES = ("admin", "gemeente", "corporatie")
MANAGE_ROLES = ("admin", "gemeente")

RoundId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Version = Annotated[int, Path(ge=1, le=10_000)]
MatchId = Annotated[int, Path(ge=1, le=2**31 - 1)]

__all__ = ["ERRORS", "ErrorOut", "router"]


class RoundCreate(BaseModel):
    month: date = Field(description="Any day in the month; the round uses its first day")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    time_limit_s: float = Field(default=30.0, gt=0, le=600, allow_inf_nan=False)
    pacing: svc.Pacing = Field(
        default="none",
        description="budget: each contingent gets this month's budget (its amount spread over "
        "the year by the projection's expected inflow; unused months roll over)",
    )


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
    return age_band(birth, on)


def _solve(
    session: Session, background: BackgroundTasks, request: Request, round_id: int, limit: float
) -> None:
    """Enqueue the round's solve job and commit; the server runs it after the response (or a
    worker does: api/worker.py)."""
    job_id = svc.enqueue_solve(session, round_id, limit)
    session.commit()  # the round's state and its job together
    background.add_task(run_enqueued, request, job_id)


@router.post("/rounds", response_model=RoundOut, status_code=201, responses=ERRORS)
def create_round(
    body: RoundCreate,
    principal: Caller,
    session: SessionDep,
    background: BackgroundTasks,
    request: Request,
) -> RoundOut:
    """Snapshot the month's inputs and start solving in the background."""
    require(principal, MANAGE_ROLES)
    rnd = svc.create_round(session, body.month, body.seed, actor(principal), body.pacing)
    svc.start_solve(session, rnd.id, actor(principal))
    _solve(session, background, request, rnd.id, body.time_limit_s)
    return _round_out(session, rnd)


@router.get("/rounds", response_model=list[RoundOut], responses=ERRORS)
def list_rounds(principal: Caller, session: SessionDep) -> list[RoundOut]:
    """The rounds you may read, newest first (corporations: published or final ones)."""
    require(principal, REVIEW_ROLES)
    return [_round_out(session, r) for r in svc.readable_rounds(session, actor(principal))]


@router.get("/rounds/{round_id}", response_model=RoundOut, responses=ERRORS)
def get_round(round_id: RoundId, principal: Caller, session: SessionDep) -> RoundOut:
    """One round (corporations: once published, 403 before)."""
    require(principal, REVIEW_ROLES)
    rnd = svc.readable_round(session, round_id, actor(principal))
    return _round_out(session, rnd)


@router.post("/rounds/{round_id}/solve", response_model=RoundOut, responses=ERRORS)
def retry_solve(
    round_id: RoundId,
    principal: Caller,
    session: SessionDep,
    background: BackgroundTasks,
    request: Request,
) -> RoundOut:
    """Solve a failed round again with its unchanged inputs (same seed: same proposal)."""
    require(principal, MANAGE_ROLES)
    rnd = svc.start_solve(session, round_id, actor(principal))
    _solve(session, background, request, rnd.id, 30.0)
    return _round_out(session, rnd)


@router.post("/rounds/{round_id}/publish", response_model=RoundOut, responses=ERRORS)
def publish_round(round_id: RoundId, principal: Caller, session: SessionDep) -> RoundOut:
    require(principal, MANAGE_ROLES)
    return _round_out(session, svc.publish(session, round_id, actor(principal)))


@router.post("/rounds/{round_id}/resolve", response_model=RoundOut, responses=ERRORS)
def resolve_round(
    round_id: RoundId,
    principal: Caller,
    session: SessionDep,
    background: BackgroundTasks,
    request: Request,
) -> RoundOut:
    """Re-solve with accepted matches fixed and rejected pairs forbidden (new version)."""
    require(principal, MANAGE_ROLES)
    rnd = svc.start_resolve(session, round_id, actor(principal))
    _solve(session, background, request, rnd.id, 30.0)
    return _round_out(session, rnd)


@router.post("/rounds/{round_id}/finalise", response_model=RoundOut, responses=ERRORS)
def finalise_round(round_id: RoundId, principal: Caller, session: SessionDep) -> RoundOut:
    require(principal, MANAGE_ROLES)
    return _round_out(session, svc.finalise(session, round_id, actor(principal)))


class ProposalSummary(BaseModel):
    version: int
    status: str
    objective: float | None
    gap: float | None
    matches: int = Field(description="Matches in this version that you may see")


class PairOut(BaseModel):
    """A match of the previous version that is gone from this one."""

    youth: MatchYouthForCorporation
    option_code: str
    status: str = Field(description="Its status in the previous version (e.g. rejected)")


class ProposalDiff(BaseModel):
    round_id: int
    version: int
    previous_version: int | None
    added: list[MatchOut]
    removed: list[PairOut]
    unchanged: int


def _proposal(session: Session, round_id: int, version: int) -> m.Proposal:
    proposal = session.scalars(
        select(m.Proposal).where(m.Proposal.round_id == round_id, m.Proposal.version == version)
    ).first()
    if proposal is None:
        raise svc.NotFound(f"ronde {round_id} heeft geen voorstel versie {version}")
    return proposal


def _scoped_matches(session: Session, principal: Principal, proposal: m.Proposal) -> list[MatchOut]:
    """The proposal's matches this user may see, in one query (no lazy loads per match)."""
    o, y = m.HousingOption, m.Youth
    stmt = (
        select(
            m.Match.id,
            m.Match.version_id,
            m.Match.status,
            m.Match.reason_code,
            m.Match.reason_text,
            o.code,
            m.HousingType.code,
            o.gemeente_code,
            m.Organisation.code,
            y.code,
            y.birth_date,
            y.household_size,
            y.support_provider,
        )
        .join(o, m.Match.option_id == o.id)
        .join(m.HousingType, o.type_id == m.HousingType.id)
        .outerjoin(m.Organisation, o.corporation_id == m.Organisation.id)
        .join(y, m.Match.youth_id == y.id)
        .where(m.Match.proposal_id == proposal.id)
        .order_by(m.Match.id)
    )
    if principal.role == "corporatie":
        stmt = stmt.where(o.corporation_id == principal.organisation_id)
    elif principal.role == "gemeente":
        org = session.get(m.Organisation, principal.organisation_id)
        stmt = stmt.where(o.gemeente_code == (org.gemeente_code if org else None))
    month = proposal.round.month
    return [
        MatchOut(
            id=mid,
            version=version,
            status=status_,
            reason_code=reason_code,
            reason_text=reason_text,
            option_code=option_code,
            housing_type=type_code,
            gemeente_code=gemeente,
            corporation=corporation,
            youth=MatchYouthForCorporation(
                code=youth_code,
                age_band=_age_band(birth, month),
                household_size=household,
                support_provider=provider,
            ),
        )
        for (
            mid,
            version,
            status_,
            reason_code,
            reason_text,
            option_code,
            type_code,
            gemeente,
            corporation,
            youth_code,
            birth,
            household,
            provider,
        ) in session.execute(stmt)
    ]


@router.get("/rounds/{round_id}/proposals", response_model=list[ProposalSummary], responses=ERRORS)
def list_proposals(
    round_id: RoundId, principal: Caller, session: SessionDep
) -> list[ProposalSummary]:
    """Every proposal version of the round (all stay readable), oldest first.

    Corporations read proposals only of published or final rounds (403 before).
    """
    require(principal, REVIEW_ROLES)
    rnd = svc.readable_round(session, round_id, actor(principal))
    return [
        ProposalSummary(
            version=p.version,
            status=p.status,
            objective=p.objective,
            gap=p.gap,
            matches=len(_scoped_matches(session, principal, p)),
        )
        for p in rnd.proposals
    ]


@router.get("/rounds/{round_id}/proposals/{version}", response_model=ProposalOut, responses=ERRORS)
def get_proposal(
    round_id: RoundId,
    version: Version,
    principal: Caller,
    session: SessionDep,
) -> ProposalOut:
    """One proposal version with the matches this user may see (corporations: published)."""
    require(principal, REVIEW_ROLES)
    svc.readable_round(session, round_id, actor(principal))
    proposal = _proposal(session, round_id, version)
    return ProposalOut(
        round_id=round_id,
        version=proposal.version,
        status=proposal.status,
        objective=proposal.objective,
        bound=proposal.bound,
        gap=proposal.gap,
        matches=_scoped_matches(session, principal, proposal),
    )


@router.get(
    "/rounds/{round_id}/proposals/{version}/diff", response_model=ProposalDiff, responses=ERRORS
)
def diff_proposal(
    round_id: RoundId,
    version: Version,
    principal: Caller,
    session: SessionDep,
) -> ProposalDiff:
    """What changed from the previous version: matches added, pairs removed, how many stayed.

    A pair is (youth, option); within your scope. Version 1 has no previous version: all added.
    """
    require(principal, REVIEW_ROLES)
    svc.readable_round(session, round_id, actor(principal))
    current = _scoped_matches(session, principal, _proposal(session, round_id, version))
    previous: list[MatchOut] = []
    if version > 1:
        previous = _scoped_matches(session, principal, _proposal(session, round_id, version - 1))
    before = {(x.youth.code, x.option_code): x for x in previous}
    now = {(x.youth.code, x.option_code) for x in current}
    return ProposalDiff(
        round_id=round_id,
        version=version,
        previous_version=version - 1 if version > 1 else None,
        added=[x for x in current if (x.youth.code, x.option_code) not in before],
        removed=[
            PairOut(youth=x.youth, option_code=x.option_code, status=x.status)
            for pair, x in before.items()
            if pair not in now
        ],
        unchanged=len(now & set(before)),
    )


@router.post("/matches/{match_id}/decision", response_model=MatchOut, responses=ERRORS)
def decide_match(
    match_id: MatchId, body: DecisionIn, principal: Caller, session: SessionDep
) -> MatchOut:
    """Accept or reject a match; ``version`` must be the version you saw (else 409)."""
    require(principal, REVIEW_ROLES)
    match = svc.decide(
        session,
        match_id,
        actor(principal),
        body.decision == "accept",
        body.version,
        body.reason_code,
        body.reason_text,
    )
    return _match_out(match)


@router.post("/matches/{match_id}/confirm", response_model=MatchOut, responses=ERRORS)
def confirm_match(
    match_id: MatchId, body: ConfirmIn, principal: Caller, session: SessionDep
) -> MatchOut:
    require(principal, MANAGE_ROLES)
    return _match_out(svc.confirm(session, match_id, actor(principal), body.version))


class UndoIn(BaseModel):
    version: int = Field(ge=1, description="The match version you saw (optimistic locking)")


@router.post("/matches/{match_id}/undo", response_model=MatchOut, responses=ERRORS)
def undo_match(match_id: MatchId, body: UndoIn, principal: Caller, session: SessionDep) -> MatchOut:
    """Take a decision back while the round is published: a confirmation goes back to
    accepted, an acceptance or rejection back to proposed."""
    require(principal, REVIEW_ROLES)
    return _match_out(svc.undo(session, match_id, actor(principal), body.version))


class BulkItem(BaseModel):
    id: int = Field(ge=1, le=2**31 - 1)
    version: int = Field(ge=1, le=2**31 - 1)


class BulkIn(BaseModel):
    action: Literal["accept", "confirm"]
    matches: list[BulkItem] = Field(min_length=1, max_length=5000)


class BulkRefusedOut(BaseModel):
    detail: str
    problems: dict[int, str] = Field(description="Per refused match id, why (Dutch)")


@router.post(
    "/rounds/{round_id}/decisions",
    response_model=list[MatchOut],
    responses={**ERRORS, 409: {"model": BulkRefusedOut}},
)
def bulk_decide(
    round_id: RoundId, body: BulkIn, principal: Caller, session: SessionDep
) -> list[MatchOut] | JSONResponse:
    """Accept (or confirm) every listed match of the round, or none: when any is refused the
    answer is 409 naming each refused match, and nothing is stored."""
    require(principal, REVIEW_ROLES if body.action == "accept" else MANAGE_ROLES)
    # a draft is not there for a corporation: 403 before any match id is looked at (a round
    # that does not exist is named in the 409 of every match, as before)
    rnd = session.get(m.AllocationRound, round_id)
    if rnd is not None:
        svc.readable_round(session, round_id, actor(principal))
    run = svc.decide_many if body.action == "accept" else svc.confirm_many
    items = [(x.id, x.version) for x in body.matches]
    try:
        done = run(session, actor(principal), items, round_id)
    except svc.BulkRefused as exc:  # nothing stored: the unit of work must not commit
        session.rollback()
        problems = BulkRefusedOut(detail=str(exc), problems=exc.problems)
        return JSONResponse(problems.model_dump(mode="json"), status_code=409)
    return [_match_out(x) for x in done]


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
