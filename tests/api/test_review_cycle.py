"""Review at scale through the services: undo, bulk decisions (all or nothing), one round per
month, and the month carried over into the next round. SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import load_demo
from api.services import rounds as svc
from fixtures.generate import generate_region, write_region
from store import models as m
from store.db import unit_of_work
from tests.page_helpers import published_round

MONTH = date(2026, 12, 1)
ADMIN = svc.Actor.system()


@pytest.fixture
def published(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> tuple[sessionmaker[Session], int]:
    """A small region with a solved and published December round."""
    round_id = published_round(db_url, tmp_path / "region", session_factory)
    return session_factory, round_id


def _matches(s: Session, round_id: int) -> list[m.Match]:
    return sorted(svc.latest_proposal(s, round_id).matches, key=lambda x: x.id)


def _corporation_actor(s: Session, organisation_id: int) -> svc.Actor:
    user = s.scalars(select(m.User).where(m.User.organisation_id == organisation_id)).first()
    assert user is not None
    return svc.Actor(user.id, user.organisation_id, user.role)


def test_second_round_for_a_month_is_refused_with_the_existing_round_named(
    published: tuple[sessionmaker[Session], int],
) -> None:
    factory, round_id = published
    with factory() as s:
        with pytest.raises(svc.WorkflowError, match=rf"december 2026 bestaat al ronde {round_id}"):
            svc.create_round(s, date(2026, 12, 15), seed=2, actor=ADMIN)
        # a published round cannot be replaced either
        with pytest.raises(svc.WorkflowError, match="werk in die ronde verder"):
            svc.create_round(s, MONTH, seed=2, actor=ADMIN, replace_draft=True)
        s.rollback()
        assert s.scalar(select(func.count()).select_from(m.AllocationRound)) == 1


def test_unpublished_draft_may_be_replaced_explicitly(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    folder = tmp_path / "region"
    write_region(generate_region(30, 40, seed=5), folder)
    load_demo(db_url, folder)
    with unit_of_work(session_factory) as s:
        first = svc.create_round(s, MONTH, seed=1, actor=ADMIN).id
        svc.start_solve(s, first, ADMIN)
    assert svc.run_solve(session_factory, first, time_limit_s=10) is not None
    with session_factory() as s, pytest.raises(svc.WorkflowError, match="concept vervangen"):
        svc.create_round(s, MONTH, seed=2, actor=ADMIN)
    with unit_of_work(session_factory) as s:
        second = svc.create_round(s, MONTH, seed=2, actor=ADMIN, replace_draft=True).id
    with session_factory() as s:
        # (SQLite may give the new round the freed id: compare the rounds, not only ids)
        rounds = s.scalars(select(m.AllocationRound)).all()
        assert [(r.id, r.seed, r.status) for r in rounds] == [(second, 2, "created")]
        assert s.scalar(select(func.count()).select_from(m.Match)) == 0
        replaced = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "round.replace")
        ).one()
        assert replaced.entity_id == str(first)


def test_undo_takes_decisions_back_step_by_step(
    published: tuple[sessionmaker[Session], int],
) -> None:
    factory, round_id = published
    with unit_of_work(factory) as s:
        first = _matches(s, round_id)[0]
        match_id = first.id
        svc.decide(s, match_id, ADMIN, False, first.version_id, "jongere_weigert", "te ver")
    with unit_of_work(factory) as s:
        rejected = s.get(m.Match, match_id)
        assert rejected is not None
        svc.undo(s, match_id, ADMIN, rejected.version_id)
    with unit_of_work(factory) as s:
        match = s.get(m.Match, match_id)
        assert match is not None and match.status == "proposed"
        assert match.reason_code is None and match.reason_text is None
        assert match.decided_by_id is None
        with pytest.raises(svc.WorkflowError, match="niets terug te draaien"):
            svc.undo(s, match_id, ADMIN, match.version_id)
        svc.decide(s, match_id, ADMIN, True, match.version_id)
        s.flush()
        svc.confirm(s, match_id, ADMIN, match.version_id)
        s.flush()
        svc.undo(s, match_id, ADMIN, match.version_id)  # confirmation back to accepted
        s.flush()
        assert match.status == "accepted" and match.confirmed_at is None
        # a stale version is refused
        with pytest.raises(svc.WorkflowError, match="gewijzigd"):
            svc.undo(s, match_id, ADMIN, match.version_id - 1)
    with factory() as s:
        undos = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "match.undo")).all()
        assert [(u.detail or {}).get("from") for u in undos] == ["rejected", "confirmed"]


def test_undo_needs_the_right_to_decide_and_an_open_round(
    published: tuple[sessionmaker[Session], int],
) -> None:
    factory, round_id = published
    with unit_of_work(factory) as s:
        match = next(x for x in _matches(s, round_id) if x.option.corporation_id)
        owner = _corporation_actor(s, match.option.corporation_id or 0)
        svc.decide(s, match.id, owner, True, match.version_id)
        match_id, version = match.id, match.version_id
        other_org = s.scalars(
            select(m.Organisation.id).where(
                m.Organisation.kind == "corporatie", m.Organisation.id != owner.organisation_id
            )
        ).first()
        assert other_org is not None
        stranger = _corporation_actor(s, other_org)
    with factory() as s, pytest.raises(svc.Forbidden):
        svc.undo(s, match_id, stranger, version + 1)
    with unit_of_work(factory) as s:
        rnd = s.get(m.AllocationRound, round_id)
        assert rnd is not None
        rnd.status = "final"  # a finished round is read-only
    with factory() as s, pytest.raises(svc.WorkflowError, match="gepubliceerd"):
        svc.undo(s, match_id, owner, version + 1)


def test_bulk_accept_is_all_or_nothing_and_names_each_refused_match(
    published: tuple[sessionmaker[Session], int],
) -> None:
    factory, round_id = published
    with factory() as s:
        matches = _matches(s, round_id)
        items = [(x.id, x.version_id) for x in matches[:4]]
        stale = (matches[4].id, matches[4].version_id + 7)
    with factory() as s:
        with pytest.raises(svc.BulkRefused) as refused:
            svc.decide_many(s, ADMIN, [*items, stale])
        assert set(refused.value.problems) == {stale[0]}
        assert "gewijzigd" in refused.value.problems[stale[0]]
        s.rollback()
    with factory() as s:
        assert {x.status for x in _matches(s, round_id)} == {"proposed"}
    with unit_of_work(factory) as s:
        done = svc.decide_many(s, ADMIN, items)
        assert [x.id for x in done] == [i for i, _ in items]
    with unit_of_work(factory) as s:
        accepted = [x for x in _matches(s, round_id) if x.status == "accepted"]
        assert sorted(x.id for x in accepted) == sorted(i for i, _ in items)
        confirmed = svc.confirm_many(s, ADMIN, [(x.id, x.version_id) for x in accepted])
        assert {x.status for x in confirmed} == {"confirmed"}
    with factory() as s:
        with pytest.raises(svc.WorkflowError, match="kies eerst"):
            svc.decide_many(s, ADMIN, [])
        with pytest.raises(svc.WorkflowError, match="twee keer"):
            svc.decide_many(s, ADMIN, [items[0], items[0]])


def test_bulk_accept_meeting_a_change_after_its_read_applies_none(
    published: tuple[sessionmaker[Session], int],
) -> None:
    """A match decided by someone else between the bulk action's read and its one flush: the
    version check of the flush refuses the whole action, nothing of it is stored."""
    factory, round_id = published
    with factory() as s:
        matches = _matches(s, round_id)[:5]
        items = [(x.id, x.version_id) for x in matches]  # loaded: the page's versions
        taken = matches[2].id
        with unit_of_work(factory) as other:  # meanwhile another reviewer accepts one
            svc.decide(other, matches[2].id, ADMIN, True, matches[2].version_id)
        with pytest.raises(svc.WorkflowError, match="net door iemand anders gewijzigd"):
            svc.decide_many(s, ADMIN, items)
        s.rollback()
    with factory() as s:
        statuses = {x.id: x.status for x in _matches(s, round_id)[:5]}
        assert statuses == {i: ("accepted" if i == taken else "proposed") for i, _ in items}


def test_bulk_accept_refuses_matches_of_another_corporation(
    published: tuple[sessionmaker[Session], int],
) -> None:
    factory, round_id = published
    with factory() as s:
        matches = [x for x in _matches(s, round_id) if x.option.corporation_id]
        mine = matches[0].option.corporation_id or 0
        owner = _corporation_actor(s, mine)
        foreign = [x for x in matches if x.option.corporation_id != mine]
        assert foreign, "the demo region has several corporations"
        items = [(matches[0].id, matches[0].version_id), (foreign[0].id, foreign[0].version_id)]
    with factory() as s:
        with pytest.raises(svc.BulkRefused) as refused:
            svc.decide_many(s, owner, items)
        assert set(refused.value.problems) == {foreign[0].id}
        s.rollback()
    with factory() as s:
        assert {x.status for x in _matches(s, round_id)} == {"proposed"}


def test_decision_counts_cover_every_status(
    published: tuple[sessionmaker[Session], int],
) -> None:
    factory, round_id = published
    with unit_of_work(factory) as s:
        matches = _matches(s, round_id)
        svc.decide(s, matches[0].id, ADMIN, True, matches[0].version_id)
        svc.decide(s, matches[1].id, ADMIN, False, matches[1].version_id, "zorg_niet_rond")
    with factory() as s:
        counts = svc.decision_counts(s, round_id)
    assert counts == {
        "proposed": len(matches) - 2,
        "accepted": 1,
        "rejected": 1,
        "confirmed": 0,
    }


def test_finalised_december_carries_over_into_january(
    published: tuple[sessionmaker[Session], int],
) -> None:
    """Two months: December's placements leave the waiting list (with their move-in date),
    fill their places and book contingent use; January's round starts from that state, and the
    month history shows both."""
    from api.services.history import month_history

    factory, december = published
    with unit_of_work(factory) as s:
        for x in _matches(s, december):
            svc.decide(s, x.id, ADMIN, True, x.version_id)
        s.flush()
        for x in _matches(s, december):
            svc.confirm(s, x.id, ADMIN, x.version_id)
        s.flush()
        placed = {x.youth.code: x.option.code for x in _matches(s, december)}
        capacity_before = {x.option.code: x.option.capacity for x in _matches(s, december)}
        used_before = s.scalar(select(func.sum(m.Contingent.used))) or 0
        svc.finalise(s, december, ADMIN)
    assert placed
    with factory() as s:
        youths = {y.code: y for y in s.scalars(select(m.Youth))}
        assert {youths[c].status for c in placed} == {"placed"}
        assert {youths[c].placed_on for c in placed} == {MONTH}
        used_after = s.scalar(select(func.sum(m.Contingent.used))) or 0
        assert used_after > used_before
        taken = Counter(placed.values())
        for code, n in taken.items():
            option = s.scalars(select(m.HousingOption).where(m.HousingOption.code == code)).one()
            assert option.capacity == capacity_before[code] - n
            assert (option.status == "placed") == (option.capacity == 0)
        waiting = {y.code for y in youths.values() if y.status == "waiting"}
    january = date(2027, 1, 1)
    with unit_of_work(factory) as s:
        round_id = svc.create_round(s, january, seed=1, actor=ADMIN).id
        snapshot = s.get(m.AllocationRound, round_id)
        assert snapshot is not None and snapshot.snapshot is not None
        in_january = {y["code"] for y in snapshot.snapshot["youths"]}
        offered = {o["code"]: o["capacity"] for o in snapshot.snapshot["options"]}
    assert in_january.isdisjoint(placed)  # placed young people left the waiting list
    assert in_january <= waiting
    for code, n in taken.items():  # full places are not offered; partly filled ones have less
        assert offered.get(code, 0) == capacity_before[code] - n
    with factory() as s:
        history = month_history(s, ADMIN)
    assert [(r.month, r.status) for r in history][:1] == [(MONTH, "final")]
    december_row = history[0]
    assert december_row.housed == len(placed)
    assert december_row.waiting == (december_row.youths or 0) - len(placed)


def test_a_shared_house_with_a_rejection_is_composed_anew() -> None:
    """Taking someone out of a shared house can break its rules for the others (too few
    persons, a companion gone): its accepted pairs are decided again, not fixed."""
    snapshot = {
        "options": [
            {"code": "A", "shared_house_id": "H"},
            {"code": "B", "shared_house_id": "H"},
            {"code": "C"},
            {"code": "D", "shared_house_id": "K"},
        ],
        "youths": [],
    }
    fixed = {("y1", "A"), ("y3", "C"), ("y4", "D")}
    assert svc.recomposed_houses(snapshot, fixed, {("y2", "B")}) == {("y1", "A")}
    assert svc.recomposed_houses(snapshot, fixed, {("y2", "C")}) == {("y3", "C")}
    assert svc.recomposed_houses(snapshot, fixed, set()) == set()


def test_resolve_releases_the_house_and_the_round_solves(
    published: tuple[sessionmaker[Session], int],
) -> None:
    """In a shared house with two matches, reject one and accept the other: the re-solve
    decides the house again (it used to fail with 'vaste koppelingen ... huisregels')."""
    factory, round_id = published
    with unit_of_work(factory) as s:
        matches = _matches(s, round_id)
        by_house: dict[str, list[m.Match]] = {}
        for x in matches:
            by_house.setdefault(x.option.shared_house_id or x.option.code, []).append(x)
        shared = next((xs for xs in by_house.values() if len(xs) >= 2), None)
        if shared is None:
            pytest.skip("no shared house with two matches in this region")
        stay, leave = shared[0], shared[1]
        svc.decide(s, stay.id, ADMIN, True, stay.version_id)
        svc.decide(s, leave.id, ADMIN, False, leave.version_id, "samenstelling_huis")
        s.flush()
        assert svc.release_count(s, round_id) >= 1
        svc.start_resolve(s, round_id, ADMIN)
        pair = (stay.youth.code, stay.option.code)
        rnd = s.get(m.AllocationRound, round_id)
        assert rnd is not None
        fixed = {(p["youth"], p["option"]) for p in (rnd.snapshot or {})["fixed_pairs"]}
        assert pair not in fixed
    assert svc.run_solve(factory, round_id, time_limit_s=10) is not None
    with factory() as s:
        released = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "round.release")
        ).one()
        assert f"{pair[0]}->{pair[1]}" in (released.detail or {})["pairs"]


def test_failed_resolve_goes_back_to_the_last_published_version(
    published: tuple[sessionmaker[Session], int],
) -> None:
    factory, round_id = published
    with unit_of_work(factory) as s:
        first = _matches(s, round_id)[0]
        svc.decide(s, first.id, ADMIN, True, first.version_id)
        svc.start_resolve(s, round_id, ADMIN)
        rnd = s.get(m.AllocationRound, round_id)
        assert rnd is not None
        broken = dict(rnd.snapshot or {})
        broken["youths"] = "kapot"
        rnd.snapshot = broken
    assert svc.run_solve(factory, round_id, time_limit_s=10) is None
    with unit_of_work(factory) as s:
        rnd = s.get(m.AllocationRound, round_id)
        assert rnd is not None and rnd.status == "failed"
        svc.publish(s, round_id, ADMIN)
    with factory() as s:
        rnd = s.get(m.AllocationRound, round_id)
        assert rnd is not None and rnd.status == "published"
        assert [p.version for p in rnd.proposals] == [1]
        assert {x.status for x in _matches(s, round_id) if x.id == first.id} == {"accepted"}


def test_a_round_that_failed_before_any_proposal_cannot_be_published(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    folder = tmp_path / "region"
    write_region(generate_region(20, 30, seed=5), folder)
    load_demo(db_url, folder)
    with unit_of_work(session_factory) as s:
        rnd = svc.create_round(s, MONTH, seed=1, actor=ADMIN)
        rnd.snapshot = {**(rnd.snapshot or {}), "youths": "kapot"}
        svc.start_solve(s, rnd.id, ADMIN)
        round_id = rnd.id
    assert svc.run_solve(session_factory, round_id, time_limit_s=10) is None
    with session_factory() as s, pytest.raises(svc.WorkflowError, match="start het opnieuw"):
        svc.publish(s, round_id, ADMIN)
