"""Sign-in: server-side sessions (cookie + CSRF token) for pages, bearer tokens for API clients.

Tokens are random 256-bit strings; only their SHA-256 hash is stored.

Failed sign-ins slow down, they never lock an account: after a few free failures the wait before
the next try doubles (up to a cap), counted per account *and* client, and per client over all
accounts. Someone guessing the admin's password from elsewhere slows only themselves down. The
client is the direct peer, or the address a trusted proxy (``settings.trusted_proxies``) reports
in ``X-Forwarded-For``. An unknown or inactive account costs the same password hash as a known
one, so the answer's timing does not tell whether an account exists.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.security import hash_password, needs_rehash, verify_password
from api.settings import Settings
from store.models import AuthToken, LoginAttempt, User

SESSION_COOKIE = "stek_session"
SESSION_TTL = timedelta(hours=8)
API_TOKEN_TTL = timedelta(days=30)
# Failures before the back-off starts, and how far back they count.
FREE_FAILURES_PER_ACCOUNT_CLIENT = 3
ACCOUNT_CLIENT_WINDOW = timedelta(hours=24)
FREE_FAILURES_PER_CLIENT = 20
CLIENT_WINDOW = timedelta(hours=1)
# Roles that must sign in with a second factor (TOTP) when ``settings.require_totp`` is on:
# every role that sees data about individual young people (docs/decisions.md). A planner sees
# aggregates only and may enrol voluntarily; whoever has enrolled is always asked for a code.
TOTP_ROLES = ("admin", "regisseur", "privacy", "gemeente", "corporatie")
# Roles confined to a few paths whatever a route's own gate says (deny by default): the privacy
# officer reads the audit log, the retention report and a data-subject export, nothing else.
ROLE_PATHS: dict[str, tuple[str, ...]] = {
    "privacy": (
        "/privacy",
        "/api/v1/audit",
        "/api/v1/auth/",
        "/api/v1/health",
        "/berichten",  # the officer's own inbox (the nav links it for everyone)
        "/uitloggen",
    ),
}
ROLE_EXACT_PATHS: dict[str, tuple[str, ...]] = {"privacy": ("/", "/toegankelijkheid")}


class LoginThrottled(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("te veel mislukte inlogpogingen")
        self.retry_after_s = retry_after_s

    @property
    def message(self) -> str:
        """The Dutch message for the person signing in."""
        unit = "seconde" if self.retry_after_s == 1 else "seconden"
        return f"Te veel pogingen; probeer het over {self.retry_after_s} {unit} opnieuw."


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off: after ``free`` failures the wait is ``base_s``, then doubles with
    each further failure, up to ``cap_s``."""

    base_s: float = 1.0
    cap_s: float = 15 * 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Backoff:
        return cls(settings.login_backoff_base_s, settings.login_backoff_cap_s)

    def wait_s(self, failures: int, free: int) -> float:
        if failures < free:
            return 0.0
        return min(self.cap_s, self.base_s * 2.0 ** min(failures - free, 64))


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


# --------------------------------------------------------------------------- client address

Network = IPv4Network | IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(spec: str) -> tuple[Network, ...]:
    """``settings.trusted_proxies`` (comma-separated addresses or networks) parsed."""
    return tuple(ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(request: Request, trusted_proxies: str) -> str | None:
    """The address sign-in attempts are counted under.

    ``X-Forwarded-For`` is read only when the direct peer is a trusted proxy; then the hops are
    walked from the right (the ones the trusted proxies appended) to the first address that is
    not a trusted proxy. Anything left of it was written by the client and is not believed.
    """
    peer = request.client.host if request.client else None
    networks = trusted_networks(trusted_proxies)
    if peer is None or not _trusted(peer, networks):
        return peer
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    last_trusted = peer
    for hop in reversed(hops):
        try:
            address = str(ip_address(hop))
        except ValueError:
            return last_trusted  # a hop no proxy would write: count it under the proxy
        if not _trusted(address, networks):
            return address
        last_trusted = address
    return last_trusted


# --------------------------------------------------------------------------- throttling


def _wait_s(
    session: Session,
    who: list[ColumnElement[bool]],
    since: datetime,
    free: int,
    backoff: Backoff,
    now: datetime,
) -> float:
    """Seconds to wait before the next try by ``who``: failures since ``since`` (and since
    ``who``'s last success, when ``who`` names an account) drive the back-off from the latest."""
    count, latest = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            *who, LoginAttempt.success.is_(false()), LoginAttempt.at >= since
        )
    ).one()
    if not count or latest is None:
        return 0.0
    return (_aware(latest) + timedelta(seconds=backoff.wait_s(count, free)) - now).total_seconds()


