"""Sign-in: sessions with CSRF, bearer tokens, throttling, roles; on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth import MAX_FAILURES_PER_EMAIL, SESSION_COOKIE, CurrentPrincipal, require_roles
from api.security import hash_password
from api.settings import Settings
from store.models import AuthToken, LoginAttempt, Organisation, User

PASSWORD = "correct horse"


@pytest.fixture
def app(db_url: str, session_factory: sessionmaker[Session]) -> FastAPI:
    with session_factory.begin() as s:
        org = Organisation(code="GEM-0796", name="Gemeente", kind="gemeente")
        s.add(org)
        s.flush()
        hashed = hash_password(PASSWORD)
        for role in ("admin", "gemeente", "regisseur", "planner"):
            s.add(
                User(
                    email=f"{role}@test.invalid",
                    name=role.title(),
                    role=role,
                    organisation_id=org.id,
                    password_hash=hashed,
                )
            )
        s.add(
            User(
                email="gone@test.invalid",
                name="Gone",
                role="admin",
                organisation_id=org.id,
                password_hash=hashed,
                active=False,
            )
        )
    application = create_app(Settings(database_url=db_url))

    @application.get("/api/v1/test-admin-only")
    def admin_only(
        principal: CurrentPrincipal, _: object = require_roles("admin")
    ) -> dict[str, str]:
        return {"email": principal.email}

    return application


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=False)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "form without CSRF token"
    return match.group(1)


def _login(client: TestClient, email: str, password: str = PASSWORD) -> object:
    form = client.get("/inloggen")
    return client.post(
        "/inloggen", data={"email": email, "password": password, "csrf_token": _csrf(form.text)}
    )


def test_login_sets_httponly_session_cookie_and_redirects_to_role_home(client: TestClient) -> None:
    response = _login(client, "regisseur@test.invalid")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/regisseur"  # type: ignore[attr-defined]
    cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/regisseur")
    assert "Regisseur (regisseur)" in page.text
    assert client.get("/api/v1/auth/me").json()["role"] == "regisseur"


def test_session_token_is_stored_hashed(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _login(client, "admin@test.invalid")
    secret = client.cookies[SESSION_COOKIE]
    with session_factory() as s:
        hashes = s.scalars(select(AuthToken.token_hash)).all()
    assert hashes and secret not in hashes


def test_wrong_password_is_refused_and_recorded(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    response = _login(client, "admin@test.invalid", "wrong")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "onjuist wachtwoord" in response.text  # type: ignore[attr-defined]
    with session_factory() as s:
        failures = s.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.success.is_(False))
        )
    assert failures == 1


def test_inactive_user_cannot_sign_in(client: TestClient) -> None:
    assert _login(client, "gone@test.invalid").status_code == 401  # type: ignore[attr-defined]


def test_login_form_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/inloggen")
    response = client.post(
        "/inloggen", data={"email": "admin@test.invalid", "password": PASSWORD, "csrf_token": "x"}
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_login_is_throttled_after_repeated_failures(client: TestClient) -> None:
    for _ in range(MAX_FAILURES_PER_EMAIL):
        assert _login(client, "admin@test.invalid", "wrong").status_code == 401  # type: ignore[attr-defined]
    # even the right password is refused while throttled
    response = _login(client, "admin@test.invalid")
    assert response.status_code == 429  # type: ignore[attr-defined]
    assert "Retry-After" in response.headers  # type: ignore[attr-defined]


def test_logout_needs_csrf_and_revokes_session(client: TestClient) -> None:
    _login(client, "planner@test.invalid")
    assert client.post("/uitloggen", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/api/v1/auth/me").status_code == 200
    page = client.get("/planner")
    response = client.post("/uitloggen", data={"csrf_token": _csrf(page.text)})
    assert response.status_code == 303
    client.cookies.clear()
    assert client.get("/api/v1/auth/me").status_code == 401


def test_bearer_token_for_api_clients(client: TestClient) -> None:
    bad = client.post("/api/v1/auth/token", json={"email": "admin@test.invalid", "password": "x"})
    assert bad.status_code == 401
    good = client.post(
        "/api/v1/auth/token", json={"email": "Admin@Test.invalid", "password": PASSWORD}
    )
    assert good.status_code == 200
    token = good.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email"] == "admin@test.invalid"
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    )


def test_token_request_validation_names_the_field(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", json={"email": "a@b.c"})
    assert response.status_code == 422
    assert any(err["loc"][-1] == "password" for err in response.json()["detail"])


def test_role_dependency_gives_403_to_other_roles(client: TestClient) -> None:
    def bearer(email: str) -> dict[str, str]:
        token = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    assert client.get("/api/v1/test-admin-only").status_code == 401
    assert (
        client.get("/api/v1/test-admin-only", headers=bearer("planner@test.invalid")).status_code
        == 403
    )
    ok = client.get("/api/v1/test-admin-only", headers=bearer("admin@test.invalid"))
    assert ok.json() == {"email": "admin@test.invalid"}


@pytest.mark.parametrize(
    "target",
    ["//evil.example/steal", "/\\evil.example", "/\t/evil.example", "https://evil.example"],
)
def test_login_redirect_only_to_local_paths(client: TestClient, target: str) -> None:
    form = client.get("/inloggen")
    response = client.post(
        "/inloggen",
        data={
            "email": "admin@test.invalid",
            "password": PASSWORD,
            "csrf_token": _csrf(form.text),
            "next": target,
        },
    )
    assert response.headers["location"] == "/beheer"


def test_login_redirects_to_a_local_next_path(client: TestClient) -> None:
    form = client.get("/inloggen")
    response = client.post(
        "/inloggen",
        data={
            "email": "admin@test.invalid",
            "password": PASSWORD,
            "csrf_token": _csrf(form.text),
            "next": "/planner?scenario=base",
        },
    )
    assert response.headers["location"] == "/planner?scenario=base"
