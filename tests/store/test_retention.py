"""Retention (issue 17 item 1): terms, dry run, what goes and what stays; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.services import rounds as svc
from api.settings import Settings, settings_problems
from matcher.roundfile import round_from_data
from store import models as m
from store.db import unit_of_work
from store.retention import RetentionTerms, details_removed, run_retention
from tests.page_helpers import published_round

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)  # years after the test round of December 2026
TERMS = RetentionTerms(
    round_snapshots=365, youths_left=730, login_attempts=30, sessions=30, audit_entries=1000
)


def _finalise(factory: sessionmaker[Session], round_id: int) -> None:
    admin = svc.Actor.system()
    with unit_of_work(factory) as s:
        proposal = svc.latest_proposal(s, round_id)
        for match in proposal.matches:
            svc.decide(s, match.id, admin, True, match.version_id)
        s.flush()
        for match in proposal.matches:
            svc.confirm(s, match.id, admin, match.version_id)
        svc.finalise(s, round_id, admin)


def _snapshot(factory: sessionmaker[Session], round_id: int) -> dict:
    with factory() as s:
        rnd = s.get(m.AllocationRound, round_id)
        assert rnd is not None and rnd.snapshot is not None
        return rnd.snapshot


def _run(factory: sessionmaker[Session], dry_run: bool = False, now: datetime = NOW) -> dict:
    with unit_of_work(factory) as s:
        return run_retention(s, TERMS, dry_run=dry_run, now=now).counts


def test_open_round_is_never_touched_and_a_final_one_keeps_its_outcome(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    round_id = published_round(db_url, tmp_path / "region", session_factory)
    before = _snapshot(session_factory, round_id)
    assert _run(session_factory)["round_snapshots"] == 0  # published: still open
    assert _snapshot(session_factory, round_id) == before
    with session_factory() as s:
        in_round = {x.youth_id for x in svc.latest_proposal(s, round_id).matches}
        anchors = s.scalar(select(func.count()).select_from(m.YouthAnchor))
    assert in_round and anchors

    _finalise(session_factory, round_id)
    with session_factory() as s:
        proposal = svc.latest_proposal(s, round_id)
        outcome = sorted((x.youth.code, x.option.code, x.status) for x in proposal.matches)
        figures = (proposal.objective, proposal.bound, proposal.gap, proposal.result)
        placed = s.scalars(select(m.Youth).where(m.Youth.status == "placed")).all()
        assert {y.id for y in placed} == in_round
        placed_income = {y.code: y.income for y in placed}

    dry = _run(session_factory, dry_run=True)
    assert dry["round_snapshots"] == 1 and dry["youths_left"] == len(in_round)
    assert _snapshot(session_factory, round_id) == before  # a dry run changes nothing

    # a year after the round but not two: the snapshot goes, the placed young people stay
    assert _run(session_factory, now=datetime(2028, 1, 15, tzinfo=UTC))["youths_left"] == 0
    pruned = _snapshot(session_factory, round_id)
    assert [set(y) for y in pruned["youths"]] == [{"code", "gemeente_code"}] * len(before["youths"])
    assert [y["code"] for y in pruned["youths"]] == [y["code"] for y in before["youths"]]
    assert {"birth_date", "income", "anchors"} <= set(pruned["retention"]["fields"])
    assert pruned["options"] == before["options"]
    message = details_removed(pruned)
    assert message and "verwijderd" in message and "2028-01-15" in message
    assert details_removed(before) is None
    with pytest.raises(Exception):  # noqa: B017 - the matcher refuses an incomplete round file
        round_from_data(pruned)
    with session_factory() as s:
        proposal = svc.latest_proposal(s, round_id)
        assert sorted((x.youth.code, x.option.code, x.status) for x in proposal.matches) == outcome
        assert (proposal.objective, proposal.bound, proposal.gap, proposal.result) == figures
        assert {
            y.code: y.income for y in s.scalars(select(m.Youth).where(m.Youth.status == "placed"))
        } == placed_income

    # 2030: the placed young people are pseudonymised; someone still waiting is not
    counts = _run(session_factory)
    assert counts["round_snapshots"] == 0 and counts["youths_left"] == len(in_round)
    with session_factory() as s:
        for youth in s.scalars(select(m.Youth).where(m.Youth.id.in_(in_round))):
            assert youth.income == 0 and youth.support_provider is None
            assert (youth.birth_date.month, youth.birth_date.day) == (1, 1)
            assert not youth.anchors and not youth.no_go_areas and not youth.preferred_areas
        waiting = s.scalars(select(m.Youth).where(m.Youth.status == "waiting")).first()
        assert waiting is not None and waiting.accepted_types
        actions = list(s.scalars(select(m.AuditEntry.action).order_by(m.AuditEntry.id)))
    assert actions.count("retention.run") == 3  # three real runs; the dry runs wrote nothing
    assert set(_run(session_factory, dry_run=True).values()) == {0}  # nothing left to do


def test_attempts_sessions_and_audit_entries_past_their_term_go(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        org = m.Organisation(code="R", name="R", kind="regio")
        s.add(org)
        s.flush()
        user = m.User(email="a@x.invalid", name="A", role="admin", organisation_id=org.id)
        s.add(user)
        s.flush()
        for days in (40, 10):
            at = NOW - timedelta(days=days)
            s.add(
                m.LoginAttempt(email=f"{days}@x.invalid", client="10.0.0.1", at=at, success=False)
            )
            s.add(
                m.AuthToken(
                    token_hash=f"{days:064d}",
                    kind="session",
                    user_id=user.id,
                    created_at=at - timedelta(hours=8),
                    expires_at=at,
                )
            )
        for minutes in (-5, 5):  # a half-done sign-in, expired and not yet expired
            s.add(
                m.SignInChallenge(
                    token_hash=f"{minutes + 10:064d}",
                    user_id=user.id,
                    pending_secret="JBSWY3DPEHPK3PXP",
                    created_at=NOW - timedelta(minutes=10),
                    expires_at=NOW + timedelta(minutes=minutes),
                )
            )
        for days in (1500, 1001, 999):
            s.add(m.AuditEntry(at=NOW - timedelta(days=days), action=f"old.{days}", entity="x"))
    counts = _run(session_factory, dry_run=True)
    assert counts == {
        "round_snapshots": 0,
        "youths_left": 0,
        "login_attempts": 1,
        "sessions": 2,
        "audit_entries": 2,
    }
    assert _run(session_factory) == counts
    with session_factory() as s:
        assert list(s.scalars(select(m.LoginAttempt.email))) == ["10@x.invalid"]
        assert s.scalar(select(func.count()).select_from(m.AuthToken)) == 1
        left = s.scalars(select(m.SignInChallenge.expires_at)).all()
        assert len(left) == 1 and left[0].replace(tzinfo=UTC) > NOW
        entries = s.execute(
            select(m.AuditEntry.action, m.AuditEntry.detail).order_by(m.AuditEntry.id)
        ).all()
    assert [a for a, _ in entries] == ["old.999", "audit.purge", "retention.run"]
    assert entries[1][1]["entries"] == 2
    assert entries[2][1]["counts"] == counts


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "", "30d"])
def test_a_bad_term_stops_start_up_with_a_clear_message(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEK_RETENTION_SESSIONS_DAYS", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = settings_problems(caught.value)
    assert "STEK_RETENTION_SESSIONS_DAYS" in message and "heel aantal dagen" in message
    monkeypatch.setenv("STEK_RETENTION_SESSIONS_DAYS", "0")
    assert Settings().retention_sessions_days == 0


def test_cli_dry_run_lists_counts_per_kind_and_refuses_a_bad_term(
    db_url: str, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli

    with session_factory.begin() as s:
        old = datetime.now(UTC) - timedelta(days=400)
        s.add(m.LoginAttempt(email="o@x.invalid", client="10.0.0.1", at=old, success=False))
    runner = CliRunner()
    done = runner.invoke(cli, ["retention", "run", "--dry-run", "--database-url", db_url])
    assert done.exit_code == 0, done.output
    assert "proefdraai" in done.output and "inlogpogingen" in done.output
    row = next(line for line in done.output.splitlines() if "inlogpogingen" in line)
    assert row.split()[-2] == "1"  # the count column
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(m.LoginAttempt)) == 1
        assert s.scalar(select(func.count()).select_from(m.AuditEntry)) == 0
    monkeypatch.setenv("STEK_RETENTION_LOGIN_ATTEMPTS_DAYS", "-5")
    bad = runner.invoke(cli, ["retention", "run", "--database-url", db_url])
    assert bad.exit_code == 2
    assert "STEK_RETENTION_LOGIN_ATTEMPTS_DAYS" in bad.output
    monkeypatch.delenv("STEK_RETENTION_LOGIN_ATTEMPTS_DAYS")
    done = runner.invoke(cli, ["retention", "run", "--database-url", db_url])
    assert done.exit_code == 0, done.output
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(m.LoginAttempt)) == 0


def test_a_term_of_zero_days_keeps_the_attempts_the_back_off_reads(
    session_factory: sessionmaker[Session],
) -> None:
    """Attempts younger than the back-off's 24-hour window stay, whatever the term (a term of
    0 days would otherwise reset every sign-in back-off at each run)."""
    with session_factory.begin() as s:
        for hours in (1, 23, 25, 48):
            at = NOW - timedelta(hours=hours)
            s.add(
                m.LoginAttempt(email=f"{hours}@x.invalid", client="10.0.0.1", at=at, success=False)
            )
    zero = RetentionTerms(
        round_snapshots=365, youths_left=730, login_attempts=0, sessions=30, audit_entries=1000
    )
    with unit_of_work(session_factory) as s:
        report = run_retention(s, zero, now=NOW)
    assert report.counts["login_attempts"] == 2
    with session_factory() as s:
        left = sorted(s.scalars(select(m.LoginAttempt.email)))
    assert left == ["1@x.invalid", "23@x.invalid"]
