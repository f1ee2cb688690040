"""Accounts and reference data through the admin pages: users and organisations created,
edited, deactivated; a one-time password link (stored hashed, expires, works once); the
menukaart and the policy rows edited with an audit entry per change; bad input names the
field in Dutch and writes nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from store import models as m
from tests.page_helpers import csrf_in, sign_in

ADMIN = "admin@demo.stek.invalid"
LINK = re.compile(r"/wachtwoord-instellen/([A-Za-z0-9_-]{20,})")
NEW_PASSWORD = "paars fietsje over de dijk"


@pytest.fixture
def client(db_url: str) -> TestClient:
    load_demo(db_url)
    return TestClient(create_app(Settings(database_url=db_url)))


def _admin(client: TestClient) -> str:
    client.cookies.clear()
    sign_in(client, ADMIN)
    return csrf_in(client.get("/beheer/gebruikers").text)


def _count(factory: sessionmaker[Session], model: type[m.Base]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _audit(factory: sessionmaker[Session], prefix: str) -> list[m.AuditEntry]:
    with factory() as s:
        return list(
            s.scalars(
                select(m.AuditEntry)
                .where(m.AuditEntry.action.like(prefix + "%"))
                .order_by(m.AuditEntry.id)
            )
        )


def _create_user(client: TestClient, csrf: str, **fields: str) -> httpx.Response:
    data = {
        "csrf_token": csrf,
        "email": "Nieuwe.Regisseur@test.invalid",
        "name": "Nieuwe regisseur",
        "role": "regisseur",
        "organisation": "regio-demo",
        **fields,
    }
    return client.post("/beheer/gebruikers", data=data, follow_redirects=False)


def _can_sign_in(client: TestClient, email: str, password: str) -> bool:
    client.cookies.clear()
    form = client.get("/inloggen")
    done = client.post(
        "/inloggen",
        data={"email": email, "password": password, "csrf_token": csrf_in(form.text)},
        follow_redirects=False,
    )
    return done.status_code == 303


def test_admin_creates_a_user_who_sets_a_password_once_and_signs_in(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    csrf = _admin(client)
    made = _create_user(client, csrf)
    assert made.status_code == 200, made.text
    found = LINK.search(made.text)
    assert found, "the one-time link is shown to the admin"
    token = found.group(1)
    with session_factory() as s:
        user = s.scalars(
            select(m.User).where(m.User.email == "nieuwe.regisseur@test.invalid")
        ).one()
        assert user.password_hash is None
        link = s.scalars(select(m.PasswordReset)).one()
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash
        assert token not in str(link.token_hash)
        user_id = user.id
    assert [a.action for a in _audit(session_factory, "user.")] == [
        "user.create",
        "user.password_link",
    ]
    # the link leads to the set-password page (no sign-in needed)
    client.cookies.clear()
    page = client.get(f"/wachtwoord-instellen/{token}")
    assert page.status_code == 200 and "nieuwe.regisseur@test.invalid" in page.text
    weak = client.post(
        f"/wachtwoord-instellen/{token}", data={"password": "kort", "repeated": "kort"}
    )
    assert weak.status_code == 422 and "wachtwoord: een wachtwoord heeft minstens 12" in weak.text
    differ = client.post(
        f"/wachtwoord-instellen/{token}",
        data={"password": NEW_PASSWORD, "repeated": NEW_PASSWORD + "!"},
    )
    assert differ.status_code == 422 and "wachtwoord herhalen" in differ.text
    with session_factory() as s:
        stored = s.get(m.User, user_id)
        assert stored is not None and stored.password_hash is None  # nothing written
    done = client.post(
        f"/wachtwoord-instellen/{token}",
        data={"password": NEW_PASSWORD, "repeated": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code == 303
    # single use
    assert client.get(f"/wachtwoord-instellen/{token}").status_code == 404
    again = client.post(
        f"/wachtwoord-instellen/{token}", data={"password": "x" * 20, "repeated": "x" * 20}
    )
    assert again.status_code == 404
    assert _can_sign_in(client, "nieuwe.regisseur@test.invalid", NEW_PASSWORD)
    assert client.get("/regisseur").status_code == 200


def test_password_links_expire_and_a_new_one_replaces_the_old(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    csrf = _admin(client)
    first = LINK.search(_create_user(client, csrf).text)
    assert first
    with session_factory() as s:
        user_id = s.scalars(select(m.User.id).where(m.User.email.like("nieuwe%"))).one()
    second = LINK.search(
        client.post(f"/beheer/gebruikers/{user_id}/wachtwoordlink", data={"csrf_token": csrf}).text
    )
    assert second and second.group(1) != first.group(1)
    client.cookies.clear()
    assert client.get(f"/wachtwoord-instellen/{first.group(1)}").status_code == 404
    assert client.get(f"/wachtwoord-instellen/{second.group(1)}").status_code == 200
    with session_factory() as s, s.begin():
        s.execute(
            update(m.PasswordReset).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert client.get(f"/wachtwoord-instellen/{second.group(1)}").status_code == 404
    assert client.get("/wachtwoord-instellen/bestaat-niet").status_code == 404


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "geen-adres"}, "e-mailadres: heeft niet de juiste vorm"),
        ({"email": ""}, "e-mailadres: dit veld is verplicht"),
        ({"name": ""}, "naam: dit veld is verplicht"),
        ({"role": "koning"}, "rol: kies een waarde uit de lijst"),
        ({"role": "gemeente"}, "rol: rol gemeente hoort bij een organisatie van soort gemeente"),
        ({"organisation": "nergens"}, "organisatie: organisatie nergens bestaat niet"),
        ({"email": ADMIN}, "e-mailadres: er is al een gebruiker met e-mailadres"),
    ],
)
def test_bad_user_input_names_the_field_and_writes_nothing(
    client: TestClient,
    session_factory: sessionmaker[Session],
    fields: dict[str, str],
    message: str,
) -> None:
    before = _count(session_factory, m.User)
    csrf = _admin(client)
    refused = _create_user(client, csrf, **fields)
    assert refused.status_code in (409, 422), refused.text
    assert message in refused.text, refused.text[-3000:]
    assert "Niet opgeslagen" in refused.text
    assert _count(session_factory, m.User) == before
    assert _count(session_factory, m.PasswordReset) == 0
    assert _audit(session_factory, "user.") == []


def test_edit_and_deactivate_users_and_organisations(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    csrf = _admin(client)
    with session_factory() as s:
        planner = s.scalars(
            select(m.User).where(m.User.email == "planner2@demo.stek.invalid")
        ).one()
        planner_id = planner.id
    form = {
        "csrf_token": csrf,
        "name": "Planner Twee",
        "role": "planner",
        "organisation": "regio-demo",
    }
    # unchecked 'active' deactivates
    saved = client.post(f"/beheer/gebruikers/{planner_id}", data=form, follow_redirects=False)
    assert saved.status_code == 303
    with session_factory() as s:
        stored = s.get(m.User, planner_id)
        assert stored is not None and stored.name == "Planner Twee" and not stored.active
    bad = client.post(f"/beheer/gebruikers/{planner_id}", data={**form, "name": "", "active": "on"})
    assert bad.status_code == 422 and "naam: dit veld is verplicht" in bad.text
    with session_factory() as s:
        stored = s.get(m.User, planner_id)
        assert stored is not None and stored.name == "Planner Twee" and not stored.active
    # organisations: create, bad input, deactivate (its users with it)
    org_form = {
        "csrf_token": csrf,
        "code": "zorg-nieuw",
        "name": "Zorg Nieuw",
        "kind": "zorgaanbieder",
    }
    made = client.post("/beheer/organisaties", data=org_form, follow_redirects=False)
    assert made.status_code == 303
    before = _count(session_factory, m.Organisation)
    for fields, message in (
        ({"code": "zorg-nieuw"}, "code: organisatie zorg-nieuw bestaat al"),
        ({"code": "met spatie"}, "code: heeft niet de juiste vorm"),
        ({"code": "gem-x", "kind": "gemeente"}, "gemeentecode: is verplicht voor een gemeente"),
        (
            {"code": "gem-y", "kind": "gemeente", "gemeente_code": "GM9999"},
            "gemeentecode: gemeentecode GM9999 is onbekend",
        ),
        ({"code": "z2", "gemeente_code": "GM0796"}, "gemeentecode: hoort alleen bij een gemeente"),
    ):
        refused = client.post("/beheer/organisaties", data={**org_form, **fields})
        assert refused.status_code in (409, 422) and message in refused.text, (
            fields,
            refused.text[-2000:],
        )
    assert _count(session_factory, m.Organisation) == before
    sign_ins = _can_sign_in(client, "regisseur1@demo.stek.invalid", "demo")
    assert sign_ins
    csrf = _admin(client)
    off = client.post(
        "/beheer/organisaties/za-opstap",
        data={"csrf_token": csrf, "name": "Opstap"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert not _can_sign_in(client, "regisseur1@demo.stek.invalid", "demo")
    [entry] = _audit(session_factory, "organisation.update")
    assert (
        entry.detail is not None
        and "regisseur1@demo.stek.invalid" in entry.detail["users_deactivated"]
    )


@pytest.fixture
def policy_rows_restored(session_factory: sessionmaker[Session]) -> Iterator[None]:
    """The policy table is seeded by the migration and kept between PostgreSQL tests (not
    truncated): rows a test adds are removed again."""
    with session_factory() as s:
        before = set(s.scalars(select(m.PolicyRow.id)))
    yield
    with session_factory() as s, s.begin():
        s.execute(delete(m.PolicyRow).where(m.PolicyRow.id.not_in(before)))


def test_menukaart_and_policy_rows_edited_with_audit(
    client: TestClient, session_factory: sessionmaker[Session], policy_rows_restored: None
) -> None:
    csrf = _admin(client)
    page = client.get("/beheer/menukaart/kma")
    assert page.status_code == 200
    with session_factory() as s:
        kma = s.scalars(select(m.HousingType).where(m.HousingType.code == "kma")).one()
        base = {
            "csrf_token": csrf,
            "name": kma.name,
            "min_age": str(kma.min_age),
            "max_age": str(kma.max_age),
            "persons_min": str(kma.persons_min),
            "persons_max": str(kma.persons_max),
            "support_min": str(kma.support_min),
            "support_max": str(kma.support_max),
        }
    refused = client.post("/beheer/menukaart/kma", data={**base, "max_age": "12"})
    assert refused.status_code == 422
    assert "maximumleeftijd: mag niet lager zijn dan de minimumleeftijd" in refused.text
    assert _audit(session_factory, "housing_type.") == []
    saved = client.post(
        "/beheer/menukaart/kma", data={**base, "max_age": "24"}, follow_redirects=False
    )
    assert saved.status_code == 303
    [entry] = _audit(session_factory, "housing_type.update")
    assert entry.detail is not None and entry.detail["max_age"]["to"] == 24
    # policy rows by date
    assert client.get("/beheer/beleid").status_code == 200
    row = {
        "csrf_token": csrf,
        "valid_from": "2027-01-01",
        "kwaliteitskortingsgrens": "510.00",
        "aftoppingsgrens_1_2": "700",
        "aftoppingsgrens_3plus": "750",
        "maximale_huurgrens": "950",
        "basishuur": "200",
        "young_tenant_min_age": "18",
        "young_tenant_max_age": "20",
        "share_above_kwaliteitskorting": "0.65",
        "max_rent_share_of_income": "0.35",
    }
    before = _count(session_factory, m.PolicyRow)
    for fields, message in (
        (
            {"valid_from": "2027-02-30"},
            "geldig vanaf: &#39;2027-02-30&#39; is geen bestaande datum",
        ),
        ({"valid_from": "2027-01-15"}, "geldig vanaf: moet de eerste dag van een maand zijn"),
        ({"valid_from": "2026-01-01"}, "geldig vanaf: er is al een rij vanaf 2026-01-01"),
        ({"kwaliteitskortingsgrens": "nan"}, "kwaliteitskortingsgrens: het getal moet eindig zijn"),
        ({"aftoppingsgrens_1_2": "-1"}, "aftoppingsgrens (1–2 personen): moet groter zijn dan 0"),
        ({"max_rent_share_of_income": "1.5"}, "maximaal huuraandeel van inkomen: hoogstens 1"),
    ):
        refused = client.post("/beheer/beleid", data={**row, **fields})
        assert refused.status_code == 422 and message in refused.text, (
            fields,
            refused.text[-2000:],
        )
    assert _count(session_factory, m.PolicyRow) == before
    made = client.post("/beheer/beleid", data=row, follow_redirects=False)
    assert made.status_code == 303
    assert _count(session_factory, m.PolicyRow) == before + 1
    changed = client.post(
        "/beheer/beleid/2027-01-01",
        data={**row, "kwaliteitskortingsgrens": "512.5", "verified": "on"},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    actions = [(a.action, a.entity_id) for a in _audit(session_factory, "policy.")]
    assert actions == [("policy.create", "2027-01-01"), ("policy.update", "2027-01-01")]
    last = _audit(session_factory, "policy.update")[0].detail
    assert last is not None and last["kwaliteitskortingsgrens"] == {"from": 510.0, "to": 512.5}


def test_account_pages_are_for_admin_only_and_need_csrf(client: TestClient) -> None:
    client.cookies.clear()
    sign_in(client, "planner1@demo.stek.invalid")
    for path in (
        "/beheer/gebruikers",
        "/beheer/organisaties",
        "/beheer/menukaart",
        "/beheer/beleid",
    ):
        assert client.get(path).status_code == 403
    csrf = csrf_in(client.get("/berichten").text)
    assert _create_user(client, csrf).status_code == 403
    _admin(client)
    assert _create_user(client, "vervalst").status_code == 403
