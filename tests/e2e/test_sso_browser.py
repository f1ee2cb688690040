"""Single sign-on in Chromium (issue 17 item 4): a gemeente reviewer clicks "Inloggen via
Gemeente Test" on the sign-in page, the organisation's provider (a real OpenID Connect provider
on localhost, tests/oidc_provider.py) sends the browser back, and the reviewer is on the review
page, signed in; cancelling at the provider brings a Dutch message back."""

from __future__ import annotations

import socket
from typing import Any

from sqlalchemy import select

from store import models as m
from store.db import make_engine, make_sessionmaker
from tests.e2e.conftest import Server, serving, shot
from tests.e2e.test_accessibility import _describe, _with_axe, violations
from tests.oidc_provider import Client, running_provider


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_reviewer_signs_in_through_the_organisation(browser: Any, server: Server) -> None:
    engine = make_engine(server.db_url)
    with make_sessionmaker(engine)() as s:
        user = s.scalars(select(m.User).where(m.User.email == server.reviewer_email)).one()
        claims = {
            "sub": "e2e-1",
            "email": user.email,
            "stek_rol": user.role,
            "stek_organisatie": user.organisation.code,
            "amr": ["pwd", "otp"],
        }
    engine.dispose()
    with running_provider(_port()) as provider:
        options = {
            "oidc_issuer": provider.base,
            "oidc_client_id": "stek",
            "oidc_client_secret": "geheim",
            "oidc_provider_name": "Gemeente Test",
        }
        with serving(server.db_url, **options) as url:
            provider.clients["stek"] = Client("stek", "geheim", [f"{url}/inloggen/sso/terug"])
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            _with_axe(page)
            problems: list[str] = []
            try:
                page.goto(f"{url}/inloggen")
                problems += _describe("inloggen met SSO-knop", violations(page))
                shot(page, "sso-sign-in-page")
                provider.user = claims
                page.get_by_role("link", name="Inloggen via Gemeente Test").click()
                page.wait_for_url(f"{url}/beoordelen")
                assert page.get_by_role("heading", name="Beoordelen", exact=True).is_visible()
                assert "Uitloggen" in page.content()
                shot(page, "sso-signed-in")
                # a second person cancels at the provider
                context.clear_cookies()
                provider.user = None
                page.goto(f"{url}/inloggen")
                page.get_by_role("link", name="Inloggen via Gemeente Test").click()
                page.wait_for_load_state()
                assert "Inloggen bij je organisatie is afgebroken." in page.content()
                assert page.url.startswith(f"{url}/inloggen/sso/terug")
                problems += _describe("SSO afgebroken", violations(page))
                shot(page, "sso-cancelled")
                assert not problems, "\n".join(problems)
            finally:
                context.close()
