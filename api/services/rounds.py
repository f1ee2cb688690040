"""The monthly round workflow: snapshot, solve, publish, decide, re-solve, finalise.

Services take a session (or a session factory where work spans transactions, as the background
solve does) and never commit themselves except ``run_solve``, which owns its transactions. Every
state change and decision writes an audit entry.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, cast, get_args

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from api.errors import Forbidden, NotFound, WorkflowError
from api.formatting import nl_month
from api.services import notifications
from api.services.round_states import RoundAction, RoundStatus, next_status
from matcher.glossary import label
from matcher.problem import Round
from matcher.roundfile import (
    round_from_data,
    round_to_data,
    stock_from_snapshot,
)
from store import jobs
from store import models as m
from store.db import make_engine, make_sessionmaker, unit_of_work
from store.repository import load_round
from store.supply_inputs import inflow_weights
from supply.pacing import paced_contingents

log = logging.getLogger(__name__)

SOLVER_VERSION = "stek-matcher 1"


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user (the API passes its principal) or the system (CLI, jobs)."""

    user_id: int | None
    organisation_id: int | None
    role: str

    @classmethod
    def system(cls) -> Actor:
        return cls(None, None, "admin")


def audit(
    session: Session,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: object,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry (the table refuses updates and deletes)."""
    session.add(
        m.AuditEntry(
            at=datetime.now(UTC),
            user_id=actor.user_id if actor else None,
            organisation_id=actor.organisation_id if actor else None,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            detail=detail,
        )
    )


def get_round(session: Session, round_id: int) -> m.AllocationRound:
    found = session.get(m.AllocationRound, round_id)
    if found is None:
        raise NotFound(f"ronde {round_id} bestaat niet")
    return found


# Rounds whose proposals corporations may read: a draft (or a round still being solved, or
# failed) is the planners' working copy and leaks the urgency ranking before it is agreed.
PUBLIC_ROUND_STATES = frozenset({RoundStatus.PUBLISHED.value, RoundStatus.FINAL.value})


def may_read_proposals(actor: Actor, rnd: m.AllocationRound) -> bool:
    """Whether ``actor`` may read the proposals of ``rnd``: admin and gemeente always,
    corporations only once the round is published (or final)."""
    if actor.role in ("admin", "gemeente"):
        return True
    return actor.role == "corporatie" and rnd.status in PUBLIC_ROUND_STATES


def published_versions(rnd: m.AllocationRound) -> set[int]:
    """The proposal versions of ``rnd`` that were published: all of a published or final
    round; while a re-solve is solving (or failed) every existing version (a first solve has
    none yet); in a draft all but the newest."""
    versions = {p.version for p in rnd.proposals}
    if rnd.status == RoundStatus.DRAFT.value:
        return versions - {max(versions)} if versions else set()
    if rnd.status == RoundStatus.CREATED.value:
        return set()
    return versions


def readable_round(session: Session, round_id: int, actor: Actor) -> m.AllocationRound:
    """Round ``round_id`` when ``actor`` may read it and its proposals; NotFound or Forbidden
    else. Every read of a round (its status, proposals, diffs, explanations, fairness report,
    pair explanations, the review page) goes through this check."""
    rnd = get_round(session, round_id)
    if not may_read_proposals(actor, rnd):
        raise Forbidden("het voorstel van deze ronde is nog niet gepubliceerd")
    return rnd


def readable_rounds(session: Session, actor: Actor) -> list[m.AllocationRound]:
    """The rounds ``actor`` may read (``may_read_proposals``), newest first."""
    found = session.scalars(select(m.AllocationRound).order_by(m.AllocationRound.id.desc()))
    return [r for r in found if may_read_proposals(actor, r)]


def _transition(
    session: Session, rnd: m.AllocationRound, action: RoundAction, actor: Actor | None
) -> None:
    before = rnd.status
    rnd.status = next_status(before, action).value
    audit(
        session, actor, f"round.{action.value}", "round", rnd.id, {"from": before, "to": rnd.status}
    )


Pacing = Literal["none", "budget"]
PACINGS: tuple[Pacing, ...] = get_args(Pacing)


def paced_round(session: Session, problem: Round) -> Round:
    """The round with monthly contingent budgets from the projection's expected inflow."""
    weights = inflow_weights(session, problem.month.year)
    return dataclasses.replace(
        problem, contingents=paced_contingents(problem.contingents, problem.month.month, weights)
    )


# A round in one of these states may be replaced by a new round for its month, as long as it
# was never published (a single proposal version): nobody has decided anything in it yet.
REPLACEABLE_STATES = frozenset(
    {RoundStatus.CREATED.value, RoundStatus.DRAFT.value, RoundStatus.FAILED.value}
)


def _one_round_per_month(
    session: Session, month: date, actor: Actor | None, replace_draft: bool
) -> None:
    """Refuse a second round for ``month``; with ``replace_draft`` remove an unpublished one."""
    existing = round_for_month(session, month)
    if existing is None:
        return
    name = f"ronde {existing.id} ({label('round_status', existing.status)})"
    published_before = len(existing.proposals) > 1
    if not replace_draft or existing.status not in REPLACEABLE_STATES or published_before:
        hint = (
            "kies 'concept vervangen' om het te vervangen"
            if existing.status in REPLACEABLE_STATES and not published_before
            else "werk in die ronde verder"
        )
        raise WorkflowError(f"voor {nl_month(month)} bestaat al {name}; {hint}")
    for proposal in existing.proposals:
        for match in proposal.matches:
            session.delete(match)
        session.delete(proposal)
    session.delete(existing)
    session.flush()
    audit(session, actor, "round.replace", "round", existing.id, {"month": month.isoformat()})


def create_round(
    session: Session,
    month: date,
    seed: int,
    actor: Actor | None,
    pacing: Pacing = "none",
    replace_draft: bool = False,
) -> m.AllocationRound:
    """Snapshot the inputs for ``month`` (youths, options, contingents, policy, seed).

    There is one round per month: a second one is refused (``WorkflowError``), except that
    ``replace_draft`` replaces a round that was never published (created, draft or failed).
    ``pacing="budget"`` gives every contingent this month's budget (``Contingent.month_budget``,
    see ``supply.pacing.paced_contingents``), weighted by the projection's expected inflow per
    gemeente, so a year's contingent is not spent by spring.
    """
    _one_round_per_month(session, month.replace(day=1), actor, replace_draft)
    try:
        problem = load_round(session, month, seed=seed)
    except LookupError as exc:  # no policy in force for that month
        raise WorkflowError(str(exc)) from exc
    if pacing == "budget":
        problem = paced_round(session, problem)
    rnd = m.AllocationRound(
        month=problem.month,
        status=RoundStatus.CREATED.value,
        seed=seed,
        solver_version=SOLVER_VERSION,
        policy_valid_from=problem.policy.valid_from,
        snapshot=round_to_data(problem),
        created_by_id=actor.user_id if actor else None,
    )
    session.add(rnd)
    session.flush()
    audit(
        session,
        actor,
        "round.create",
        "round",
        rnd.id,
        {
            "month": problem.month.isoformat(),
            "youths": len(problem.youths),
            "options": len(problem.options),
            "pacing": pacing,
        },
    )
    return rnd


def start_solve(session: Session, round_id: int, actor: Actor | None) -> m.AllocationRound:
    """Move a created or failed round to solving (the caller then runs ``run_solve``)."""
    rnd = get_round(session, round_id)
    _transition(session, rnd, RoundAction.SOLVE, actor)
    rnd.error = None
    return rnd


def _solve_child(
    database_url: str,
    round_id: int,
    time_limit_s: float,
    claim: jobs.Claim | None,
    owner_pid: int | None = None,
) -> None:
    """The child process of :func:`solve_apart`: its own engine, then ``run_solve``."""
    # A stop of the worker (SIGTERM from the service manager to the whole group, Ctrl-C) lets
    # the solve in hand finish: the worker waits for it. A dead worker is the watcher's matter.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if owner_pid is not None:
        _die_with(owner_pid)
    engine = make_engine(database_url)
    try:
        run_solve(make_sessionmaker(engine), round_id, time_limit_s, claim)
    except jobs.Interrupted:
        log.exception("solve of round %s interrupted by the database", round_id)
        sys.exit(INTERRUPTED_EXIT)
    finally:
        engine.dispose()


def _die_with(owner_pid: int, every_s: float = 0.1) -> None:
    """End this process as soon as ``owner_pid`` (the worker that started the solve) is gone.

    The child's parent is the fork server, which outlives a worker killed with SIGKILL, so the
    parent-death signal cannot tell. A solve orphaned that way would otherwise run on and could
    still store its proposal while the dead worker's lease lasts (no harm: the same proposal,
    once, see ``store.jobs``), or be fenced off after; either way it wastes a core. A thread
    cannot watch: a solver's native code may hold the interpreter lock for seconds. So a small
    watcher *process* is forked (this process is single-threaded here): it kills this process
    when the worker is gone, and dies with it otherwise (parent-death signal)."""
    solver = os.getpid()
    if os.fork() != 0:
        return
    try:  # the watcher
        _parent_death_signal()
        while os.getppid() == solver:
            time.sleep(every_s)
            try:
                os.kill(owner_pid, 0)
            except ProcessLookupError:
                os.kill(solver, signal.SIGKILL)
                break
            except PermissionError:  # alive, under another user
                pass
    finally:
        os._exit(0)


def _parent_death_signal() -> None:
    """Linux: SIGKILL to this process when its parent ends (elsewhere: nothing)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PDEATHSIG
    except (OSError, AttributeError):
        pass


_solver_processes: multiprocessing.context.ForkServerContext | None = None
# A solve child's exit code when the database went away (sysexits EX_TEMPFAIL).
INTERRUPTED_EXIT = 75
# Beyond twice its time limit, a solve child gets this long for reading and storing before it
# is presumed hung.
SOLVE_MARGIN_S = 300.0


def _solver_context() -> multiprocessing.context.ForkServerContext:
    """A fork server that has imported the matcher once: each solve forks from it in
    milliseconds (a spawned child would import OR-Tools, SciPy and Shapely again, ~1.5 s)."""
    global _solver_processes
    if _solver_processes is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(
            ["api.solver_signals", "api.services.rounds", "matcher.solve"]
        )
        _solver_processes = context
    return _solver_processes


def _fork_server_ready() -> None:
    """Run by a child of the fork server: it only exists once the server has preloaded."""


def start_solver_processes() -> None:
    """Start the fork server now (a worker at start-up), not at the first solve, and wait
    until it is ready: a stop signal that arrives while it is still starting (before
    ``api.solver_signals`` makes it ignore SIGTERM) would end it, and the first solve would
    then fail with "unexpected EOF". ``ensure_running`` does not wait for the server's
    preloading; one no-op child through it does (a server forks only after preloading)."""
    import multiprocessing.forkserver

    context = _solver_context()
    multiprocessing.forkserver.ensure_running()
    ready = context.Process(target=_fork_server_ready, daemon=True)
    ready.start()
    ready.join()


def solve_apart(
    factory: sessionmaker[Session],
    database_url: str,
    round_id: int,
    time_limit_s: float,
    claim: jobs.Claim | None = None,
) -> None:
    """``run_solve`` in a child process, waited for; for solves that workers run.

    In the serving process a solve's Python work (reading the snapshot, building the model)
    holds the interpreter lock, and the pages of everyone else wait for it; in a child the
    serving process keeps answering on its own core. A child that dies (a native crash of a
    solver, a kill) leaves the round *failed* with the exit code, instead of *solving* for
    ever. An in-memory SQLite database is not there for a child: solved in this process.
    With ``claim`` (the job being worked on) every write is fenced by its token.
    """
    if database_url.startswith("sqlite") and database_url.split("///", 1)[-1] in ("", ":memory:"):
        run_solve(factory, round_id, time_limit_s, claim)
        return
    child = _solver_context().Process(
        target=_solve_child,
        args=(database_url, round_id, time_limit_s, claim, os.getpid()),
        daemon=True,
    )
    child.start()
    child.join(timeout=2 * time_limit_s + SOLVE_MARGIN_S)
    if child.exitcode is None:  # hung (a lock, a dead connection): ended, the round failed
        child.kill()
        child.join()
        log.error("solve of round %s: no answer within the time limit; ended", round_id)
        fail_solve(factory, round_id, "het doorrekenen bleef hangen en is afgebroken", claim)
        return
    if child.exitcode == 0:
        return
    if child.exitcode == INTERRUPTED_EXIT:  # the database went away: nothing stored, run again
        raise jobs.Interrupted(f"round {round_id}: the database went away during the solve")
    log.error("solve of round %s: child process ended with %s", round_id, child.exitcode)
    fail_solve(
        factory,
        round_id,
        f"het doorrekenen is afgebroken (proces stopte met code {child.exitcode})",
        claim,
    )


def fail_solve(
    factory: sessionmaker[Session], round_id: int, reason: str, claim: jobs.Claim | None
) -> bool:
    """Leave a solving round *failed* with ``reason`` (and its job failed); False when the
    job's lease was taken over meanwhile (then the other worker's solve decides)."""
    with factory() as session:
        rnd = session.get(m.AllocationRound, round_id)
        if claim is not None:
            try:
                jobs.finish(session, claim, error=reason)
            except jobs.LeaseLost:
                session.rollback()
                log.warning("round %s: lease lost, the round is left to the new worker", round_id)
                return False
        if rnd is not None and rnd.status == RoundStatus.SOLVING.value:  # (deleted: nothing)
            _transition(session, rnd, RoundAction.CRASHED, None)
            rnd.error = reason
        session.commit()
    return True


def run_solve(
    factory: sessionmaker[Session],
    round_id: int,
    time_limit_s: float = 30.0,
    claim: jobs.Claim | None = None,
) -> m.Proposal | None:
    """Solve the round's snapshot and store a new proposal version.

    Runs in its own transactions (background work). A crash leaves the round ``failed`` with its
    snapshot intact, so solving again reproduces the same proposal. With ``claim`` (the job of a
    worker) the proposal is stored only while the job's lease is still this worker's, in the
    same transaction that marks the job done: of two workers that solved the same round (one
    stalled past its lease), exactly one stores its proposal.
    """
    from matcher.solve import solve

    try:
        with unit_of_work(factory) as session:
            rnd = get_round(session, round_id)
            if rnd.status != RoundStatus.SOLVING.value:
                raise WorkflowError(f"ronde {round_id} staat niet op doorrekenen ({rnd.status})")
            snapshot, seed = rnd.snapshot or {}, rnd.seed
    except (OperationalError, InterfaceError) as exc:
        raise jobs.Interrupted(f"round {round_id}: reading the snapshot: {exc}") from exc
    try:
        result = solve(round_from_data(snapshot), time_limit_s=time_limit_s, seed=seed)
    except Exception as exc:
        log.exception("solve of round %s failed", round_id)
        fail_solve(factory, round_id, f"{type(exc).__name__}: {exc}", claim)
        return None
    try:
        with factory() as session:
            if claim is not None:
                try:
                    jobs.finish(session, claim, result={"round": round_id, "housed": result.housed})
                except jobs.LeaseLost:
                    session.rollback()
                    log.warning("round %s: lease lost, the proposal is not stored", round_id)
                    return None
            rnd = get_round(session, round_id)
            if rnd.status != RoundStatus.SOLVING.value:  # solved meanwhile (without a job)
                session.rollback()
                return None
            proposal = _store_proposal(session, rnd, result, snapshot)
            session.commit()
            return proposal
    except (OperationalError, InterfaceError) as exc:  # the transaction is gone as a whole
        raise jobs.Interrupted(f"round {round_id}: storing the proposal: {exc}") from exc


def _store_proposal(
    session: Session, rnd: m.AllocationRound, result: Any, snapshot: dict[str, Any]
) -> m.Proposal:
    """The solve's ``result`` as the round's next proposal version, with its matches."""
    version = (
        session.scalar(select(func.max(m.Proposal.version)).where(m.Proposal.round_id == rnd.id))
        or 0
    ) + 1
    proposal = m.Proposal(
        round_id=rnd.id,
        version=version,
        status=result.status,
        objective=float(result.objective),
        bound=float(result.bound),
        gap=result.gap,
        result=result.as_dict(),
    )
    session.add(proposal)
    session.flush()
    youth_ids: dict[str, int] = {c: i for c, i in session.execute(select(m.Youth.code, m.Youth.id))}
    option_ids: dict[str, int] = {
        c: i for c, i in session.execute(select(m.HousingOption.code, m.HousingOption.id))
    }
    fixed = {(p["youth"], p["option"]) for p in snapshot.get("fixed_pairs", [])}
    for youth_code, option_code in sorted(result.assignment.items()):
        pair = result.scores.get(youth_code)
        session.add(
            m.Match(
                proposal_id=proposal.id,
                youth_id=youth_ids[youth_code],
                option_id=option_ids[option_code],
                score=float(pair.value) if pair is not None else 0.0,
                status="accepted" if (youth_code, option_code) in fixed else "proposed",
            )
        )
    _transition(session, rnd, RoundAction.SOLVED, None)
    audit(
        session,
        None,
        "proposal.create",
        "proposal",
        proposal.id,
        {"round": rnd.id, "version": version, "housed": result.housed, "gap": result.gap},
    )
    session.flush()
    return proposal


def fail_interrupted_solves(factory: sessionmaker[Session]) -> list[int]:
    """Mark rounds left in ``solving`` without a job as failed (called at start-up).

    A round is solved by a job (``store.jobs``): while its job is queued or running, a worker
    will finish it, also after the worker that held it died (its lease runs out and another
    claims it). A round ``solving`` with no such job has nobody to finish it (its job was given
    up, or it dates from before the job queue). Its snapshot is untouched, so solving again
    reproduces the proposal.
    """
    with unit_of_work(factory) as session:
        stuck = [
            rnd
            for rnd in session.scalars(
                select(m.AllocationRound).where(
                    m.AllocationRound.status == RoundStatus.SOLVING.value
                )
            )
            if jobs.active_job(session, "solve", "round", rnd.id) is None
        ]
        for rnd in stuck:
            _transition(session, rnd, RoundAction.CRASHED, None)
            rnd.error = "doorrekenen onderbroken: de server is gestopt tijdens het doorrekenen"
        return [r.id for r in stuck]


def enqueue_solve(session: Session, round_id: int, time_limit_s: float) -> int:
    """The solve job of a round just set to *solving*, in the same transaction; its id."""
    return jobs.enqueue(session, "solve", {"round": round_id, "time_limit_s": time_limit_s}).id


def latest_proposal(session: Session, round_id: int) -> m.Proposal:
    proposal = session.scalars(
        select(m.Proposal)
        .where(m.Proposal.round_id == round_id)
        .order_by(m.Proposal.version.desc())
        .limit(1)
    ).first()
    if proposal is None:
        raise WorkflowError(f"ronde {round_id} heeft nog geen voorstel")
    return proposal


def publish(session: Session, round_id: int, actor: Actor | None) -> m.AllocationRound:
    """Publish the draft; after a failed re-solve, publish the last version again (the round
    is back where it was before the re-solve). A round without a proposal has nothing to show."""
    rnd = get_round(session, round_id)
    if rnd.status == RoundStatus.FAILED.value and not rnd.proposals:
        raise WorkflowError(
            "het doorrekenen is mislukt voordat er een voorstel was; start het opnieuw"
        )
    _transition(session, rnd, RoundAction.PUBLISH, actor)
    notifications.round_published(session, rnd)  # inbox now, e-mail after the commit
    return rnd


def _get_match(session: Session, match_id: int) -> m.Match:
    match = session.get(m.Match, match_id)
    if match is None:
        raise NotFound(f"match {match_id} bestaat niet")
    return match


def _match_for_decision(
    session: Session, match_id: int, expected_version: int
) -> tuple[m.Match, m.AllocationRound]:
    """The match, if the round and the version allow a decision now (WorkflowError if not).

    Callers check the actor's right first, so a stranger learns nothing from a 409.
    """
    match = _get_match(session, match_id)
    rnd = match.proposal.round
    if rnd.status != RoundStatus.PUBLISHED.value:
        raise WorkflowError(
            f"de ronde staat op '{rnd.status}': beoordelen kan alleen als gepubliceerd"
        )
    # the round's proposals are loaded once per session (a bulk action asks for every match)
    if match.proposal.version != max(p.version for p in rnd.proposals):
        raise WorkflowError("deze match hoort bij een oudere versie van het voorstel")
    if match.version_id != expected_version:
        raise WorkflowError(
            f"match {match_id} is intussen door iemand anders gewijzigd "
            f"(versie {match.version_id}, jij had {expected_version}); laad opnieuw"
        )
    return match, rnd


def _may_decide(session: Session, actor: Actor, match: m.Match) -> None:
    # An unpublished round is not there for a corporation: not even its match ids (a 409
    # "not published" would tell which ids are on its options).
    if not may_read_proposals(actor, match.proposal.round):
        raise Forbidden("het voorstel van deze ronde is nog niet gepubliceerd")
    if not may_decide_match(session, actor, match, any_status=True):
        raise Forbidden("je mag alleen matches op woningen van je eigen organisatie beoordelen")


def _own_gemeente(session: Session, actor: Actor) -> str | None:
    org = session.get(m.Organisation, actor.organisation_id) if actor.organisation_id else None
    return org.gemeente_code if org is not None else None


def may_decide_match(
    session: Session, actor: Actor, match: m.Match, any_status: bool = False
) -> bool:
    """Whether ``actor`` decides ``match``: admin any, a corporation the matches on its own
    options, a gemeente those on options without a corporation in its gemeente. Unless
    ``any_status``, only a proposed match is there to decide."""
    if not any_status and match.status != "proposed":
        return False
    option = match.option
    if actor.role == "admin":
        return True
    if actor.role == "corporatie":
        return option.corporation_id == actor.organisation_id
    return (
        actor.role == "gemeente"
        and option.corporation_id is None
        and option.gemeente_code == _own_gemeente(session, actor)
    )


def may_confirm_match(session: Session, actor: Actor, match: m.Match) -> bool:
    """Whether ``actor`` confirms ``match``: admin, or the gemeente the option lies in."""
    if actor.role == "admin":
        return True
    return actor.role == "gemeente" and _own_gemeente(session, actor) == match.option.gemeente_code


def decide(
    session: Session,
    match_id: int,
    actor: Actor,
    accept: bool,
    expected_version: int,
    reason_code: str | None = None,
    reason_text: str | None = None,
    flush: bool = True,
) -> m.Match:
    """Accept or reject a proposed match (optimistic locking on ``expected_version``).

    ``flush`` False leaves the write to the caller's one flush (a bulk action, see ``_bulk``).
    """
    _may_decide(session, actor, _get_match(session, match_id))
    match, _ = _match_for_decision(session, match_id, expected_version)
    if match.status != "proposed":
        raise WorkflowError(f"match {match_id} is al beoordeeld ({match.status})")
    if not accept:
        if reason_code not in m.REJECT_REASONS:
            raise WorkflowError(f"kies een reden: {', '.join(m.REJECT_REASONS)}")
        if reason_code == "anders" and not (reason_text or "").strip():
            raise WorkflowError("bij reden 'anders' hoort een toelichting")
    match.status = "accepted" if accept else "rejected"
    match.reason_code = None if accept else reason_code
    match.reason_text = None if accept else (reason_text or None)
    match.decided_by_id = actor.user_id
    match.decided_at = datetime.now(UTC)
    if flush:
        _flush_decision(session, match_id)
    audit(
        session,
        actor,
        "match.accept" if accept else "match.reject",
        "match",
        match.id,
        {"reason_code": match.reason_code, "reason_text": match.reason_text},
    )
    return match


def _flush_decision(session: Session, match_id: int) -> None:
    """Write a decision now; a concurrent change of the row (version check) is a 409."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise WorkflowError(f"match {match_id} is intussen door iemand anders gewijzigd") from exc


