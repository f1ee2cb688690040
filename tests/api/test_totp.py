"""TOTP two-factor sign-in (issue 17 item 4): enrolment, codes, replay, recovery codes, back-off,
the API token, and the purge of expired sign-in data; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.app import create_app
from api.auth import SESSION_COOKIE, TOTP_ROLES
from api.cli import app
from api.routers.auth import CHALLENGE_COOKIE
from api.security import hash_password, purge_expired
from api.settings import Settings
from store.models import (
    AuditEntry,
    AuthToken,
    LoginAttempt,
    Organisation,
    SignInChallenge,
    TotpRecoveryCode,
    User,
)
from tests.page_helpers import csrf_in

PASSWORD = "correct horse"
URI = re.compile(r"otpauth://totp/[^<\s\"]+")


@pytest.fixture
def users(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as s:
        org = Organisation(code="GEM-0796", name="Gemeente", kind="gemeente")
        s.add(org)
        s.flush()
        hashed = hash_password(PASSWORD)
        for role in ("admin", "planner", "privacy"):
            s.add(
                User(
                    email=f"{role}@test.invalid",
                    name=role.title(),
                    role=role,
                    organisation_id=org.id,
                    password_hash=hashed,
                )
            )


def _client(db_url: str, **settings: object) -> TestClient:
    options: dict[str, object] = {"require_totp": True, "login_backoff_base_s": 60.0, **settings}
    return TestClient(create_app(Settings(database_url=db_url, **options)))  # type: ignore[arg-type]


def _password(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """The password step; where it redirects to."""
    form = client.get("/inloggen")
    done = client.post(
        "/inloggen",
        data={"email": email, "password": password, "csrf_token": csrf_in(form.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return done.headers["location"]


def _send_code(client: TestClient, path: str, code: str) -> httpx.Response:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(
        path, data={"code": code, "csrf_token": csrf_in(page.text)}, follow_redirects=False
    )


def _enrol(client: TestClient, email: str) -> tuple[pyotp.TOTP, list[str]]:
    """Sign in with the password and enrol; the app's TOTP and the recovery codes shown."""
    assert _password(client, email) == "/inloggen/tweestaps"
    page = client.get("/inloggen/tweestaps")
    uri = URI.search(page.text)
    assert uri, page.text
    secret = parse_qs(urlparse(uri.group(0).replace("&amp;", "&")).query)["secret"][0]
    totp = pyotp.TOTP(secret)
    done = client.post(
        "/inloggen/tweestaps",
        data={"code": totp.now(), "csrf_token": csrf_in(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", done.text)
    return totp, codes


def _next_code(totp: pyotp.TOTP) -> str:
    """A code of the next step (inside the accepted window, later than the one used)."""
    return totp.at(datetime.now(UTC) + timedelta(seconds=30))


def _audit(factory: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_required_roles_are_written_down() -> None:
    assert set(TOTP_ROLES) == {"admin", "regisseur", "privacy", "gemeente", "corporatie"}


def test_enrolment_shows_qr_and_uri_and_ten_hashed_codes_once(
    db_url: str, users: None, session_factory: sessionmaker[Session]
) -> None:
    client = _client(db_url)
    assert _password(client, "admin@test.invalid") == "/inloggen/tweestaps"
    # half signed in: no session yet, the admin page asks for sign-in
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/beheer", follow_redirects=False).status_code == 303
    page = client.get("/inloggen/tweestaps")
    assert "<svg" in page.text and "<script" not in page.text.split("<main", 1)[1]
    assert "otpauth://totp/stek:admin%40test.invalid" in page.text
    assert page.headers["cache-control"] == "no-store"

    wrong = client.post(
        "/inloggen/tweestaps",
        data={"code": "000000", "csrf_token": csrf_in(page.text)},
        follow_redirects=False,
    )
    assert wrong.status_code == 401
    assert "Deze code klopt niet" in wrong.text
    with session_factory() as s:
        admin = s.scalars(select(User).where(User.email == "admin@test.invalid")).one()
        assert admin.totp_secret is None  # nothing enrolled on a wrong code
    refused = _audit(session_factory, "auth.totp_refused")
    assert [e.detail for e in refused] == [{"reason": "wrong", "via": "instellen"}]

    client = _client(db_url)
    totp, codes = _enrol(client, "admin@test.invalid")
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/beheer").status_code == 200  # signed in now
    with session_factory() as s:
        admin = s.scalars(select(User).where(User.email == "admin@test.invalid")).one()
        assert admin.totp_secret == totp.secret
        stored = s.scalars(select(TotpRecoveryCode.code_hash)).all()
        assert len(stored) == 10 and not set(stored) & {c.replace("-", "") for c in codes}
        # the finished sign-in's challenge is gone; the abandoned first one waits for the purge
        assert s.scalar(select(func.count()).select_from(SignInChallenge)) == 1
    assert len(_audit(session_factory, "auth.totp_enrolled")) == 1
    # the enrolment page is gone for an enrolled user: a fresh sign-in asks for a code instead
    fresh = _client(db_url)
    assert _password(fresh, "admin@test.invalid") == "/inloggen/code"
    assert fresh.get("/inloggen/tweestaps").status_code == 401


def test_code_sign_in_refuses_wrong_and_replayed_codes(
    db_url: str, users: None, session_factory: sessionmaker[Session]
) -> None:
    totp, _codes = _enrol(_client(db_url), "admin@test.invalid")
    used = totp.now()  # accepted at enrolment
    client = _client(db_url)
    assert _password(client, "admin@test.invalid") == "/inloggen/code"
    replay = _send_code(client, "/inloggen/code", used)
    assert replay.status_code == 401 and "al gebruikt" in replay.text
    assert SESSION_COOKIE not in client.cookies
    code = _next_code(totp)
    good = _send_code(client, "/inloggen/code", code)
    assert good.status_code == 303 and good.headers["location"] == "/beheer"
    assert client.get("/beheer").status_code == 200
    reasons = [e.detail["reason"] for e in _audit(session_factory, "auth.totp_refused") if e.detail]
    assert reasons == ["replay"]
    # the same code once more, in a new sign-in: refused (a step is accepted once)
    again = _client(db_url)
    _password(again, "admin@test.invalid")
    assert _send_code(again, "/inloggen/code", code).status_code == 401


def test_recovery_code_works_once(
    db_url: str, users: None, session_factory: sessionmaker[Session]
) -> None:
    _totp, codes = _enrol(_client(db_url), "admin@test.invalid")
    client = _client(db_url)
    _password(client, "admin@test.invalid")
    done = _send_code(client, "/inloggen/code", codes[3].lower().replace("-", " "))
    assert done.status_code == 303
    used = _audit(session_factory, "auth.recovery_code_used")
    assert [e.detail for e in used] == [{"left": 9, "via": "pagina"}]
    client = _client(db_url)
    _password(client, "admin@test.invalid")
    twice = _send_code(client, "/inloggen/code", codes[3])
    assert twice.status_code == 401 and "klopt niet" in twice.text


def test_wrong_codes_slow_down_and_a_new_password_does_not_reset_that(
    db_url: str, users: None, session_factory: sessionmaker[Session]
) -> None:
    totp, _codes = _enrol(_client(db_url), "admin@test.invalid")
    client = _client(db_url)
    _password(client, "admin@test.invalid")
    for _ in range(3):  # the free failures
        assert _send_code(client, "/inloggen/code", "123456").status_code == 401
    throttled = _send_code(client, "/inloggen/code", _next_code(totp))
    assert throttled.status_code == 429 and "Te veel pogingen" in throttled.text
    assert SESSION_COOKIE not in client.cookies
    # the password again (right): throttled as well, the code failures still count
    form = client.get("/inloggen")
    again = client.post(
        "/inloggen",
        data={
            "email": "admin@test.invalid",
            "password": PASSWORD,
            "csrf_token": csrf_in(form.text),
        },
        follow_redirects=False,
    )
    assert again.status_code == 429
    with session_factory() as s:
        assert s.scalar(select(func.count()).where(LoginAttempt.success.is_(True))) == 1  # enrol


def test_who_needs_a_code(db_url: str, users: None) -> None:
    # a planner is not required to enrol: the password signs in
    planner = _client(db_url)
    assert _password(planner, "planner@test.invalid") == "/planner"
    assert SESSION_COOKIE in planner.cookies
    # with the setting off, an admin who has not enrolled signs in with the password only
    off = _client(db_url, require_totp=False)
    assert _password(off, "admin@test.invalid") == "/beheer"
    # ... but once enrolled, the code is always asked
    _enrol(_client(db_url), "privacy@test.invalid")
    assert _password(_client(db_url, require_totp=False), "privacy@test.invalid") == (
        "/inloggen/code"
    )


def test_challenge_is_not_a_session(db_url: str, users: None) -> None:
    client = _client(db_url)
    _password(client, "admin@test.invalid")
    challenge = client.cookies[CHALLENGE_COOKIE]
    other = _client(db_url)
    other.cookies.set(SESSION_COOKIE, challenge)
    assert other.get("/api/v1/auth/me").status_code == 401
    bearer = {"Authorization": f"Bearer {challenge}"}
    assert _client(db_url).get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_expired_challenge_is_refused(
    db_url: str, users: None, session_factory: sessionmaker[Session]
) -> None:
    client = _client(db_url)
    _password(client, "admin@test.invalid")
    with session_factory.begin() as s:
        for challenge in s.scalars(select(SignInChallenge)):
            challenge.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    page = client.get("/inloggen/tweestaps")
    assert page.status_code == 401 and "verlopen" in page.text


def test_api_token_asks_for_the_code(
    db_url: str, users: None, session_factory: sessionmaker[Session]
) -> None:
    client = _client(db_url)
    body = {"email": "admin@test.invalid", "password": PASSWORD}
    not_enrolled = client.post("/api/v1/auth/token", json=body)
    assert not_enrolled.status_code == 403 and "verplicht" in not_enrolled.json()["detail"]
    totp, _codes = _enrol(_client(db_url), "admin@test.invalid")
    missing = client.post("/api/v1/auth/token", json=body)
    assert missing.status_code == 401 and "totp_code" in missing.json()["detail"]
    wrong = client.post("/api/v1/auth/token", json={**body, "totp_code": "999999"})
    assert wrong.status_code == 401 and "klopt niet" in wrong.json()["detail"]
    ok = client.post("/api/v1/auth/token", json={**body, "totp_code": _next_code(totp)})
    assert ok.status_code == 200, ok.text
    refused = _audit(session_factory, "auth.totp_refused")
    assert [e.detail for e in refused] == [{"reason": "wrong", "via": "api"}]


def test_purge_expired_removes_only_what_is_past_use(
    session_factory: sessionmaker[Session], users: None
) -> None:
    now = datetime.now(UTC)
    with session_factory.begin() as s:
        user = s.scalars(select(User).where(User.role == "admin")).one()
        for n, (expires, revoked) in enumerate(
            [
                (now - timedelta(minutes=1), False),
                (now + timedelta(hours=1), True),
                (now + timedelta(hours=1), False),
            ]
        ):
            s.add(
                AuthToken(
                    token_hash=f"{n:064d}",
                    kind="session",
                    user_id=user.id,
                    created_at=now - timedelta(hours=2),
                    expires_at=expires,
                    revoked=revoked,
                )
            )
        for n, expires in enumerate([now - timedelta(seconds=1), now + timedelta(minutes=5)]):
            s.add(
                SignInChallenge(
                    token_hash=f"c{n:063d}", user_id=user.id, created_at=now, expires_at=expires
                )
            )
        for days in (40, 2, 0):
            s.add(
                LoginAttempt(
                    email="x@test.invalid",
                    client=None,
                    success=False,
                    at=now - timedelta(days=days),
                )
            )
    with session_factory.begin() as s:
        counts = purge_expired(s, now=now)
        # a term shorter than the back-off window is raised to 24 hours
        short = purge_expired(s, now=now, attempts_term=timedelta(minutes=1))
    assert counts == {"tokens": 2, "challenges": 1, "login_attempts": 1}
    assert short == {"tokens": 0, "challenges": 0, "login_attempts": 1}
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(AuthToken)) == 1
        assert s.scalar(select(func.count()).select_from(SignInChallenge)) == 1
        assert s.scalar(select(func.count()).select_from(LoginAttempt)) == 1


def test_cli_reset_lets_the_user_enrol_again(
    db_url: str, users: None, session_factory: sessionmaker[Session]
) -> None:
    _enrol(_client(db_url), "admin@test.invalid")
    runner = CliRunner()
    unknown = runner.invoke(
        app, ["totp", "reset", "niemand@test.invalid", "--database-url", db_url]
    )
    assert unknown.exit_code == 2
    done = runner.invoke(app, ["totp", "reset", "ADMIN@test.invalid", "--database-url", db_url])
    assert done.exit_code == 0, done.output
    with session_factory() as s:
        admin = s.scalars(select(User).where(User.email == "admin@test.invalid")).one()
        assert admin.totp_secret is None
        assert s.scalar(select(func.count()).select_from(TotpRecoveryCode)) == 0
    assert [e.detail for e in _audit(session_factory, "auth.totp_reset")] == [{"had": True}]
    assert _password(_client(db_url), "admin@test.invalid") == "/inloggen/tweestaps"
