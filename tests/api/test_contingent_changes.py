"""Contingent agreements change two-sidedly: a proposal waits for the other party and the
counted amount stays the old one until it is accepted; bad input names the field in Dutch and
writes nothing. Pages and API, SQLite and PostgreSQL."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from store import models as m
from tests.page_helpers import csrf_in, sign_in

GEMEENTE = "gemeente-0797@demo.stek.invalid"  # Heusden, GM0797
OTHER_GEMEENTE = "gemeente-0796@demo.stek.invalid"
CORPORATION = "corporatie-kempenpoort@demo.stek.invalid"
OTHER_CORPORATION = "corporatie-zandhorst@demo.stek.invalid"
KEY = {"corporation": "corp-kempenpoort", "gemeente_code": "GM0797", "year": "2026"}


@pytest.fixture
def client(db_url: str) -> TestClient:
    load_demo(db_url)
    return TestClient(create_app(Settings(database_url=db_url)))


def _as(client: TestClient, email: str) -> str:
    client.cookies.clear()
    sign_in(client, email)
    return csrf_in(client.get("/contingenten").text)


def _agreement(factory: sessionmaker[Session], type_code: str | None = None) -> m.Contingent:
    with factory() as s:
        stmt = (
            select(m.Contingent)
            .join(m.Organisation, m.Contingent.corporation_id == m.Organisation.id)
            .where(
                m.Organisation.code == "corp-kempenpoort",
                m.Contingent.gemeente_code == "GM0797",
                m.Contingent.year == 2026,
            )
        )
        if type_code is None:
            stmt = stmt.where(m.Contingent.type_id.is_(None))
        else:
            stmt = stmt.join(m.HousingType).where(m.HousingType.code == type_code)
        found = s.scalars(stmt).one()
        s.expunge(found)
        return found


def _count(factory: sessionmaker[Session], model: type[m.Base]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _actions(factory: sessionmaker[Session]) -> list[str]:
    with factory() as s:
        return list(
            s.scalars(
                select(m.AuditEntry.action)
                .where(m.AuditEntry.action.like("contingent.%"))
                .order_by(m.AuditEntry.id)
            )
        )


def _propose(client: TestClient, csrf: str, **fields: str) -> httpx.Response:
    return client.post(
        "/contingenten/voorstel",
        data={"csrf_token": csrf, **KEY, **fields},
        follow_redirects=False,
    )


def test_a_change_waits_for_the_other_party(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    before = _agreement(session_factory)
    assert 0 < before.used < before.amount  # the demo agreement is partly used
    new = before.amount + 6
    csrf = _as(client, GEMEENTE)
    done = _propose(client, csrf, amount=str(new), note="extra voor 2026")
    assert done.status_code == 303, done.text
    # proposed: the counted amount is still the old one, the page says it waits
    assert _agreement(session_factory).amount == before.amount
    page = client.get("/contingenten?jaar=2026").text
    assert "wacht op de andere partij" in page
    assert "Aanvaarden" not in page  # the proposing side cannot accept its own proposal
    with session_factory() as s:
        change = s.scalars(select(m.ContingentChange)).one()
        change_id = change.id
        assert (change.old_amount, change.new_amount) == (before.amount, new)
        assert change.status == "proposed"
    mine = client.post(
        f"/contingenten/voorstellen/{change_id}/aanvaarden", data={"csrf_token": csrf}
    )
    assert mine.status_code == 403 and "andere partij" in mine.text
    assert _agreement(session_factory).amount == before.amount
    # another corporation does not see it and cannot decide on it
    other = _as(client, OTHER_CORPORATION)
    assert "extra voor 2026" not in client.get("/contingenten").text
    stranger = client.post(
        f"/contingenten/voorstellen/{change_id}/aanvaarden", data={"csrf_token": other}
    )
    assert stranger.status_code == 404
    # the corporation accepts: now it counts
    csrf = _as(client, CORPORATION)
    page = client.get("/contingenten?jaar=2026").text
    assert "Aanvaarden" in page and "extra voor 2026" in page
    accepted = client.post(
        f"/contingenten/voorstellen/{change_id}/aanvaarden",
        data={"csrf_token": csrf, "terug_jaar": "2026"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    assert _agreement(session_factory).amount == new
    history = client.get("/contingenten?jaar=2026&gedaan=aanvaard").text
    assert "aanvaard" in history and "Medewerker gemeente Heusden" in history
    with session_factory() as s:
        decided = s.get(m.ContingentChange, change_id)
        assert decided is not None and decided.status == "accepted"
        assert decided.decided_by is not None and decided.decided_by.email == CORPORATION
        assert decided.decided_at is not None
    assert _actions(session_factory) == ["contingent.propose", "contingent.accept"]
    # decided once: a second decision is refused
    again = client.post(
        f"/contingenten/voorstellen/{change_id}/afwijzen", data={"csrf_token": csrf}
    )
    assert again.status_code == 409 and "al afgehandeld" in again.text


def test_rejected_and_withdrawn_proposals_leave_the_agreement(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    agreed = _agreement(session_factory).amount
    csrf = _as(client, CORPORATION)
    assert _propose(client, csrf, amount=str(agreed + 10)).status_code == 303
    # one waiting proposal per agreement
    twice = _propose(client, csrf, amount=str(agreed + 11))
    assert twice.status_code == 409 and "wacht al voorstel" in twice.text
    with session_factory() as s:
        first = s.scalars(select(m.ContingentChange.id)).one()
    csrf = _as(client, GEMEENTE)
    rejected = client.post(
        f"/contingenten/voorstellen/{first}/afwijzen",
        data={"csrf_token": csrf, "decision_note": "te veel"},
        follow_redirects=False,
    )
    assert rejected.status_code == 303
    assert _agreement(session_factory).amount == agreed
    assert _propose(client, csrf, amount=str(agreed + 2)).status_code == 303
    with session_factory() as s:
        second = max(s.scalars(select(m.ContingentChange.id)))
    withdrawn = client.post(
        f"/contingenten/voorstellen/{second}/intrekken",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    assert _agreement(session_factory).amount == agreed
    with session_factory() as s:
        statuses = [c.status for c in s.scalars(select(m.ContingentChange).order_by("id"))]
    assert statuses == ["rejected", "withdrawn"]
    assert _actions(session_factory) == [
        "contingent.propose",
        "contingent.reject",
        "contingent.propose",
        "contingent.withdraw",
    ]


def test_a_new_agreement_counts_once_accepted(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    before = _count(session_factory, m.Contingent)
    csrf = _as(client, GEMEENTE)
    made = client.post(
        "/contingenten/voorstel",
        data={"csrf_token": csrf, "corporation": "corp-zandhorst", "year": "2028", "amount": "3"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    assert _count(session_factory, m.Contingent) == before
    assert "nog geen" in client.get("/contingenten?jaar=2028").text
    with session_factory() as s:
        change_id = s.scalars(select(m.ContingentChange.id)).one()
    csrf = _as(client, OTHER_CORPORATION)  # corp-zandhorst
    done = client.post(
        f"/contingenten/voorstellen/{change_id}/aanvaarden",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _count(session_factory, m.Contingent) == before + 1


@pytest.mark.parametrize(
    ("fields", "field_message"),
    [
        ({"amount": "{below}"}, "aantal: mag niet lager zijn dan wat al gebruikt is ({used})"),
        ({"amount": "-3"}, "aantal: mag niet negatief zijn"),
        ({"amount": "veel"}, "aantal: vul een geheel getal in"),
        ({"amount": ""}, "aantal: dit veld is verplicht"),
        ({"amount": "{agreed}"}, "aantal: is al het afgesproken aantal ({agreed})"),
        ({"amount": "25", "year": "1999"}, "jaar: minstens 2000"),
        ({"amount": "25", "housing_type": "paleis"}, "woonvorm: onbekende woonvorm paleis"),
        ({"amount": "25", "corporation": "corp-nergens"}, "corporatie: onbekende corporatie"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    client: TestClient,
    session_factory: sessionmaker[Session],
    fields: dict[str, str],
    field_message: str,
) -> None:
    before = _agreement(session_factory)
    fill = {"below": before.used - 1, "used": before.used, "agreed": before.amount}
    csrf = _as(client, GEMEENTE)
    refused = _propose(client, csrf, **{k: v.format(**fill) for k, v in fields.items()})
    assert refused.status_code == 422, refused.text
    assert field_message.format(**fill) in refused.text
    assert "Niet opgeslagen" in refused.text
    assert _count(session_factory, m.ContingentChange) == 0
    assert _actions(session_factory) == []
    assert _agreement(session_factory).amount == before.amount


def test_forms_need_csrf_role_and_own_side(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _as(client, GEMEENTE)
    assert _propose(client, "vervalst", amount="25").status_code == 403
    # another gemeente's agreement: the form's gemeente is replaced by the user's own
    csrf = _as(client, OTHER_GEMEENTE)
    response = _propose(client, csrf, amount="25")
    assert response.status_code in (303, 422)
    with session_factory() as s:
        codes = list(s.scalars(select(m.ContingentChange.gemeente_code)))
    assert "GM0797" not in codes
    for email in ("planner1@demo.stek.invalid", "regisseur1@demo.stek.invalid"):
        client.cookies.clear()
        sign_in(client, email)
        page = client.get("/contingenten")
        if email.startswith("planner"):
            assert page.status_code == 200 and "/contingenten/voorstel" not in page.text
        else:
            assert page.status_code == 403
        csrf = csrf_in(client.get("/berichten").text)
        assert _propose(client, csrf, amount="25").status_code == 403


def _token(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_api_two_sided_change(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    agreed = _agreement(session_factory).amount
    gemeente, corporation = _token(client, GEMEENTE), _token(client, CORPORATION)
    body = {"corporation": "corp-kempenpoort", "gemeente_code": "GM0797", "year": 2026}
    low = client.post("/api/v1/contingents/changes", json={**body, "amount": 0}, headers=gemeente)
    assert low.status_code == 422
    assert low.json()["detail"][0]["msg"].startswith("aantal: mag niet lager")
    nan = client.post(
        "/api/v1/contingents/changes", json={**body, "amount": 1e308}, headers=gemeente
    )
    assert nan.status_code == 422 and nan.json()["detail"][0]["loc"] == ["body", "amount"]
    assert _count(session_factory, m.ContingentChange) == 0
    made = client.post(
        "/api/v1/contingents/changes", json={**body, "amount": agreed + 4}, headers=gemeente
    )
    assert made.status_code == 201, made.text
    change = made.json()
    assert change["status"] == "proposed" and change["old_amount"] == agreed
    listed = client.get("/api/v1/contingents?year=2026", headers=gemeente).json()
    assert [c["amount"] for c in listed if c["housing_type"] is None] == [agreed]
    own = client.post(
        f"/api/v1/contingents/changes/{change['id']}/accept", json={}, headers=gemeente
    )
    assert own.status_code == 403
    ok = client.post(
        f"/api/v1/contingents/changes/{change['id']}/accept", json={}, headers=corporation
    )
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    assert ok.json()["decided_by"] == CORPORATION
    listed = client.get("/api/v1/contingents?year=2026", headers=corporation).json()
    assert [
        c["amount"] for c in listed if c["gemeente_code"] == "GM0797" and not c["housing_type"]
    ] == [24]
    history = client.get("/api/v1/contingents/changes", headers=gemeente).json()
    assert [h["status"] for h in history] == ["accepted"]
    assert re.match(r"\d{4}-\d\d-\d\dT", history[0]["proposed_at"])


def _inbox(factory: sessionmaker[Session], email: str) -> list[m.Notification]:
    with factory() as s:
        return list(
            s.scalars(
                select(m.Notification)
                .join(m.User, m.Notification.user_id == m.User.id)
                .where(m.User.email == email)
                .order_by(m.Notification.id)
            )
        )


def test_the_other_party_hears_of_a_proposal_and_the_proposer_of_the_decision(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    before = _agreement(session_factory)
    csrf = _as(client, GEMEENTE)
    assert _propose(client, csrf, amount=str(before.amount + 2)).status_code == 303
    # the corporation's users are told; the gemeente (the proposer) and others are not
    told = _inbox(session_factory, CORPORATION)
    assert [n.kind for n in told] == ["contingent_proposed"]
    assert f"{before.amount} → {before.amount + 2}" in told[0].subject
    assert "Heusden" in told[0].subject and told[0].link == "/contingenten"
    assert "telt pas als jouw organisatie het accepteert" in told[0].body
    assert _inbox(session_factory, GEMEENTE) == []
    assert _inbox(session_factory, OTHER_CORPORATION) == []
    csrf = _as(client, CORPORATION)
    inbox = client.get("/berichten").text
    assert "Voorstel contingent" in inbox
    with session_factory() as s:
        change_id = s.scalars(select(m.ContingentChange.id)).one()
    client.post(
        f"/contingenten/voorstellen/{change_id}/afwijzen",
        data={"csrf_token": csrf, "toelichting": "niet dit jaar"},
    )
    back = _inbox(session_factory, GEMEENTE)
    assert [n.kind for n in back] == ["contingent_decided"]
    assert back[0].subject.endswith("is afgewezen")