def _last_success(session: Session, who: list[ColumnElement[bool]], since: datetime) -> datetime:
    latest = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            *who, LoginAttempt.success.is_(true()), LoginAttempt.at >= since
        )
    )
    return max(_aware(latest), since) if latest is not None else since


def throttle_wait_s(
    session: Session, email: str, client: str | None, backoff: Backoff, now: datetime
) -> float:
    """Seconds ``client`` must wait before trying ``email`` again (0: go ahead).

    Per account and client the failures since that pair's last success count (a person who
    mistyped and then signed in starts afresh); per client every failure in the last hour
    counts, whatever account, so signing in to one's own account does not reset a spray over
    many accounts.
    """
    by_client = (
        LoginAttempt.client == client if client is not None else LoginAttempt.client.is_(None)
    )
    pair = [LoginAttempt.email == email, by_client]
    since = _last_success(session, pair, now - ACCOUNT_CLIENT_WINDOW)
    wait = _wait_s(session, pair, since, FREE_FAILURES_PER_ACCOUNT_CLIENT, backoff, now)
    if client is not None:
        wait = max(
            wait,
            _wait_s(
                session, [by_client], now - CLIENT_WINDOW, FREE_FAILURES_PER_CLIENT, backoff, now
            ),
        )
    return wait


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password with the same argon2 parameters as real ones."""
    return hash_password(secrets.token_urlsafe(24))


def check_throttle(
    session: Session, email: str, client: str | None, backoff: Backoff, now: datetime
) -> None:
    """Raise ``LoginThrottled`` while ``client`` must wait before trying ``email`` again."""
    wait = throttle_wait_s(session, email.strip().lower(), client, backoff, now)
    if wait > 0:
        raise LoginThrottled(math.ceil(wait))


def record_attempt(
    session: Session, email: str, client: str | None, success: bool, now: datetime | None = None
) -> None:
    """Count a sign-in step (a second-factor code counts like a password)."""
    session.add(
        LoginAttempt(email=email.strip().lower(), client=client, at=now or _now(), success=success)
    )


def needs_totp(user: User, require_totp: bool) -> bool:
    """Whether ``user`` signs in with a code: always once enrolled, and for ``TOTP_ROLES``
    when the setting requires it (they enrol at their next sign-in)."""
    return user.totp_secret is not None or (require_totp and user.role in TOTP_ROLES)


def authenticate(
    session: Session,
    email: str,
    password: str,
    client: str | None,
    backoff: Backoff | None = None,
    now: datetime | None = None,
    second_factor: bool | None = None,
) -> User | None:
    """The active user with these credentials, or None. Raises ``LoginThrottled`` while the
    client must wait (a throttled try is not counted and checks no password).

    Every other attempt is recorded, except a right password of a user who still owes a second
    factor (``second_factor``: the setting ``require_totp``; None: no second factor): that
    success is recorded only when the code is right, so re-entering the password does not
    reset the back-off on wrong codes. The caller's unit of work commits, so callers must commit
    even when None is returned (the failure must count).
    """
    now = now or _now()
    email = email.strip().lower()
    check_throttle(session, email, client, backoff or Backoff(), now)
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    known = user is not None and bool(user.password_hash)
    # Always one argon2 verification, so an unknown e-mail answers as slowly as a known one.
    matches = verify_password(user.password_hash if known and user else _dummy_hash(), password)
    ok = bool(known and user and user.active and matches)
    if ok and user and user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)  # renewed to today's parameters
    if not (ok and user and second_factor is not None and needs_totp(user, second_factor)):
        record_attempt(session, email, client, ok, now)
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


def _under(path: str, prefix: str) -> bool:
    base = prefix.rstrip("/")
    return path == base or path.startswith(base + "/")


def role_may_open(role: str, path: str) -> bool:
    """False when ``role`` is confined (``ROLE_PATHS``) and ``path`` is outside its paths."""
    prefixes = ROLE_PATHS.get(role)
    if prefixes is None:
        return True
    return path in ROLE_EXACT_PATHS.get(role, ()) or any(_under(path, p) for p in prefixes)


class RoleConfined(HTTPException):
    """A confined role outside its paths: 403 (JSON for the API, the Dutch page elsewhere:
    ``api.pages.common.install_page_handlers``)."""

    def __init__(self, principal: Principal) -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, detail="Geen toegang voor deze rol")
        self.principal = principal


def _confined(request: Request, principal: Principal | None) -> Principal | None:
    if principal is not None and not role_may_open(principal.role, request.url.path):
        raise RoleConfined(principal)
    return principal


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    return _confined(request, principal_from_request(request, session))


def required_principal(request: Request, session: SessionDep) -> Principal:
    principal = _confined(request, principal_from_request(request, session))
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
