"""A full round from creation to final on SQLite and PostgreSQL, through the services."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import load_demo
from api.services import rounds as svc
from fixtures.generate import generate_region, write_region
from matcher.roundfile import round_from_data
from matcher.verifier import verify
from store import models as m
from store.db import unit_of_work

MONTH = date(2026, 12, 1)


@pytest.fixture
def loaded(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> sessionmaker[Session]:
    folder = tmp_path / "region"
    write_region(generate_region(40, 60, seed=3), folder)
    load_demo(db_url, folder)
    return session_factory


def _solve(factory: sessionmaker[Session], round_id: int) -> m.Proposal:
    proposal = svc.run_solve(factory, round_id, time_limit_s=10)
    assert proposal is not None
    return proposal


def _actor_for(session: Session, match: m.Match) -> svc.Actor:
    """A user allowed to decide this match: the owning corporation's user, else the gemeente."""
    option = match.option
    if option.corporation_id is not None:
        user = session.scalars(
            select(m.User).where(m.User.organisation_id == option.corporation_id)
        ).first()
    else:
        user = session.scalars(
            select(m.User)
            .join(m.Organisation)
            .where(m.Organisation.gemeente_code == option.gemeente_code, m.User.role == "gemeente")
        ).first()
    assert user is not None
    return svc.Actor(user.id, user.organisation_id, user.role)


def test_round_from_creation_to_final(loaded: sessionmaker[Session]) -> None:
    with unit_of_work(loaded) as s:
        rnd = svc.create_round(s, MONTH, seed=7, actor=svc.Actor.system())
        round_id = rnd.id
        svc.start_solve(s, round_id, svc.Actor.system())
    first = _solve(loaded, round_id)

    with unit_of_work(loaded) as s:
        rnd = s.get(m.AllocationRound, round_id)
        assert rnd is not None and rnd.status == "draft"
        proposal = svc.latest_proposal(s, round_id)
        matches = sorted(proposal.matches, key=lambda x: x.id)
        assert len(matches) >= 3
        problem = round_from_data(rnd.snapshot or {})
        assignment = {x.youth.code: x.option.code for x in matches}
        assert verify(problem, assignment) == []
        # not yet published: no decisions (a corporation is refused before the workflow, so a
        # draft's match ids on its options do not show; a gemeente reaches the workflow)
        with pytest.raises((svc.WorkflowError, svc.Forbidden), match="gepubliceerd"):
            svc.decide(s, matches[0].id, _actor_for(s, matches[0]), True, matches[0].version_id)
        svc.publish(s, round_id, svc.Actor.system())

    with unit_of_work(loaded) as s:
        matches = sorted(svc.latest_proposal(s, round_id).matches, key=lambda x: x.id)
        keep, drop = matches[0], matches[1]
        kept_pair = (keep.youth.code, keep.option.code)
        dropped_pair = (drop.youth.code, drop.option.code)
        svc.decide(s, keep.id, _actor_for(s, keep), True, keep.version_id)
        with pytest.raises(svc.WorkflowError, match="reden"):
            svc.decide(s, drop.id, _actor_for(s, drop), False, drop.version_id)
        svc.decide(s, drop.id, _actor_for(s, drop), False, drop.version_id, "jongere_weigert")
        # a stale version is refused, a second decision too
        with pytest.raises(svc.WorkflowError, match=r"gewijzigd|al beoordeeld"):
            svc.decide(s, keep.id, _actor_for(s, keep), False, 1, "anders", "x")

    with unit_of_work(loaded) as s:
        svc.start_resolve(s, round_id, svc.Actor.system())
    second = _solve(loaded, round_id)
    assert second.version == first.version + 1

    with unit_of_work(loaded) as s:
        proposal = svc.latest_proposal(s, round_id)
        pairs = {(x.youth.code, x.option.code): x for x in proposal.matches}
        assert kept_pair in pairs and pairs[kept_pair].status == "accepted"
        assert dropped_pair not in pairs
        svc.publish(s, round_id, svc.Actor.system())

    with unit_of_work(loaded) as s:
        proposal = svc.latest_proposal(s, round_id)
        for match in proposal.matches:
            if match.status == "proposed":
                svc.decide(s, match.id, svc.Actor.system(), True, match.version_id)
        s.flush()
        with pytest.raises(svc.WorkflowError, match="nog niet bevestigd"):
            svc.finalise(s, round_id, svc.Actor.system())
        for match in proposal.matches:
            svc.confirm(s, match.id, svc.Actor.system(), match.version_id)
        used_before = s.scalar(select(func.sum(m.Contingent.used)))
        placed = len(proposal.matches)
        svc.finalise(s, round_id, svc.Actor.system())

    with loaded() as s:
        rnd = s.get(m.AllocationRound, round_id)
        assert rnd is not None and rnd.status == "final"
        assert (
            s.scalar(select(func.count()).select_from(m.Youth).where(m.Youth.status == "placed"))
            == placed
        )
        used_after = s.scalar(select(func.sum(m.Contingent.used)))
        assert used_after is not None and used_before is not None
        assert 0 < used_after - used_before <= placed
        actions = set(s.scalars(select(m.AuditEntry.action)))
    assert {
        "round.create",
        "round.solve",
        "round.solved",
        "round.publish",
        "match.accept",
        "match.reject",
        "round.resolve",
        "match.confirm",
        "round.finalise",
        "proposal.create",
    } <= actions
    # the first version stays readable
    with loaded() as s:
        versions = s.scalars(
            select(m.Proposal.version).where(m.Proposal.round_id == round_id)
        ).all()
    assert sorted(versions) == [1, 2]


def test_crashed_solve_leaves_failed_round_with_inputs_and_retry_reproduces(
    loaded: sessionmaker[Session],
) -> None:
    with unit_of_work(loaded) as s:
        rnd = svc.create_round(s, MONTH, seed=3, actor=None)
        round_id, snapshot = rnd.id, rnd.snapshot
        broken = dict(snapshot or {})
        broken["youths"] = "kapot"
        rnd.snapshot = broken
        svc.start_solve(s, round_id, None)
    assert svc.run_solve(loaded, round_id) is None
    with unit_of_work(loaded) as s:
        rnd = s.get(m.AllocationRound, round_id)
        assert rnd is not None and rnd.status == "failed" and rnd.error
        assert rnd.snapshot == broken
        rnd.snapshot = snapshot  # repaired inputs
        svc.start_solve(s, round_id, None)
    one = _solve(loaded, round_id)
    with unit_of_work(loaded) as s:
        other = svc.create_round(s, MONTH, seed=3, actor=None, replace_draft=True)
        svc.start_solve(s, other.id, None)
        other_id = other.id
    two = _solve(loaded, other_id)
    assert one.result == two.result


def test_other_corporation_may_not_decide(loaded: sessionmaker[Session]) -> None:
    with unit_of_work(loaded) as s:
        round_id = svc.create_round(s, MONTH, seed=1, actor=None).id
        svc.start_solve(s, round_id, None)
    _solve(loaded, round_id)
    with unit_of_work(loaded) as s:
        svc.publish(s, round_id, None)
        match = next(x for x in svc.latest_proposal(s, round_id).matches if x.option.corporation_id)
        stranger = s.scalars(
            select(m.User).where(
                m.User.role == "corporatie", m.User.organisation_id != match.option.corporation_id
            )
        ).first()
        assert stranger is not None
        with pytest.raises(svc.Forbidden):
            svc.decide(
                s,
                match.id,
                svc.Actor(stranger.id, stranger.organisation_id, "corporatie"),
                True,
                match.version_id,
            )