def confirm(
    session: Session, match_id: int, actor: Actor, expected_version: int, flush: bool = True
) -> m.Match:
    """The gemeente confirms an accepted match in its gemeente (``flush`` as in ``decide``)."""
    _confirm_right(session, actor, _get_match(session, match_id))
    match, _ = _match_for_decision(session, match_id, expected_version)
    if match.status != "accepted":
        raise WorkflowError(f"alleen geaccepteerde matches kun je bevestigen (nu: {match.status})")
    match.status = "confirmed"
    match.confirmed_by_id = actor.user_id
    match.confirmed_at = datetime.now(UTC)
    if flush:
        _flush_decision(session, match_id)
    audit(session, actor, "match.confirm", "match", match.id)
    return match


def _pairs(
    session: Session, round_id: int, statuses: tuple[str, ...], latest_only: bool
) -> set[tuple[str, str]]:
    stmt = (
        select(m.Youth.code, m.HousingOption.code)
        .select_from(m.Match)
        .join(m.Proposal, m.Match.proposal_id == m.Proposal.id)
        .join(m.Youth, m.Match.youth_id == m.Youth.id)
        .join(m.HousingOption, m.Match.option_id == m.HousingOption.id)
        .where(m.Proposal.round_id == round_id, m.Match.status.in_(statuses))
    )
    if latest_only:
        stmt = stmt.where(m.Proposal.id == latest_proposal(session, round_id).id)
    return {(y, o) for y, o in session.execute(stmt)}


