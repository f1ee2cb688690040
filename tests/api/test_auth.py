"""Sign-in: sessions with CSRF, bearer tokens, throttling, roles; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import api.auth
from api.app import create_app
from api.auth import (
    FREE_FAILURES_PER_CLIENT,
    SESSION_COOKIE,
    Backoff,
    CurrentPrincipal,
    LoginThrottled,
    authenticate,
    client_address,
    require_roles,
)
from api.security import hash_password, verify_password
from api.settings import Settings
from store.models import AuthToken, LoginAttempt, Organisation, User

PASSWORD = "correct horse"


@pytest.fixture
def users(session_factory: sessionmaker[Session]) -> None:
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


@pytest.fixture
def app(db_url: str, users: None) -> FastAPI:
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


# --------------------------------------------------------------------------- throttling (issue 13)


def _client_at(db_url: str, address: str, **settings: object) -> TestClient:
    """A browser at ``address`` talking to an app with these settings."""
    app = create_app(Settings(database_url=db_url, **settings))  # type: ignore[arg-type]
    return TestClient(app, follow_redirects=False, client=(address, 50000))


def test_failures_slow_down_only_the_client_that_made_them(db_url: str, users: None) -> None:
    attacker = _client_at(db_url, "198.51.100.66", login_backoff_base_s=60)
    codes = [_login(attacker, "admin@test.invalid", "wrong").status_code for _ in range(5)]  # type: ignore[attr-defined]
    assert codes == [401, 401, 401, 429, 429]
    refused = _login(attacker, "admin@test.invalid")
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert re.search(r"Te veel pogingen; probeer het over \d+ seconden opnieuw", refused.text)  # type: ignore[attr-defined]
    assert 55 <= int(refused.headers["Retry-After"]) <= 60  # type: ignore[attr-defined]
    # The admin, elsewhere, is not locked out by the attacker.
    admin = _client_at(db_url, "192.0.2.10", login_backoff_base_s=60)
    assert _login(admin, "admin@test.invalid").status_code == 303  # type: ignore[attr-defined]


def test_token_endpoint_is_throttled_with_a_dutch_message(db_url: str, users: None) -> None:
    client = _client_at(db_url, "198.51.100.66", login_backoff_base_s=30)
    wrong = {"email": "admin@test.invalid", "password": "wrong"}
    for _ in range(3):
        assert client.post("/api/v1/auth/token", json=wrong).status_code == 401
    response = client.post("/api/v1/auth/token", json=wrong)
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Te veel pogingen; probeer het over ")
    assert 25 <= int(response.headers["Retry-After"]) <= 30


def test_backoff_doubles_up_to_the_cap_and_a_success_starts_afresh(
    session_factory: sessionmaker[Session], users: None
) -> None:
    backoff = Backoff(base_s=10, cap_s=40)
    t = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def attempt(password: str, at: datetime) -> int | None:
        """None when signed in or refused; the wait in seconds when throttled."""
        with session_factory.begin() as s:
            try:
                authenticate(s, "admin@test.invalid", password, "203.0.113.5", backoff, at)
            except LoginThrottled as exc:
                return exc.retry_after_s
        return None

    for _ in range(3):  # free failures
        assert attempt("wrong", t) is None
    waits = []
    for _ in range(4):
        wait = attempt("wrong", t)
        assert wait is not None
        waits.append(wait)
        t += timedelta(seconds=wait)
        assert attempt("wrong", t) is None  # allowed again, and fails once more
    assert waits == [10, 20, 40, 40]
    t += timedelta(seconds=40)
    assert attempt(PASSWORD, t) is None  # signed in
    with session_factory() as s:
        assert s.scalar(select(LoginAttempt.success).order_by(LoginAttempt.id.desc()).limit(1))
    for _ in range(3):  # after a success the free failures are there again
        assert attempt("wrong", t) is None
    assert attempt("wrong", t) == 10


def test_one_client_spraying_many_accounts_is_throttled(
    session_factory: sessionmaker[Session], users: None
) -> None:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with session_factory.begin() as s:
        for i in range(FREE_FAILURES_PER_CLIENT):
            assert authenticate(s, f"guess{i}@test.invalid", "x", "203.0.113.7", now=at) is None
    with session_factory.begin() as s, pytest.raises(LoginThrottled):
        authenticate(s, "admin@test.invalid", PASSWORD, "203.0.113.7", now=at)
    with session_factory.begin() as s:  # another client is not affected
        assert authenticate(s, "admin@test.invalid", PASSWORD, "192.0.2.10", now=at) is not None


@pytest.mark.parametrize("email", ["nobody@test.invalid", "gone@test.invalid"])
def test_unknown_or_inactive_account_costs_the_same_password_hash(
    session_factory: sessionmaker[Session],
    users: None,
    email: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[str] = []

    def counting(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash or "")
        return verify_password(password_hash, password)

    monkeypatch.setattr(api.auth, "verify_password", counting)
    with session_factory.begin() as s:
        assert authenticate(s, email, PASSWORD, "192.0.2.1") is None
        real = s.scalar(select(User.password_hash).where(User.email == "admin@test.invalid"))
    assert real is not None and len(checked) == 1

    def parameters(encoded: str) -> str:  # "$argon2id$v=19$m=65536,t=3,p=4$salt$hash"
        return "$".join(encoded.split("$")[:4])

    assert parameters(checked[0]) == parameters(real)


def _request(peer: str, forwarded: list[str]) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    scope = {"type": "http", "headers": headers, "client": (peer, 1234)}
    return Request(scope)


def test_client_address_believes_forwarded_for_only_from_trusted_proxies() -> None:
    spoofed = ["6.6.6.6, 198.51.100.7"]
    assert client_address(_request("127.0.0.1", spoofed), "") == "127.0.0.1"
    assert client_address(_request("192.0.2.50", spoofed), "127.0.0.1") == "192.0.2.50"
    assert client_address(_request("127.0.0.1", spoofed), "127.0.0.1") == "198.51.100.7"
    # Two proxies (a network and an address): the first hop left of them is the client.
    chain = ["6.6.6.6", "198.51.100.7, 10.1.2.3"]
    assert client_address(_request("127.0.0.1", chain), "10.0.0.0/8, 127.0.0.1") == "198.51.100.7"
    # Garbage where a proxy would have written an address: counted under that proxy.
    assert client_address(_request("127.0.0.1", ["unknown"]), "127.0.0.1") == "127.0.0.1"


def test_rotating_forwarded_for_does_not_escape_the_throttle(db_url: str, users: None) -> None:
    local_proxy = _client_at(db_url, "127.0.0.1", login_backoff_base_s=60)
    codes = [
        _login_via(local_proxy, f"198.51.100.{i}").status_code  # type: ignore[attr-defined]
        for i in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]
    # Behind a configured proxy each forwarded client counts on its own.
    trusted = _client_at(db_url, "127.0.0.1", login_backoff_base_s=60, trusted_proxies="127.0.0.1")
    codes = [
        _login_via(trusted, f"198.51.100.{i}").status_code  # type: ignore[attr-defined]
        for i in range(5)
    ]
    assert codes == [401] * 5


def _login_via(client: TestClient, forwarded_for: str) -> object:
    form = client.get("/inloggen")
    return client.post(
        "/inloggen",
        data={"email": "admin@test.invalid", "password": "wrong", "csrf_token": _csrf(form.text)},
        headers={"X-Forwarded-For": forwarded_for},
    )


def test_a_hash_with_old_parameters_is_renewed_at_sign_in(
    session_factory: sessionmaker[Session], users: None
) -> None:
    """A hash made with argon2-cffi's default parameters (how stek hashed before decision 39)
    still signs in, and is replaced by one with today's parameters; a wrong password renews
    nothing."""
    from argon2 import PasswordHasher

    from api.security import needs_rehash

    old = PasswordHasher().hash(PASSWORD)  # 64 MiB, t = 3, p = 4
    assert needs_rehash(old) and not needs_rehash(hash_password(PASSWORD))
    with session_factory.begin() as s:
        user = s.scalars(select(User).where(User.email == "planner@test.invalid")).one()
        user.password_hash = old
    with session_factory.begin() as s:
        assert authenticate(s, "planner@test.invalid", "wrong", "10.0.0.1") is None
    with session_factory.begin() as s:
        assert s.scalars(select(User.password_hash).where(User.role == "planner")).one() == old
        assert authenticate(s, "planner@test.invalid", PASSWORD, "10.0.0.1") is not None
    with session_factory() as s:
        renewed = s.scalars(select(User.password_hash).where(User.role == "planner")).one()
    assert renewed != old and not needs_rehash(renewed) and verify_password(renewed, PASSWORD)
