"""Scope leaks (issue 13 items 5 and 7), on SQLite and PostgreSQL.

* Existence: a youth, option or pair outside the caller's scope gets the same status and body as
  one that does not exist, on every route that takes one (API and pages).
* The case (income, rent share, search radius, distances to anchors and what they follow from)
  reaches only the youth's own regisseur: admin (who has the gemeente's view, docs/decisions.md
  9) and gemeente responses never hold those keys or words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from fixtures.generate import ROUND_MONTH, generate_region, write_region
from store import models as m
from tests.page_helpers import sign_in

ON = ROUND_MONTH.isoformat()


@dataclass(frozen=True)
class World:
    """Ids in the demo region, chosen per case below."""

    round_id: int  # published
    emails: dict[str, str]  # role -> user; "regisseur" is the case youth's own regisseur
    other_regisseur: str  # a regisseur without the case youth
    youth_id: int  # in the own regisseur's caseload, in the gemeente user's gemeente
    youth_code: str
    foreign_youth_id: int  # another gemeente, not in the own regisseur's caseload
    foreign_youth_code: str
    missing_youth_id: int
    option_here: int  # an option in the gemeente
    corp_option: int  # the corporation's option with a match in the round
    corp_youth: int  # the youth matched to it
    unmatched_youth: int  # never matched to it in the round
    other_corp_option: int  # another corporation's option
    missing_option_id: int


@pytest.fixture
def world(db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]) -> World:
    folder = tmp_path / "region"
    write_region(generate_region(40, 80, seed=3), folder)
    load_demo(db_url, folder)
    client = TestClient(create_app(Settings(database_url=db_url)))
    with session_factory() as s:
        admin = s.scalars(select(m.User.email).where(m.User.role == "admin")).first()
    assert admin is not None
    headers = _bearer(client, admin)
    created = client.post("/api/v1/rounds", json={"month": ON, "seed": 4}, headers=headers)
    assert created.status_code == 201, created.text
    round_id = int(created.json()["id"])
    assert client.post(f"/api/v1/rounds/{round_id}/publish", headers=headers).is_success
    with session_factory() as s:
        candidates = s.scalars(
            select(m.Youth)
            .join(m.Organisation, m.Organisation.gemeente_code == m.Youth.gemeente_code)
            .where(m.Youth.regisseur_id.is_not(None), m.Youth.anchors.any())
            .where(m.Organisation.kind == "gemeente")
            .order_by(m.Youth.id)
        ).all()
        # one with suggestions, so the own regisseur's answer shows what the others must not get
        youth = next(y for y in candidates if _suggested(client, y))
        assert youth.regisseur is not None
        gemeente = s.scalars(
            select(m.User)
            .join(m.Organisation, m.User.organisation_id == m.Organisation.id)
            .where(m.User.role == "gemeente", m.Organisation.gemeente_code == youth.gemeente_code)
        ).first()
        foreign = s.scalars(
            select(m.Youth)
            .where(
                m.Youth.gemeente_code != youth.gemeente_code,
                m.Youth.regisseur_id.is_distinct_from(youth.regisseur_id),
            )
            .order_by(m.Youth.id)
        ).first()
        other_regisseur = s.scalars(
            select(m.User.email)
            .where(m.User.role == "regisseur", m.User.id != youth.regisseur_id)
            .order_by(m.User.email)
        ).first()
        here = s.scalars(
            select(m.HousingOption.id)
            .where(m.HousingOption.gemeente_code == youth.gemeente_code)
            .order_by(m.HousingOption.id)
        ).first()
        match = s.scalars(
            select(m.Match)
            .join(m.Proposal, m.Match.proposal_id == m.Proposal.id)
            .join(m.HousingOption, m.Match.option_id == m.HousingOption.id)
            .where(m.Proposal.round_id == round_id, m.HousingOption.corporation_id.is_not(None))
            .order_by(m.Match.id)
        ).first()
        assert gemeente and foreign and other_regisseur and here and match
        corp_id = match.option.corporation_id
        corp = s.scalars(select(m.User.email).where(m.User.organisation_id == corp_id)).first()
        other_corp_option = s.scalars(
            select(m.HousingOption.id)
            .where(
                m.HousingOption.corporation_id.is_not(None),
                m.HousingOption.corporation_id != corp_id,
            )
            .order_by(m.HousingOption.id)
        ).first()
        matched = select(m.Match.youth_id).where(m.Match.option_id == match.option_id)
        unmatched = s.scalars(
            select(m.Youth.id).where(m.Youth.id.not_in(matched)).order_by(m.Youth.id)
        ).first()
        max_youth = s.scalar(select(func.max(m.Youth.id))) or 0
        max_option = s.scalar(select(func.max(m.HousingOption.id))) or 0
        assert corp and other_corp_option and unmatched
        return World(
            round_id=round_id,
            emails={
                "admin": admin,
                "gemeente": gemeente.email,
                "corporatie": corp,
                "regisseur": youth.regisseur.email,
            },
            other_regisseur=other_regisseur,
            youth_id=youth.id,
            youth_code=youth.code,
            foreign_youth_id=foreign.id,
            foreign_youth_code=foreign.code,
            missing_youth_id=max_youth + 1000,
            option_here=here,
            corp_option=match.option_id,
            corp_youth=match.youth_id,
            unmatched_youth=unmatched,
            other_corp_option=other_corp_option,
            missing_option_id=max_option + 1000,
        )


def _suggested(client: TestClient, youth: m.Youth) -> bool:
    assert youth.regisseur is not None
    own = _bearer(client, youth.regisseur.email)
    found = client.get(f"/api/v1/youths/{youth.id}/suggestions?on={ON}", headers=own)
    return found.status_code == 200 and bool(found.json()["suggestions"])


def _bearer(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _signed_in(client: TestClient, email: str) -> TestClient:
    sign_in(client, email)
    return client


# ---------------------------------------------------------------------------------------------
# Item 7: out of scope answers like missing


@dataclass(frozen=True)
class Probe:
    """Who asks, and the path of something existing outside their scope and of a missing one."""

    who: Callable[[World], str]  # e-mail
    page: bool  # signed in with a session (pages) or a bearer token (API)
    outside: Callable[[World], str]
    missing: Callable[[World], str]


def _pair(w: World, youth: int, option: int) -> str:
    return f"/api/v1/rounds/{w.round_id}/pairs/{youth}/{option}"


PROBES: dict[str, Probe] = {
    "suggestions, another regisseur's youth": Probe(
        lambda w: w.other_regisseur,
        False,
        lambda w: f"/api/v1/youths/{w.youth_id}/suggestions?on={ON}",
        lambda w: f"/api/v1/youths/{w.missing_youth_id}/suggestions?on={ON}",
    ),
    "pair, a youth of another gemeente": Probe(
        lambda w: w.emails["gemeente"],
        False,
        lambda w: _pair(w, w.foreign_youth_id, w.option_here),
        lambda w: _pair(w, w.missing_youth_id, w.option_here),
    ),
    "pair, another corporation's option": Probe(
        lambda w: w.emails["corporatie"],
        False,
        lambda w: _pair(w, w.corp_youth, w.other_corp_option),
        lambda w: _pair(w, w.corp_youth, w.missing_option_id),
    ),
    "pair, a youth not matched to the corporation's option": Probe(
        lambda w: w.emails["corporatie"],
        False,
        lambda w: _pair(w, w.unmatched_youth, w.corp_option),
        lambda w: _pair(w, w.missing_youth_id, w.corp_option),
    ),
    "youth detail, a youth of another gemeente": Probe(
        lambda w: w.emails["gemeente"],
        False,
        lambda w: f"/api/v1/youths/{w.foreign_youth_code}",
        lambda w: "/api/v1/youths/J-BESTAATNIET",
    ),
    "youth page, another regisseur's youth": Probe(
        lambda w: w.other_regisseur,
        True,
        lambda w: f"/regisseur/jongeren/{w.youth_code}",
        lambda w: "/regisseur/jongeren/J-BESTAATNIET",
    ),
    "youth map, another regisseur's youth": Probe(
        lambda w: w.other_regisseur,
        True,
        lambda w: f"/kaarten/jongeren/{w.youth_code}",
        lambda w: "/kaarten/jongeren/J-BESTAATNIET",
    ),
}


def _normalised(text: str) -> str:
    """``text`` with every id and youth code replaced: a body may echo the id or code that was
    asked (they differ between the two requests), nothing more; and the response's own CSP
    nonce, new for every response."""
    text = re.sub(r'nonce="[^"]*"', 'nonce=""', text)
    return re.sub(r"J-[A-Z0-9-]+|\d+", "#", text)


@pytest.mark.parametrize("name", sorted(PROBES))
def test_outside_scope_answers_like_missing(db_url: str, world: World, name: str) -> None:
    probe = PROBES[name]
    client = TestClient(create_app(Settings(database_url=db_url)))
    email = probe.who(world)
    headers = {} if probe.page else _bearer(client, email)
    if probe.page:
        _signed_in(client, email)
    outside_path, missing_path = probe.outside(world), probe.missing(world)
    outside = client.get(outside_path, headers=headers)
    missing = client.get(missing_path, headers=headers)
    assert (outside.status_code, missing.status_code) == (404, 404), (
        outside.text[:300],
        missing.text[:300],
    )
    assert _normalised(outside.text) == _normalised(missing.text)


# ---------------------------------------------------------------------------------------------
# Item 5: the case only for the own regisseur

# Keys of the case: the youth's own figures and everything the anchors follow from.
CASE_KEYS = frozenset({
    "income", "max_rent", "rent_share_of_income", "net_rent", "toeslag", "max_distance_m",
    "distance_m", "distances", "nearest_anchor_m", "metres", "anchors", "no_go_areas",
    "value_here", "occupant_value", "youth_value", "swap_change", "reasons",
})  # fmt: skip
# Words of the rules' messages with figures ("ligt 9,3 km van het dichtstbijzijnde ankerpunt;
# de zoekstraal is 5,0 km", "... van het inkomen"); rule names with counts are fine.
CASE_WORDS = ("ankerpunt", " km", "inkomen")


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


@pytest.mark.parametrize("role", ["admin", "gemeente"])
def test_admin_and_gemeente_never_get_the_case(
    db_url: str, world: World, session_factory: sessionmaker[Session], role: str
) -> None:
    client = TestClient(create_app(Settings(database_url=db_url)))
    headers = _bearer(client, world.emails[role])
    with session_factory() as s:
        options = s.scalars(select(m.HousingOption.id).order_by(m.HousingOption.id)).all()[:40]
    paths = [
        "/api/v1/youths",
        f"/api/v1/youths/{world.youth_code}",
        f"/api/v1/youths/{world.youth_id}/suggestions?on={ON}",
        f"/api/v1/rounds/{world.round_id}/explanations",
        f"/api/v1/rounds/{world.round_id}/fairness",
        *(_pair(world, world.youth_id, option) for option in options),
    ]
    statuses: set[int] = set()
    for path in paths:
        response = client.get(path, headers=headers)
        statuses.add(response.status_code)
        assert response.status_code in (200, 403), (path, response.text[:300])
        leaked = CASE_KEYS & set(_keys(response.json()))
        assert not leaked, (path, leaked)
        for word in CASE_WORDS:
            assert word not in response.text, (path, word)
    assert 200 in statuses
    # the own regisseur does get them (so the keys above are the right ones)
    own = _bearer(client, world.emails["regisseur"])
    mine = client.get(f"/api/v1/youths/{world.youth_id}/suggestions?on={ON}", headers=own)
    assert mine.status_code == 200
    assert {"distances", "rent_share_of_income", "net_rent"} <= set(_keys(mine.json()))


@pytest.mark.parametrize("role", ["admin", "gemeente"])
def test_why_this_match_page_gives_no_distance_points_or_income_figures(
    db_url: str, world: World, session_factory: sessionmaker[Session], role: str
) -> None:
    """The 'Waarom?' page: distance as a band without its points (they give the distance back),
    rent without toeslag, rent after toeslag or rent points (they give the income back)."""
    with session_factory() as s:
        gemeente_code = s.scalars(
            select(m.Youth.gemeente_code).where(m.Youth.id == world.youth_id)
        ).one()
        match_id = s.scalars(
            select(m.Match.id)
            .join(m.Proposal, m.Match.proposal_id == m.Proposal.id)
            .join(m.HousingOption, m.Match.option_id == m.HousingOption.id)
            .where(
                m.Proposal.round_id == world.round_id,
                m.HousingOption.gemeente_code == gemeente_code,
            )
            .order_by(m.Match.id)
        ).first()
    assert match_id is not None
    client = _signed_in(TestClient(create_app(Settings(database_url=db_url))), world.emails[role])
    page = client.get(f"/beoordelen/matches/{match_id}/uitleg")
    assert page.status_code == 200, page.text[:300]
    parts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]*)</dd>", page.text))
    assert {"Urgentie", "Afstand", "Huur"} <= set(parts), parts
    for part in ("Afstand", "Huur"):
        assert "punten" not in parts[part] and "€" not in parts[part], parts[part]
