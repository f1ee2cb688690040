"""The review page without JavaScript (plain forms, post/redirect/get) and its fetch answers:
filters survive every action, bulk actions are all or nothing, rounds are finished in the
pages, bad input gets a Dutch message and writes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.services import rounds as svc
from api.settings import Settings
from store import models as m
from store.db import unit_of_work
from tests.page_helpers import csrf_in, published_round, sign_in

MONTH = date(2026, 12, 1)
ADMIN = svc.Actor.system()


@pytest.fixture
def published(db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]) -> int:
    return published_round(db_url, tmp_path / "region", session_factory)


@pytest.fixture
def client(db_url: str, published: int) -> TestClient:
    return TestClient(create_app(Settings(database_url=db_url)))


def _sign_in(client: TestClient, email: str) -> str:
    """Sign in; returns the session's CSRF token (from the next page's forms)."""
    client.cookies.clear()
    sign_in(client, email)
    return csrf_in(client.get("/beoordelen?toon=alle").text)


def _admin_email(factory: sessionmaker[Session]) -> str:
    with factory() as s:
        email = s.scalars(select(m.User.email).where(m.User.role == "admin")).first()
    assert email
    return email


def _statuses(factory: sessionmaker[Session], round_id: int) -> dict[int, str]:
    with factory() as s:
        return {x.id: x.status for x in svc.latest_proposal(s, round_id).matches}


def _matches(factory: sessionmaker[Session], round_id: int) -> list[tuple[int, int, str]]:
    with factory() as s:
        found = sorted(svc.latest_proposal(s, round_id).matches, key=lambda x: x.id)
        return [(x.id, x.version_id, x.youth.code) for x in found]


def test_plain_form_decision_redirects_back_to_the_same_filters_and_row(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    csrf = _sign_in(client, _admin_email(session_factory))
    match_id, version, youth = _matches(session_factory, published)[0]
    terug = f"ronde={published}&toon=alle&q={youth}&sort=jongere&evil=1"
    done = client.post(
        f"/beoordelen/matches/{match_id}",
        data={"csrf_token": csrf, "decision": "accept", "version": version, "terug": terug},
        follow_redirects=False,
    )
    assert done.status_code == 303
    target = urlparse(done.headers["location"])
    assert target.path == "/beoordelen" and target.fragment == f"match-{match_id}"
    query = parse_qs(target.query)
    assert query["q"] == [youth] and query["sort"] == ["jongere"] and query["toon"] == ["alle"]
    assert "evil" not in query  # only the list's own parameters come back
    assert "geaccepteerd" in query["melding"][0]
    assert _statuses(session_factory, published)[match_id] == "accepted"


def test_fetch_decision_answers_with_the_row_and_summary(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    csrf = _sign_in(client, _admin_email(session_factory))
    match_id, version, _ = _matches(session_factory, published)[0]
    headers = {"X-Stek-Fetch": "1"}
    refused = client.post(
        f"/beoordelen/matches/{match_id}",
        data={"csrf_token": csrf, "decision": "reject", "version": version},
        headers=headers,
    )
    assert refused.status_code == 409 and "kies een reden" in refused.json()["error"]
    assert _statuses(session_factory, published)[match_id] == "proposed"
    done = client.post(
        f"/beoordelen/matches/{match_id}",
        data={
            "csrf_token": csrf,
            "decision": "reject",
            "version": version,
            "reason_code": "jongere_weigert",
            "terug": f"ronde={published}",
        },
        headers=headers,
    )
    assert done.status_code == 200
    body = done.json()
    assert f'id="match-{match_id}"' in body["row"] and "afgewezen" in body["row"]
    assert "Ongedaan maken" in body["row"]  # undo offered at once
    assert 'id="samenvatting"' in body["summary"] and "afgewezen 1" in body["summary"]
    # undo through the same route
    undone = client.post(
        f"/beoordelen/matches/{match_id}",
        data={"csrf_token": csrf, "decision": "undo", "version": version + 1},
        headers=headers,
    )
    assert undone.status_code == 200 and "voorgesteld" in undone.json()["row"]
    assert _statuses(session_factory, published)[match_id] == "proposed"


def test_decisions_need_csrf_and_a_known_decision(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    csrf = _sign_in(client, _admin_email(session_factory))
    match_id, version, _ = _matches(session_factory, published)[0]
    no_token = client.post(
        f"/beoordelen/matches/{match_id}", data={"decision": "accept", "version": version}
    )
    assert no_token.status_code == 403
    unknown = client.post(
        f"/beoordelen/matches/{match_id}",
        data={"csrf_token": csrf, "decision": "maybe", "version": version},
        headers={"X-Stek-Fetch": "1"},
    )
    assert unknown.status_code == 422 and "Kies accepteren" in unknown.json()["error"]
    assert set(_statuses(session_factory, published).values()) == {"proposed"}


def test_bulk_accept_is_all_or_nothing_through_the_page(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    csrf = _sign_in(client, _admin_email(session_factory))
    rows = _matches(session_factory, published)
    good = [f"{i}:{v}" for i, v, _ in rows[:3]]
    stale = f"{rows[3][0]}:{rows[3][1] + 5}"
    refused = client.post(
        f"/beoordelen/rondes/{published}/selectie",
        data={"csrf_token": csrf, "actie": "accepteren", "selectie": [*good, stale]},
        follow_redirects=False,
    )
    assert refused.status_code == 303
    message = parse_qs(urlparse(refused.headers["location"]).query)["fout"][0]
    assert "Niets opgeslagen" in message and f"match {rows[3][0]}" in message
    assert set(_statuses(session_factory, published).values()) == {"proposed"}
    garbled = client.post(
        f"/beoordelen/rondes/{published}/selectie",
        data={"csrf_token": csrf, "actie": "accepteren", "selectie": ["12;x"]},
        follow_redirects=False,
    )
    assert "niet leesbaar" in parse_qs(urlparse(garbled.headers["location"]).query)["fout"][0]
    done = client.post(
        f"/beoordelen/rondes/{published}/selectie",
        data={"csrf_token": csrf, "actie": "accepteren", "selectie": good},
        follow_redirects=False,
    )
    assert (
        "3 match(es) geaccepteerd"
        in parse_qs(urlparse(done.headers["location"]).query)["melding"][0]
    )
    statuses = _statuses(session_factory, published)
    assert [statuses[i] for i, _, _ in rows[:4]] == ["accepted"] * 3 + ["proposed"]


def test_accept_all_through_the_filters_checks_the_count_the_reviewer_saw(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    csrf = _sign_in(client, _admin_email(session_factory))
    total = len(_matches(session_factory, published))
    terug = f"ronde={published}&toon=mijn"
    changed = client.post(
        f"/beoordelen/rondes/{published}/selectie",
        data={
            "csrf_token": csrf,
            "actie": "alles-accepteren",
            "verwacht": total - 1,
            "terug": terug,
        },
        follow_redirects=False,
    )
    assert "intussen veranderd" in parse_qs(urlparse(changed.headers["location"]).query)["fout"][0]
    assert set(_statuses(session_factory, published).values()) == {"proposed"}
    done = client.post(
        f"/beoordelen/rondes/{published}/selectie",
        data={"csrf_token": csrf, "actie": "alles-accepteren", "verwacht": total, "terug": terug},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert set(_statuses(session_factory, published).values()) == {"accepted"}


def test_round_finished_in_the_pages_then_read_only(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    csrf = _sign_in(client, _admin_email(session_factory))
    total = len(_matches(session_factory, published))
    blocked = client.get(f"/beoordelen/rondes/{published}/afronden")
    assert blocked.status_code == 200 and "Afronden kan nog niet" in blocked.text
    refused = client.post(
        f"/beoordelen/rondes/{published}/afronden",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert "nog niet bevestigd" in parse_qs(urlparse(refused.headers["location"]).query)["fout"][0]
    for actie in ("alles-accepteren", "alles-bevestigen"):
        client.post(
            f"/beoordelen/rondes/{published}/selectie",
            data={"csrf_token": csrf, "actie": actie, "verwacht": total},
            follow_redirects=False,
        )
    assert set(_statuses(session_factory, published).values()) == {"confirmed"}
    summary = client.get(f"/beoordelen/rondes/{published}/afronden")
    assert "worden definitief" in summary.text and "Afronden kan nog niet" not in summary.text
    done = client.post(
        f"/beoordelen/rondes/{published}/afronden",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert "afgerond" in parse_qs(urlparse(done.headers["location"]).query)["melding"][0]
    page = client.get(f"/beoordelen?ronde={published}&toon=alle")
    assert "Deze ronde is afgerond" in page.text
    assert 'class="decide"' not in page.text and 'id="bulk"' not in page.text
    with session_factory() as s:
        placed = s.scalar(
            select(func.count()).select_from(m.Youth).where(m.Youth.status == "placed")
        )
    assert placed == total


def test_second_round_for_the_month_is_refused_in_the_page(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    csrf = _sign_in(client, _admin_email(session_factory))
    for form, message in (
        ({"maand": "2026-12"}, "bestaat al ronde"),
        ({"maand": "2026-12", "vervangen": "ja"}, "werk in die ronde verder"),
        ({"maand": "december"}, "niet herkend"),
        ({"maand": "2026-13"}, "niet herkend"),
        ({"maand": "2027-01", "tempo": "snel"}, "niet herkend"),
    ):
        response = client.post(
            "/beoordelen/rondes", data={"csrf_token": csrf, **form}, follow_redirects=False
        )
        assert response.status_code == 303
        error = parse_qs(urlparse(response.headers["location"]).query)["fout"][0]
        assert message in error, (form, error)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(m.AllocationRound)) == 1


def test_why_this_match_by_role(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        match = next(
            x for x in svc.latest_proposal(s, published).matches if x.option.corporation_id
        )
        match_id, owner = match.id, match.option.corporation_id
        own_email = s.scalars(select(m.User.email).where(m.User.organisation_id == owner)).first()
        other_email = s.scalars(
            select(m.User.email).where(m.User.role == "corporatie", m.User.organisation_id != owner)
        ).first()
    assert own_email and other_email
    _sign_in(client, _admin_email(session_factory))
    full = client.get(f"/beoordelen/matches/{match_id}/uitleg")
    assert full.status_code == 200
    for words in ("Urgentie", "urgentiegewicht", "huurtoeslag", "De volgende keuzes"):
        assert words in full.text
    assert re.search(r"\d+,\d+ m\b|\d+ meter", full.text) is None  # distances only as bands
    _sign_in(client, own_email)
    own = client.get(f"/beoordelen/matches/{match_id}/uitleg")
    assert own.status_code == 200 and "De woonplek" in own.text
    assert "urgentiegewicht" not in own.text and "De volgende keuzes" not in own.text
    _sign_in(client, other_email)
    stranger = client.get(f"/beoordelen/matches/{match_id}/uitleg")
    missing = client.get("/beoordelen/matches/999999/uitleg")
    assert stranger.status_code == missing.status_code == 404


def test_malformed_page_form_gets_a_dutch_page_naming_the_field(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    csrf = _sign_in(client, _admin_email(session_factory))
    match_id, _, _ = _matches(session_factory, published)[0]
    response = client.post(
        f"/beoordelen/matches/{match_id}",
        data={"csrf_token": csrf, "decision": "accept", "version": "twee"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "controleer version" in response.text and "niets veranderd" in response.text
    assert set(_statuses(session_factory, published).values()) == {"proposed"}
    # the JSON API keeps its machine-readable 422
    api = client.post("/api/v1/rounds", json={"month": "december"})
    assert api.status_code in (401, 403, 422)
    if api.status_code == 422:
        assert api.headers["content-type"].startswith("application/json")


def test_corporation_keeps_the_published_version_while_a_resolve_is_a_draft(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        first = svc.latest_proposal(s, published)
        owner = next(x.option.corporation_id for x in first.matches if x.option.corporation_id)
        email = s.scalars(select(m.User.email).where(m.User.organisation_id == owner)).first()
        reject = next(x for x in first.matches if x.option.corporation_id == owner)
        reject_id, reject_version = reject.id, reject.version_id
    assert email
    with unit_of_work(session_factory) as s:
        svc.decide(s, reject_id, ADMIN, False, reject_version, "woning_past_niet")
        svc.start_resolve(s, published, ADMIN)
    assert svc.run_solve(session_factory, published, time_limit_s=10) is not None  # draft v2
    _sign_in(client, email)
    page = client.get(f"/beoordelen?ronde={published}&toon=alle")
    assert page.status_code == 200
    assert "rekent deze ronde opnieuw door" in page.text
    assert "Voorstel versie <strong>1</strong>" in page.text
    asked = client.get(f"/beoordelen?ronde={published}&versie=2&toon=alle")
    assert "Voorstel versie <strong>1</strong>" in asked.text  # the draft is not theirs yet
    assert 'class="decide"' not in page.text  # nothing to decide in a draft
    with unit_of_work(session_factory) as s:
        svc.publish(s, published, ADMIN)
    after = client.get(f"/beoordelen?ronde={published}&toon=alle")
    assert "Voorstel versie <strong>2</strong>" in after.text
    assert "rekent deze ronde opnieuw door" not in after.text


def test_review_page_links_its_exports_and_the_header_counts_unread_messages(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        owner = next(
            x.option.corporation_id
            for x in svc.latest_proposal(s, published).matches
            if x.option.corporation_id
        )
        email = s.scalars(select(m.User.email).where(m.User.organisation_id == owner)).first()
    assert email
    _sign_in(client, email)
    page = client.get(f"/beoordelen?ronde={published}")
    unread = re.search(r"(\d+) ongelezen", page.text)
    assert unread and int(unread.group(1)) >= 1  # "ronde gepubliceerd" is in the inbox
    links = re.findall(r'href="(/beoordelen/rondes/\d+/export/[^"]+)"', page.text)
    assert len(links) == 6
    for link in links:
        response = client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200, link
        assert "attachment" in response.headers.get("content-disposition", "")


def _bearer(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_api_bulk_decisions_and_undo(
    client: TestClient, published: int, session_factory: sessionmaker[Session]
) -> None:
    admin = _bearer(client, _admin_email(session_factory))
    rows = _matches(session_factory, published)
    url = f"/api/v1/rounds/{published}/decisions"
    items = [{"id": i, "version": v} for i, v, _ in rows[:3]]
    # bad input: field named, nothing stored
    for body, field in (
        ({"action": "maybe", "matches": items}, "action"),
        ({"action": "accept", "matches": []}, "matches"),
        ({"action": "accept", "matches": [{"id": 0, "version": 1}]}, "id"),
        ({"action": "accept", "matches": [{"id": "x", "version": 1}]}, "id"),
    ):
        response = client.post(url, json=body, headers=admin)
        assert response.status_code == 422, body
        assert field in {str(p) for e in response.json()["detail"] for p in e["loc"]}
    stale = {"id": rows[3][0], "version": rows[3][1] + 3}
    refused = client.post(url, json={"action": "accept", "matches": [*items, stale]}, headers=admin)
    assert refused.status_code == 409
    assert set(refused.json()["problems"]) == {str(rows[3][0])}
    elsewhere = client.post(
        "/api/v1/rounds/999/decisions", json={"action": "accept", "matches": items}, headers=admin
    )
    assert elsewhere.status_code == 409 and "hoort niet bij ronde 999" in elsewhere.text
    duplicate = client.post(
        url, json={"action": "accept", "matches": [items[0], items[0]]}, headers=admin
    )
    assert duplicate.status_code == 409 and "twee keer" in duplicate.json()["detail"]
    assert set(_statuses(session_factory, published).values()) == {"proposed"}
    done = client.post(url, json={"action": "accept", "matches": items}, headers=admin)
    assert done.status_code == 200 and [x["status"] for x in done.json()] == ["accepted"] * 3
    first = done.json()[0]
    undone = client.post(
        f"/api/v1/matches/{first['id']}/undo", json={"version": first["version"]}, headers=admin
    )
    assert undone.status_code == 200 and undone.json()["status"] == "proposed"
    again = client.post(
        f"/api/v1/matches/{first['id']}/undo",
        json={"version": undone.json()["version"]},
        headers=admin,
    )
    assert again.status_code == 409 and "niets terug te draaien" in again.json()["detail"]
