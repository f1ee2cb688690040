"""The landing page and role pages render in Dutch on an empty and on a filled database."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.settings import Settings
from store import models as m
from store.geometry import to_wkb


@pytest.fixture
def client(db_url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=db_url)))


def _seed(factory: sessionmaker[Session]) -> None:
    from shapely.geometry import box

    with factory.begin() as s:
        geom = box(140000, 405000, 150000, 415000)
        s.add(
            m.Area(
                code="GM0796",
                level="gemeente",
                name="'s-Hertogenbosch",
                gemeente_code="GM0796",
                geometry=to_wkb(geom),
                minx=140000,
                miny=405000,
                maxx=150000,
                maxy=415000,
            )
        )
        corp = m.Organisation(code="CORP-A", name="Woonstichting A", kind="corporatie")
        kma = m.HousingType(
            code="kma",
            name="Kamers met Aandacht",
            min_age=18,
            max_age=23,
            zelfstandig=False,
            provider_contract=False,
            persons_min=1,
            persons_max=1,
            support_min=0,
            support_max=2,
        )
        s.add_all([corp, kma])
        s.flush()
        s.add(
            m.HousingOption(
                code="OPT-1",
                type_id=kma.id,
                corporation_id=corp.id,
                gemeente_code="GM0796",
                x=145000,
                y=410000,
                kale_huur=1234.5,
                servicekosten=40,
                capacity=3,
                available_from=date(2026, 1, 1),
            )
        )
        s.add(
            m.Youth(
                code="J-1",
                birth_date=date(2007, 5, 1),
                gemeente_code="GM0796",
                income=330,
                support_need=1,
            )
        )
        s.add(
            m.Contingent(
                corporation_id=corp.id,
                gemeente_code="GM0796",
                year=date.today().year,
                amount=5,
                used=2,
            )
        )


def test_landing_on_empty_database_says_how_to_load(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'lang="nl"' in page.text
    assert "De database is nog leeg" in page.text
    for path in ("/beoordelen", "/regisseur", "/planner", "/beheer"):
        assert f'href="{path}"' in page.text


def test_landing_counts_loaded_data(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    page = client.get("/")
    assert "De database is nog leeg" not in page.text
    # one option with three places, one waiting youth: a count about young people below the
    # small-cell threshold is not shown exactly on a page anyone may open (docs/privacy.md)
    assert "1 (3)" in page.text
    waiting = page.text.split("Wachtende jongeren</th>")[1].split("</td>")[0]
    assert waiting.endswith(">minder dan 5")


def _sign_in(client: TestClient, factory: sessionmaker[Session], role: str) -> None:
    """Create a user with ``role`` (in a fresh organisation) and sign in through the form."""
    import re

    from api.security import hash_password

    email = f"{role}@pages.test.invalid"
    with factory.begin() as s:
        kind = {"admin": "regio", "planner": "regio", "regisseur": "zorgaanbieder"}.get(role, role)
        org = m.Organisation(code=f"org-{role}", name=f"Org {role}", kind=kind)
        if role == "gemeente":
            org.gemeente_code = "GM0796"
        s.add(org)
        s.flush()
        s.add(
            m.User(
                email=email,
                name=f"Test {role}",
                role=role,
                organisation_id=org.id,
                password_hash=hash_password("geheim-wachtwoord"),
            )
        )
    form = client.get("/inloggen")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    done = client.post(
        "/inloggen",
        data={"email": email, "password": "geheim-wachtwoord", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303


def test_role_pages_ask_for_sign_in(client: TestClient) -> None:
    for path in ("/beoordelen", "/regisseur", "/planner", "/beheer", "/kaarten/aanbod"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/inloggen?next=")


def test_planner_shows_places_and_contingent_left_in_dutch_format(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    _sign_in(client, session_factory, "planner")
    page = client.get("/planner")
    assert page.status_code == 200
    assert "&#39;s-Hertogenbosch" in page.text or "'s-Hertogenbosch" in page.text
    assert "GM0796" in page.text
    # contingent 5, used 2, left 3 >= 1 waiting: not marked short
    assert 'class="num">3</td>' in page.text


def test_admin_shows_policy_table_with_verify_flag(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _sign_in(client, session_factory, "admin")
    page = client.get("/beheer")
    assert "€ 498,20" in page.text  # kwaliteitskortingsgrens 2026 in Dutch format
    assert "verifiëren" in page.text  # 2026 aftoppingsgrenzen are carried forward defaults


def test_regisseur_sees_only_own_caseload(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)  # J-1 has no regisseur
    _sign_in(client, session_factory, "regisseur")
    page = client.get("/regisseur")
    assert page.status_code == 200
    assert "J-1" not in page.text
    assert client.get("/regisseur/jongeren/J-1").status_code == 404


def test_wrong_role_gets_dutch_403(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _seed(session_factory)
    _sign_in(client, session_factory, "planner")
    for path in ("/beheer", "/beoordelen", "/regisseur", "/kaarten/jongeren/J-1"):
        page = client.get(path)
        assert page.status_code == 403, path
        assert "Geen toegang" in page.text


def test_unknown_page_is_dutch_404(client: TestClient) -> None:
    assert "Niet gevonden" in client.get("/bestaat-niet").text
    assert client.get("/bestaat-niet").status_code == 404
    assert client.get("/api/v1/bestaat-niet").json() == {"detail": "Niet gevonden"}


def test_health_reports_database(client: TestClient, engine: Engine) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["database"] == engine.dialect.name
