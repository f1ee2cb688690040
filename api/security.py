"""Password hashing (argon2), and purging what sign-in leaves behind (expired sessions, tokens,
challenges and old sign-in attempts; issue 17). Sessions, tokens and CSRF live in api/auth.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, or_, true
from sqlalchemy.orm import Session

from store.models import AuthToken, LoginAttempt, SignInChallenge

# Sign-in attempts are kept this long by default (the privacy officer can see recent ones);
# never less than the back-off's window (api/auth.py ACCOUNT_CLIENT_WINDOW), which reads them.
DEFAULT_ATTEMPTS_TERM = timedelta(days=30)
MIN_ATTEMPTS_TERM = timedelta(hours=24)

# argon2id with OWASP's recommended minimum (m = 19 MiB, t = 2, p = 1; Password Storage Cheat
# Sheet), not argon2-cffi's default (RFC 9106 low-memory: 64 MiB, t = 3, p = 4): on a 2-core
# server the default took 0.3 s of CPU per sign-in (p = 4 on 2 cores), this one 0.06 s, so a
# sign-in page is not the slowest action of a review round (docs/decisions.md 39). Hashes made
# with other parameters still verify and are renewed at the next sign-in (``needs_rehash``).
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    if not password:
        raise ValueError("leeg wachtwoord")
    return _hasher.hash(password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a (verified) hash was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False for a wrong password or a missing/garbled hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --------------------------------------------------------------------------- purging


def purge_expired(
    session: Session,
    now: datetime | None = None,
    attempts_term: timedelta = DEFAULT_ATTEMPTS_TERM,
) -> dict[str, int]:
    """Delete what sign-in leaves behind once it can no longer be used: sessions and API tokens
    past their expiry or revoked, sign-in challenges past their expiry, and sign-in attempts
    older than ``attempts_term`` (never less than the back-off's 24-hour window, which reads
    them). The counts per kind. The caller's unit of work commits. (The retention job,
    ``store.retention``, deletes the same kinds by its configured terms, with the same 24-hour
    floor for attempts.)
    """
    now = now or datetime.now(UTC)
    attempts_term = max(attempts_term, MIN_ATTEMPTS_TERM)
    tokens = session.execute(
        delete(AuthToken).where(or_(AuthToken.expires_at <= now, AuthToken.revoked.is_(true())))
    )
    challenges = session.execute(delete(SignInChallenge).where(SignInChallenge.expires_at <= now))
    attempts = session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - attempts_term))
    return {
        "tokens": int(getattr(tokens, "rowcount", 0) or 0),
        "challenges": int(getattr(challenges, "rowcount", 0) or 0),
        "login_attempts": int(getattr(attempts, "rowcount", 0) or 0),
    }
