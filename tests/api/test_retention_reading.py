"""Reading a round after retention pruned it: the outcome stays, explanations say why not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth import SESSION_COOKIE, issue_token
from api.services import rounds as svc
from api.settings import Settings
from store import models as m
from store.db import unit_of_work
from store.retention import RetentionTerms, run_retention
from tests.page_helpers import published_round


def test_pruned_round_keeps_its_outcome_and_explanations_say_details_were_removed(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    round_id = published_round(db_url, tmp_path / "region", session_factory)
    admin = svc.Actor.system()
    with unit_of_work(session_factory) as s:
        proposal = svc.latest_proposal(s, round_id)
        for match in proposal.matches:
            svc.decide(s, match.id, admin, True, match.version_id)
        s.flush()
        for match in proposal.matches:
            svc.confirm(s, match.id, admin, match.version_id)
        svc.finalise(s, round_id, admin)
    client = TestClient(create_app(Settings(database_url=db_url)), follow_redirects=False)
    with unit_of_work(session_factory) as s:
        user = s.scalars(select(m.User).where(m.User.role == "admin")).first()
        assert user is not None
        api_token, session_token = issue_token(s, user, "api"), issue_token(s, user, "session")
        match_id = svc.latest_proposal(s, round_id).matches[0].id
    bearer = {"Authorization": f"Bearer {api_token}"}
    client.cookies.set(SESSION_COOKIE, session_token)
    before = client.get(f"/beoordelen/matches/{match_id}/uitleg")
    assert before.status_code == 200 and "De score in woorden" in before.text
    assert client.get(f"/api/v1/rounds/{round_id}/explanations", headers=bearer).status_code == 200
    round_before = client.get(f"/api/v1/rounds/{round_id}", headers=bearer).json()

    with unit_of_work(session_factory) as s:
        far = 100_000  # only the round's term is due (the tokens of this test stay)
        terms = RetentionTerms(
            365, youths_left=far, login_attempts=far, sessions=far, audit_entries=far
        )
        report = run_retention(s, terms, now=datetime(2028, 3, 1, tzinfo=UTC))
    assert report.counts["round_snapshots"] == 1

    assert client.get(f"/api/v1/rounds/{round_id}", headers=bearer).json() == round_before
    for what in ("explanations", "fairness"):
        answer = client.get(f"/api/v1/rounds/{round_id}/{what}", headers=bearer)
        assert answer.status_code == 409, (what, answer.text)
        assert "persoonsgegevens van deze ronde zijn verwijderd" in answer.json()["detail"]
    page = client.get(f"/beoordelen/matches/{match_id}/uitleg")
    assert page.status_code == 200
    assert "Uitleg niet meer beschikbaar" in page.text and "bewaartermijn" in page.text