def start_resolve(session: Session, round_id: int, actor: Actor | None) -> m.AllocationRound:
    """Fix accepted pairs, forbid every rejected pair so far, and move the round to solving."""
    rnd = get_round(session, round_id)
    if rnd.status != RoundStatus.PUBLISHED.value:
        next_status(rnd.status, RoundAction.RESOLVE)  # raises with the reason
    fixed = _pairs(session, round_id, ("accepted", "confirmed"), latest_only=True)
    forbidden = _pairs(session, round_id, ("rejected",), latest_only=False)
    rejected_now = _pairs(session, round_id, ("rejected",), latest_only=True)
    released = recomposed_houses(rnd.snapshot or {}, fixed, rejected_now)
    snapshot = dict(rnd.snapshot or {})
    snapshot["fixed_pairs"] = [{"youth": y, "option": o} for y, o in sorted(fixed - released)]
    snapshot["forbidden_pairs"] = [{"youth": y, "option": o} for y, o in sorted(forbidden)]
    rnd.snapshot = snapshot
    if released:
        audit(
            session,
            actor,
            "round.release",
            "round",
            rnd.id,
            {"pairs": [f"{y}->{o}" for y, o in sorted(released)], "why": "house recomposed"},
        )
    _transition(session, rnd, RoundAction.RESOLVE, actor)
    return rnd


