"""Contingents and accounts in a real browser, on SQLite and PostgreSQL (issue 15 items 3 and
4): a contingent change waits for the other party and counts once accepted; an admin creates a
user who sets a password through the one-time link and signs in; bad input on each form shows
the field's Dutch message with nothing written. Screenshots land in test-artifacts/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import load_demo
from store import models as m
from tests.e2e.conftest import _require_browser, serving, shot

pytestmark = pytest.mark.browser
GEMEENTE = "gemeente-0797@demo.stek.invalid"  # Heusden
CORPORATION = "corporatie-kempenpoort@demo.stek.invalid"
ADMIN = "admin@demo.stek.invalid"
NEW_USER = "nieuwe.planner@test.invalid"
NEW_PASSWORD = "drie groene appels op tafel"


@pytest.fixture
def admin_server(db_url: str) -> Iterator[str]:
    """The demo region (no round needed) served on loopback; its URL."""
    _require_browser()
    load_demo(db_url)
    with serving(db_url) as url:
        yield url


@pytest.fixture
def new_page(admin_server: str, browser: Any) -> Iterator[Callable[[], Any]]:
    """Fresh browser contexts on the server (the session's Chromium, one per person); a request
    off the server or a JavaScript error fails the test."""
    host = urlparse(admin_server).netloc
    contexts: list[Any] = []
    external: list[str] = []
    errors: list[str] = []

    def guard(route: Any) -> None:
        parsed = urlparse(route.request.url)
        if parsed.scheme in ("data", "blob", "about") or parsed.netloc == host:
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
        context.route("**/*", guard)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not external, f"requests left localhost: {external}"


def _sign_in(page: Any, url: str, email: str, password: str = "demo") -> None:
    page.goto(f"{url}/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()
    assert "/inloggen" not in page.url, f"sign-in failed for {email}"


def _agreement(factory: sessionmaker[Session]) -> m.Contingent:
    with factory() as s:
        found = s.scalars(
            select(m.Contingent)
            .join(m.Organisation, m.Contingent.corporation_id == m.Organisation.id)
            .where(
                m.Organisation.code == "corp-kempenpoort",
                m.Contingent.gemeente_code == "GM0797",
                m.Contingent.year == 2026,
                m.Contingent.type_id.is_(None),
            )
        ).one()
        s.expunge(found)
        return found


def _count(factory: sessionmaker[Session], model: type[m.Base]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _alert(page: Any) -> str:
    text: str = page.get_by_role("alert").first.inner_text()
    return " ".join(text.split())


def test_contingent_change_waits_for_the_other_party(
    admin_server: str, new_page: Callable[[], Any], session_factory: sessionmaker[Session]
) -> None:
    url = admin_server
    before = _agreement(session_factory)
    gemeente = new_page()
    _sign_in(gemeente, url, GEMEENTE)
    gemeente.goto(f"{url}/contingenten?jaar=2026")
    what = "Kempenpoort Woningen (synthetisch) in Heusden 2026"
    amount = gemeente.get_by_label(f"Nieuw aantal voor {what}", exact=True)
    # bad input: below what is already used
    amount.fill(str(before.used - 1))
    gemeente.get_by_role(
        "button", name=f"Voorstellen: nieuw aantal voor {what}", exact=True
    ).click()
    assert f"aantal: mag niet lager zijn dan wat al gebruikt is ({before.used})" in _alert(gemeente)
    shot(gemeente, "contingent-refused-below-used")
    assert _count(session_factory, m.ContingentChange) == 0
    # bad input on the new-agreement form: a negative amount, a year out of range
    gemeente.get_by_label("Corporatie").select_option("corp-zandhorst")
    gemeente.get_by_label("Jaar", exact=True).last.fill("1999")
    gemeente.get_by_label("Aantal woonplekken").fill("-2")
    gemeente.get_by_role("button", name="Voorstel versturen").click()
    alert = _alert(gemeente)
    assert "aantal: mag niet negatief zijn" in alert and "jaar: minstens 2000" in alert
    assert gemeente.locator("#nieuw-amount[aria-invalid=true]").count() == 1
    assert _count(session_factory, m.ContingentChange) == 0
    # a real change: proposed, not yet counted
    gemeente.goto(f"{url}/contingenten?jaar=2026")
    new = before.amount + 5
    gemeente.get_by_label(f"Nieuw aantal voor {what}", exact=True).fill(str(new))
    gemeente.get_by_role(
        "button", name=f"Voorstellen: nieuw aantal voor {what}", exact=True
    ).click()
    gemeente.wait_for_load_state()
    assert "Het telt pas mee als de andere partij het aanvaardt" in gemeente.content()
    row = gemeente.locator("tr[data-afspraak='corp-kempenpoort-GM0797-2026-']")
    assert "wacht op de andere partij" in row.inner_text()
    assert row.get_by_role("button", name="Aanvaarden").count() == 0  # not for the proposer
    shot(gemeente, "contingent-proposed-waiting")
    assert _agreement(session_factory).amount == before.amount
    # the corporation accepts: now it counts
    corporation = new_page()
    _sign_in(corporation, url, CORPORATION)
    corporation.goto(f"{url}/contingenten?jaar=2026")
    shot(corporation, "contingent-other-party-sees-proposal")
    corporation.get_by_role("button", name=f"Aanvaarden: {what} wordt {new}", exact=True).click()
    corporation.wait_for_load_state()
    assert "het nieuwe aantal telt nu mee" in corporation.content()
    assert _agreement(session_factory).amount == new
    history = corporation.get_by_role("region", name="Tabel voorstellen en besluiten")
    assert "aanvaard" in history.inner_text()
    shot(corporation, "contingent-accepted")


def test_admin_creates_a_user_who_then_signs_in(
    admin_server: str, new_page: Callable[[], Any], session_factory: sessionmaker[Session]
) -> None:
    url = admin_server
    admin = new_page()
    _sign_in(admin, url, ADMIN)
    admin.goto(f"{url}/beheer/gebruikers")
    users_before = _count(session_factory, m.User)
    # bad input: not an e-mail address, no name
    admin.get_by_label("E-mailadres", exact=True).fill("geen-adres")
    admin.get_by_label("Rol", exact=True).select_option("planner")
    admin.get_by_label("Organisatie", exact=True).select_option("regio-demo")
    admin.get_by_role("button", name="Gebruiker aanmaken").click()
    alert = _alert(admin)
    assert (
        "e-mailadres: heeft niet de juiste vorm" in alert and "naam: dit veld is verplicht" in alert
    )
    shot(admin, "admin-user-refused")
    assert _count(session_factory, m.User) == users_before
    # a user that exists already
    admin.get_by_label("E-mailadres", exact=True).fill(ADMIN)
    admin.get_by_label("Naam", exact=True).fill("Dubbel")
    admin.get_by_role("button", name="Gebruiker aanmaken").click()
    assert "e-mailadres: er is al een gebruiker met e-mailadres" in _alert(admin)
    assert _count(session_factory, m.User) == users_before
    # created: the one-time link is shown once
    admin.get_by_label("E-mailadres", exact=True).fill(NEW_USER)
    admin.get_by_label("Naam", exact=True).fill("Nieuwe planner")
    admin.get_by_label("Rol", exact=True).select_option("planner")
    admin.get_by_label("Organisatie", exact=True).select_option("regio-demo")
    admin.get_by_role("button", name="Gebruiker aanmaken").click()
    link = admin.locator("#wachtwoordlink").inner_text().strip()
    assert link.startswith(f"{url}/wachtwoord-instellen/")
    shot(admin, "admin-user-created-link")
    # the new user opens the link, sets a password (a mismatch first), signs in
    person = new_page()
    person.goto(link)
    person.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    person.get_by_label("Wachtwoord herhalen", exact=True).fill("iets anders dan dat")
    person.get_by_role("button", name="Wachtwoord opslaan").click()
    assert "wachtwoord herhalen: de twee wachtwoorden verschillen" in _alert(person)
    with session_factory() as s:
        stored = s.scalars(select(m.User).where(m.User.email == NEW_USER)).one()
        assert stored.password_hash is None
    person.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    person.get_by_label("Wachtwoord herhalen", exact=True).fill(NEW_PASSWORD)
    person.get_by_role("button", name="Wachtwoord opslaan").click()
    person.wait_for_load_state()
    assert "/inloggen" in person.url
    _sign_in(person, url, NEW_USER, NEW_PASSWORD)
    assert "Nieuwe planner" in person.content()
    person.goto(f"{url}/planner")
    assert person.get_by_role("heading", level=1).count() == 1
    shot(person, "admin-new-user-signed-in")
    # the link works once
    again = person.goto(link)
    assert again is not None and again.status == 404


def test_bad_input_on_the_reference_forms_writes_nothing(
    admin_server: str, new_page: Callable[[], Any], session_factory: sessionmaker[Session]
) -> None:
    url = admin_server
    admin = new_page()
    _sign_in(admin, url, ADMIN)
    # organisation
    orgs = _count(session_factory, m.Organisation)
    admin.goto(f"{url}/beheer/organisaties")
    admin.get_by_label("Code", exact=True).fill("met spatie")
    admin.get_by_label("Naam", exact=True).fill("Nieuwe gemeente")
    admin.get_by_label("Soort", exact=True).select_option("gemeente")
    admin.get_by_role("button", name="Organisatie aanmaken").click()
    alert = _alert(admin)
    assert "code: heeft niet de juiste vorm" in alert
    assert "gemeentecode: is verplicht voor een gemeente" in alert
    shot(admin, "admin-organisation-refused")
    assert _count(session_factory, m.Organisation) == orgs
    # menukaart: maximum age below minimum age
    with session_factory() as s:
        type_code = s.scalars(select(m.HousingType.code).order_by(m.HousingType.code)).first()
        kind = s.scalars(select(m.HousingType).where(m.HousingType.code == type_code)).one()
        min_age, max_age = kind.min_age, kind.max_age
    admin.goto(f"{url}/beheer/menukaart/{type_code}")
    admin.get_by_label("Maximumleeftijd", exact=True).fill(str(min_age - 1))
    admin.get_by_role("button", name="Opslaan").click()
    assert "maximumleeftijd: mag niet lager zijn dan de minimumleeftijd" in _alert(admin)
    shot(admin, "admin-menukaart-refused")
    with session_factory() as s:
        assert (
            s.scalars(select(m.HousingType.max_age).where(m.HousingType.code == type_code)).one()
            == max_age
        )
    # policy row: not the first of a month, rent share above 1
    rows = _count(session_factory, m.PolicyRow)
    admin.goto(f"{url}/beheer/beleid")
    admin.get_by_label("Geldig vanaf", exact=True).fill("2027-03-15")
    admin.get_by_label("Maximaal huuraandeel van inkomen (tussen 0 en 1)").fill("0.3")
    admin.get_by_role("button", name="Toevoegen").click()
    alert = _alert(admin)
    assert "geldig vanaf: moet de eerste dag van een maand zijn" in alert
    assert "kwaliteitskortingsgrens: dit veld is verplicht" in alert
    shot(admin, "admin-policy-refused")
    assert _count(session_factory, m.PolicyRow) == rows
    with session_factory() as s:
        assert not s.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.action.in_(
                    ["organisation.create", "housing_type.update", "policy.create"]
                )
            )
        ).first()


# Markup only: the pages' HTML does not depend on the database (the same forms are exercised on
# PostgreSQL by this file's other tests), so axe runs once, on SQLite.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_axe_on_the_contingent_and_account_pages(
    admin_server: str, new_page: Callable[[], Any], session_factory: sessionmaker[Session]
) -> None:
    """axe-core (WCAG 2.0/2.1 A and AA) on these pages at 1280 and 320 CSS px, also with a
    refused form's messages on screen. (Reflow at 320 px is test_accessibility's phone test,
    which lists these routes.)"""
    from tests.e2e.test_accessibility import _with_axe, violations

    with session_factory() as s:
        user_id = s.scalars(select(m.User.id).order_by(m.User.id)).first()
        type_code = s.scalars(select(m.HousingType.code).order_by(m.HousingType.code)).first()
        policy = s.scalars(select(m.PolicyRow.valid_from)).first()
    assert policy is not None
    url = admin_server
    problems: list[str] = []

    def check(page: Any, where: str) -> None:
        for width in (1280, 320):
            page.set_viewport_size({"width": width, "height": 900})
            found = violations(page)
            problems.extend(f"{where} @{width}: {v['id']} {v['targets'][:4]}" for v in found)

    gemeente = _with_axe(new_page())
    _sign_in(gemeente, url, GEMEENTE)
    gemeente.goto(f"{url}/contingenten?jaar=2026")
    check(gemeente, "gemeente /contingenten")
    gemeente.get_by_role("button", name="Voorstel versturen").click()  # empty: refused
    check(gemeente, "gemeente /contingenten refused")
    admin = _with_axe(new_page())
    _sign_in(admin, url, ADMIN)
    for path in (
        "/beheer/gebruikers",
        f"/beheer/gebruikers/{user_id}",
        "/beheer/organisaties",
        "/beheer/organisaties/regio-demo",
        "/beheer/menukaart",
        f"/beheer/menukaart/{type_code}",
        "/beheer/beleid",
        f"/beheer/beleid/{policy.isoformat()}",
        "/contingenten",
    ):
        admin.goto(url + path)
        check(admin, path)
    admin.goto(f"{url}/beheer/gebruikers")
    admin.get_by_role("button", name="Gebruiker aanmaken").click()  # empty: refused
    check(admin, "/beheer/gebruikers refused")
    admin.goto(f"{url}/beheer/beleid")
    admin.get_by_role("button", name="Toevoegen").click()
    check(admin, "/beheer/beleid refused")
    shot(admin, "admin-policy-refused-phone")
    person = _with_axe(new_page())
    person.goto(f"{url}/wachtwoord-instellen/onbekend")
    check(person, "/wachtwoord-instellen (unknown link)")
    assert not problems, "\n".join(problems)
