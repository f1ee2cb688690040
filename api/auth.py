"""Sign-in: server-side sessions (cookie + CSRF token) for pages, bearer tokens for API clients.

Tokens are random 256-bit strings; only their SHA-256 hash is stored. Failed sign-ins are
throttled per e-mail address and per client address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.app import SessionDep
from api.security import verify_password
from store.models import AuthToken, LoginAttempt, User

SESSION_COOKIE = "stek_session"
SESSION_TTL = timedelta(hours=8)
API_TOKEN_TTL = timedelta(days=30)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_CLIENT = 20


class LoginThrottled(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("te veel mislukte inlogpogingen")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the services see it."""

    user_id: int
    email: str
    name: str
    role: str
    organisation_id: int
    token_kind: str  # "session" or "api"
    csrf_token: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything stek writes is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _failures_since(
    session: Session, column: InstrumentedAttribute[Any], value: str, since: datetime
) -> int:
    stmt = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    )
    return int(session.scalar(stmt) or 0)


def authenticate(session: Session, email: str, password: str, client: str | None) -> User | None:
    """The active user with these credentials, or None. Raises ``LoginThrottled`` when throttled.

    Every attempt is recorded. The caller's unit of work commits, so callers must commit even
    when None is returned (the failure must count).
    """
    now = _now()
    since = now - THROTTLE_WINDOW
    email = email.strip().lower()
    if _failures_since(session, LoginAttempt.email, email, since) >= MAX_FAILURES_PER_EMAIL or (
        client
        and _failures_since(session, LoginAttempt.client, client, since) >= MAX_FAILURES_PER_CLIENT
    ):
        raise LoginThrottled(int(THROTTLE_WINDOW.total_seconds()))
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    ok = bool(user and user.active and verify_password(user.password_hash, password))
    session.add(LoginAttempt(email=email, client=client, at=now, success=ok))
    return user if ok else None


def issue_token(session: Session, user: User, kind: str, label: str | None = None) -> str:
    """Create a session or API token for ``user``; returns the secret (shown once)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    session.add(
        AuthToken(
            token_hash=_hash(token),
            kind=kind,
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32) if kind == "session" else None,
            label=label,
            created_at=now,
            expires_at=now + (SESSION_TTL if kind == "session" else API_TOKEN_TTL),
            revoked=False,
        )
    )
    return token


def resolve_token(session: Session, token: str, kind: str) -> Principal | None:
    row = session.execute(
        select(AuthToken, User)
        .join(User, AuthToken.user_id == User.id)
        .where(AuthToken.token_hash == _hash(token), AuthToken.kind == kind)
    ).first()
    if row is None:
        return None
    auth, user = row
    if auth.revoked or not user.active or _aware(auth.expires_at) <= _now():
        return None
    return Principal(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        organisation_id=user.organisation_id,
        token_kind=kind,
        csrf_token=auth.csrf_token,
    )


def revoke_token(session: Session, token: str) -> None:
    auth = session.scalar(select(AuthToken).where(AuthToken.token_hash == _hash(token)))
    if auth is not None:
        auth.revoked = True


def principal_from_request(request: Request, session: Session) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return resolve_token(session, header[7:].strip(), "api")
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return resolve_token(session, cookie, "session")
    return None


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    return principal_from_request(request, session)


def required_principal(request: Request, session: SessionDep) -> Principal:
    principal = principal_from_request(request, session)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Niet ingelogd",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(required_principal)]


def require_roles(*roles: str) -> object:
    """Dependency: the signed-in user must have one of ``roles`` (403 otherwise)."""

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Geen toegang voor deze rol")
        return principal

    return Depends(check)


def check_csrf(principal: Principal, submitted: str | None) -> None:
    """State-changing requests from a browser session must carry the session's CSRF token."""
    if principal.token_kind != "session":
        return
    expected = principal.csrf_token or ""
    if not submitted or not hmac.compare_digest(expected, submitted):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Ongeldig CSRF-token")