def recomposed_houses(
    snapshot: dict[str, Any], fixed: set[tuple[str, str]], rejected: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Accepted pairs that are decided again instead of fixed: those in a house where a match
    of the same version was rejected. Taking someone out of a shared house can break its rules
    for the ones who stay (too few persons for a Friends house, a companion who now lives
    elsewhere), which would make the re-solve infeasible; the house is composed anew.
    """
    house = {o["code"]: o.get("shared_house_id") or o["code"] for o in snapshot.get("options", [])}
    changed = {house.get(o, o) for _, o in rejected}
    return {(y, o) for y, o in fixed if house.get(o, o) in changed}


def release_count(session: Session, round_id: int) -> int:
    """How many accepted matches a re-solve now would decide again (``recomposed_houses``)."""
    rnd = get_round(session, round_id)
    fixed = _pairs(session, round_id, ("accepted", "confirmed"), latest_only=True)
    rejected = _pairs(session, round_id, ("rejected",), latest_only=True)
    return len(recomposed_houses(rnd.snapshot or {}, fixed, rejected))


def finalise(session: Session, round_id: int, actor: Actor | None) -> m.AllocationRound:
    """All matches confirmed: place them, use contingents, take options off the market.

    The placements are written as two statements (every placed young person, every option's
    remaining capacity) rather than one ORM update per row: a 1,300-match round took a second.
    """
    from matcher.rules import contingent_of

    rnd = get_round(session, round_id)
    proposal = latest_proposal(session, round_id)
    matches = session.execute(
        select(m.Match.status, m.Match.youth_id, m.Match.option_id, m.HousingOption.code)
        .join(m.HousingOption, m.HousingOption.id == m.Match.option_id)
        .where(m.Match.proposal_id == proposal.id)
    ).all()
    open_matches = sum(1 for x in matches if x.status != "confirmed")
    if open_matches:
        raise WorkflowError(
            f"{open_matches} match(es) zijn nog niet bevestigd; "
            "wijs af en reken opnieuw door, of bevestig ze eerst"
        )
    _transition(session, rnd, RoundAction.FINALISE, actor)
    problem = stock_from_snapshot(rnd.snapshot or {})
    options = {o.code: o for o in problem.options}
    contingents = _contingent_rows(session, problem)
    per_option: dict[int, int] = {}
    for match in matches:
        per_option[match.option_id] = per_option.get(match.option_id, 0) + 1
        index = contingent_of(problem, options[match.code])
        if index is not None:
            c = problem.contingents[index]
            row = contingents.get((c.corporation, c.gemeente_code, c.year, c.type_code))
            if row is None:
                raise WorkflowError(
                    f"het contingent van {c.corporation} in {c.gemeente_code} ({c.year}) bestaat"
                    " niet meer; herstel het en rond daarna af"
                )
            row.used += 1
    session.flush()
    _place(session, [x.youth_id for x in matches], per_option, problem.move_in)
    audit(session, actor, "round.placements", "round", rnd.id, {"placed": len(matches)})
    notifications.round_finalised(session, rnd)  # inbox now, e-mail after the commit
    return rnd


def _place(
    session: Session, youth_ids: list[int], per_option: dict[int, int], move_in: date
) -> None:
    """Young people placed on ``move_in``; each option's capacity less its placements, and
    occupied (``placed``) when none is left. Rows of these kinds already loaded in the session
    are expired, so nothing reads the old values afterwards."""
    if youth_ids:
        session.execute(
            update(m.Youth)
            .where(m.Youth.id.in_(youth_ids))
            .values(status="placed", placed_on=move_in)
            .execution_options(synchronize_session=False)
        )
    options = cast(Table, m.HousingOption.__table__)
    left = options.c.capacity - bindparam("placements")
    if per_option:
        session.connection().execute(
            update(options)
            .where(options.c.id == bindparam("option_id"))
            .values(
                capacity=left,
                status=case((left <= 0, "placed"), else_=options.c.status),
            ),
            [{"option_id": k, "placements": n} for k, n in per_option.items()],
        )
    for obj in list(session.identity_map.values()):
        if isinstance(obj, m.Youth | m.HousingOption):
            session.expire(obj)


def _contingent_rows(
    session: Session, problem: Round
) -> dict[tuple[str | None, str, int, str | None], m.Contingent]:
    """The round's contingent rows by the key the round file uses (corporation code, gemeente,
    year, type code or None), read in one query."""
    years = {c.year for c in problem.contingents}
    rows = session.execute(
        select(m.Contingent, m.Organisation.code, m.HousingType.code)
        .join(m.Organisation, m.Contingent.corporation_id == m.Organisation.id)
        .outerjoin(m.HousingType, m.Contingent.type_id == m.HousingType.id)
        .where(m.Contingent.year.in_(years))
    ).all()
    return {(corp, c.gemeente_code, c.year, type_code): c for c, corp, type_code in rows}


def recover_interrupted_solves(factory: sessionmaker[Session]) -> None:
    """Start-up hook: :func:`fail_interrupted_solves`, tolerant of a database not yet migrated."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        failed = fail_interrupted_solves(factory)
    except SQLAlchemyError as exc:  # no tables yet (stek db upgrade not run): nothing to recover
        log.warning("could not check for interrupted solves: %s", exc)
        return
    if failed:
        log.warning("rounds %s were solving when the server stopped: marked failed", failed)


