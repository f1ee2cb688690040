"""TOTP two-factor sign-in in a real browser (issue 17 item 4), with the setting on as in
production: a privacy officer signs in with the password, enrols (QR code and key on the page),
confirms with a code computed by pyotp, sees the recovery codes once and lands on the privacy
page; signs out and in again with a wrong code (Dutch message) and then a right one. axe checks
the enrolment, recovery-code and code pages. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.security import hash_password
from store import models as m
from tests.e2e.conftest import _require_browser, serving, shot
from tests.e2e.test_accessibility import _describe, _with_axe, violations

pytestmark = pytest.mark.browser
EMAIL = "fg@test.invalid"
PASSWORD = "lang en geheim wachtwoord"


@pytest.fixture
def totp_server(
    db_url: str, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """An app that requires TOTP (as production does) with one privacy officer; its URL."""
    _require_browser()
    with session_factory.begin() as s:
        org = m.Organisation(code="regio-test", name="Regio", kind="regio")
        s.add(org)
        s.flush()
        s.add(
            m.User(
                email=EMAIL,
                name="Functionaris",
                role="privacy",
                organisation_id=org.id,
                password_hash=hash_password(PASSWORD),
            )
        )
    monkeypatch.setenv("STEK_REQUIRE_TOTP", "true")
    with serving(db_url) as url:
        yield url


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _with_axe(page)
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def _password(page: Any, url: str) -> None:
    page.goto(f"{url}/inloggen")
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()


def _axe(page: Any, where: str) -> list[str]:
    return _describe(where, violations(page))


def test_enrol_and_sign_in_with_a_code(
    totp_server: str, tab: Any, session_factory: sessionmaker[Session]
) -> None:
    url, page, problems = totp_server, tab, []
    _password(page, url)
    assert page.url.endswith("/inloggen/tweestaps")
    assert page.locator("figure.totp-qr svg").is_visible()
    problems += _axe(page, "instellen")
    shot(page, "totp-enrol")
    secret = page.locator("code.totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code uit je app (6 cijfers)").fill(totp.now())
    page.get_by_role("button", name="Bevestigen en inloggen").click()
    page.wait_for_load_state()
    codes = page.locator("ol.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    problems += _axe(page, "herstelcodes")
    shot(page, "totp-recovery-codes")
    page.get_by_role("link", name="Ik heb ze bewaard, verder").click()
    page.wait_for_load_state()
    assert page.url.endswith("/privacy") and page.get_by_role("heading", name="Auditlog").count()

    # sign out, then in again: a wrong code is refused in Dutch, a right one signs in
    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_load_state()
    _password(page, url)
    assert page.url.endswith("/inloggen/code")
    page.get_by_label("Code (6 cijfers) of herstelcode").fill("000000")
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()
    assert "Deze code klopt niet" in page.get_by_role("alert").inner_text()
    problems += _axe(page, "code (fout)")
    shot(page, "totp-code-refused")
    page.get_by_label("Code (6 cijfers) of herstelcode").fill(
        totp.at(datetime.now(UTC) + timedelta(seconds=30))
    )
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()
    assert page.url.endswith("/privacy"), page.url
    with session_factory() as s:
        refused = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "auth.totp_refused")
        ).all()
        assert [e.detail for e in refused] == [{"reason": "wrong", "via": "pagina"}]
    assert not problems, "\n".join(problems)