# ---------------------------------------------------------------------------------------------
# Review at scale: undo, bulk decisions, one round per month, round summaries


class BulkRefused(WorkflowError):
    """A bulk action refused as a whole: ``problems`` says, per match, why (nothing applied)."""

    def __init__(self, problems: dict[int, str]) -> None:
        self.problems = problems
        listed = "; ".join(f"match {k}: {v}" for k, v in sorted(problems.items())[:10])
        more = len(problems) - 10
        super().__init__(
            f"niets opgeslagen, {len(problems)} match(es) kunnen niet: {listed}"
            + (f" (en {more} meer)" if more > 0 else "")
        )


def _confirm_right(session: Session, actor: Actor, match: m.Match) -> None:
    if actor.role not in ("gemeente", "admin"):
        raise Forbidden("alleen de gemeente bevestigt matches")
    if not may_confirm_match(session, actor, match):
        raise Forbidden("deze match ligt niet in jouw gemeente")


def undo(session: Session, match_id: int, actor: Actor, expected_version: int) -> m.Match:
    """Take a decision back while the round is open.

    A confirmation goes back to accepted (by whoever may confirm); an acceptance or rejection
    goes back to proposed (by whoever may decide the match). Optimistic locking as ``decide``.
    """
    match = _get_match(session, match_id)
    if match.status == "confirmed":
        _confirm_right(session, actor, match)
    else:
        _may_decide(session, actor, match)
    match, _ = _match_for_decision(session, match_id, expected_version)
    if match.status == "proposed":
        raise WorkflowError(f"match {match_id} is nog niet beoordeeld: niets terug te draaien")
    before = match.status
    if before == "confirmed":
        match.status = "accepted"
        match.confirmed_by_id = None
        match.confirmed_at = None
    else:
        match.status = "proposed"
        match.reason_code = None
        match.reason_text = None
        match.decided_by_id = None
        match.decided_at = None
    try:
        session.flush()
    except StaleDataError as exc:
        raise WorkflowError(f"match {match_id} is intussen door iemand anders gewijzigd") from exc
    audit(session, actor, "match.undo", "match", match.id, {"from": before, "to": match.status})
    return match


def _bulk(
    session: Session,
    actor: Actor,
    items: list[tuple[int, int]],
    action: Callable[[int, int], m.Match],
    round_id: int | None = None,
) -> list[m.Match]:
    """Apply ``action(match_id, version)`` to every item, or to none.

    Every item goes through the single action's own checks; when any is refused,
    ``BulkRefused`` names each refused match and the caller's unit of work rolls the whole
    request back (pages roll back before they render the message), so nothing is applied.
    ``action`` does not flush: the checks read the loaded rows (a match changed since the
    reviewer's page is named by its version), and every write goes in one flush at the end; a
    row changed by someone else between this request's read and that flush refuses the whole
    action (``WorkflowError``), since the version check of the flush cannot say which.
    """
    if not items:
        raise WorkflowError("kies eerst een of meer matches")
    if len({match_id for match_id, _ in items}) != len(items):
        raise WorkflowError("een match staat twee keer in de selectie")
    problems: dict[int, str] = {}
    done: list[m.Match] = []
    # one query for every match with what the checks read (instead of one query per match);
    # held in ``loaded`` until the end: the session's identity map keeps unchanged rows only
    # weakly, so without it the rows were gone again and each check read its match anew
    loaded = session.scalars(
        select(m.Match)
        .where(m.Match.id.in_([match_id for match_id, _ in items]))
        .options(
            joinedload(m.Match.option).joinedload(m.HousingOption.type),
            # (select-in: a joined load would decode the round's snapshot once per row)
            selectinload(m.Match.proposal).selectinload(m.Proposal.round),
        )
    ).all()
    with session.no_autoflush:  # the one flush below (a lazy load must not flush halfway)
        for match_id, version in items:
            if round_id is not None:
                match = session.get(m.Match, match_id)
                if match is None or match.proposal.round_id != round_id:
                    problems[match_id] = f"hoort niet bij ronde {round_id}"
                    continue
            try:
                done.append(action(match_id, version))
            except (WorkflowError, Forbidden, NotFound) as exc:
                problems[match_id] = str(exc)
    if problems:
        raise BulkRefused(problems)
    del loaded
    try:
        session.flush()
    except StaleDataError as exc:
        raise WorkflowError(
            "niets opgeslagen: een of meer van deze matches zijn net door iemand anders"
            " gewijzigd; laad de lijst opnieuw"
        ) from exc
    return done


def decide_many(
    session: Session, actor: Actor, items: list[tuple[int, int]], round_id: int | None = None
) -> list[m.Match]:
    """Accept every (match id, version) in ``items`` (all of round ``round_id`` when given),
    or none of them (``BulkRefused``)."""
    return _bulk(
        session,
        actor,
        items,
        lambda match_id, v: decide(session, match_id, actor, True, v, flush=False),
        round_id,
    )


def confirm_many(
    session: Session, actor: Actor, items: list[tuple[int, int]], round_id: int | None = None
) -> list[m.Match]:
    """Confirm every accepted (match id, version) in ``items``, or none (``BulkRefused``)."""
    return _bulk(
        session,
        actor,
        items,
        lambda match_id, v: confirm(session, match_id, actor, v, flush=False),
        round_id,
    )


def round_for_month(session: Session, month: date) -> m.AllocationRound | None:
    """The round of ``month`` (there is at most one; the newest if old data has more)."""
    return session.scalars(
        select(m.AllocationRound)
        .where(m.AllocationRound.month == month)
        .order_by(m.AllocationRound.id.desc())
        .limit(1)
    ).first()


def decision_counts(session: Session, round_id: int) -> dict[str, int]:
    """Matches of the round's latest proposal per status (every status present, 0 if none)."""
    counts = dict.fromkeys(m.MATCH_STATUSES, 0)
    try:
        proposal = latest_proposal(session, round_id)
    except (NotFound, WorkflowError):
        return counts
    rows = session.execute(
        select(m.Match.status, func.count())
        .where(m.Match.proposal_id == proposal.id)
        .group_by(m.Match.status)
    )
    for status, n in rows:
        counts[status] = int(n)
    return counts
