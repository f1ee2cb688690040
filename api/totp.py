"""TOTP two-factor sign-in (RFC 6238, via pyotp): enrolment, codes, recovery codes, challenges.

A sign-in with a second factor happens in two steps. The password step creates a
``SignInChallenge`` (a random token in its own cookie, only its hash stored, valid a few
minutes); only the code step turns it into a session. A challenge is not a session: no page or
API route accepts it.

Codes: the current 30-second step and one step either side are accepted (clock drift), and a
step is accepted at most once per user: ``users.totp_last_step`` only moves forward, with a
conditional UPDATE, so the same code sent twice, even at the same moment, passes once.

Recovery codes: ten per enrolment, 80 random bits each, shown once; only their SHA-256 hashes
are stored, and each is marked used by a conditional UPDATE (single use, also under a race).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from store.models import SignInChallenge, TotpRecoveryCode, User

ISSUER = "stek"
CHALLENGE_TTL = timedelta(minutes=10)
VALID_WINDOW = 1  # steps either side of now that are accepted
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper
RECOVERY_GROUPS = 4  # of 4 characters: 16 characters of 32 symbols = 80 bits
CODE = re.compile(r"^\d{6}$")


def _now() -> datetime:
    return datetime.now(UTC)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- enrolment


def new_secret() -> str:
    """A random base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from the QR code or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The URI as a QR code in inline SVG (paths only, no script, no style element)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=4, dark="#000", light="#fff", title="QR-code voor je authenticator-app"
    )
    if "<script" in svg.lower() or "<style" in svg.lower():  # pragma: no cover - segno's output
        raise ValueError("unexpected element in the QR code's SVG")
    return Markup(svg)  # generated here from our own URI (paths only), not user text


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --------------------------------------------------------------------------- codes


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step within the window whose code is ``code``, or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of a code: ``ok``, or why not (``wrong``, ``replay``, ``format``)."""

    ok: bool
    reason: str = ""
    recovery: bool = False  # a recovery code was used

    @property
    def message(self) -> str:
        """The Dutch message for the person signing in."""
        return {
            "format": "Vul de zescijferige code uit je authenticator-app in, of een herstelcode.",
            "replay": "Deze code is al gebruikt. Wacht op de volgende code in je app.",
            "wrong": "Deze code klopt niet. Controleer de code in je app en probeer het opnieuw.",
        }.get(self.reason, "")


def accept_step(session: Session, user_id: int, step: int) -> bool:
    """Move ``users.totp_last_step`` to ``step`` if it is later than the last accepted one;
    False when it is not (the code was used already)."""
    moved = session.execute(
        update(User)
        .where(
            User.id == user_id,
            (User.totp_last_step.is_(None)) | (User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(moved, "rowcount", 0) == 1)


def normalise_recovery(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def use_recovery_code(session: Session, user_id: int, code: str, now: datetime) -> bool:
    """Mark the user's unused recovery code ``code`` as used; False when there is none."""
    digest = _sha256(normalise_recovery(code))
    used = session.execute(
        update(TotpRecoveryCode)
        .where(
            TotpRecoveryCode.user_id == user_id,
            TotpRecoveryCode.code_hash == digest,
            TotpRecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(used, "rowcount", 0) == 1)


def check_code(
    session: Session, user: User, code: str, secret: str | None = None, now: datetime | None = None
) -> CodeCheck:
    """Check a six-digit code against ``secret`` (default: the user's enrolled secret), or a
    recovery code when it is not six digits. An accepted code is used up."""
    now = now or _now()
    code = code.strip().replace(" ", "")
    secret = secret or user.totp_secret
    if not code or len(code) > 40:
        return CodeCheck(False, "format")
    if CODE.match(code):
        if secret is None:
            return CodeCheck(False, "wrong")
        step = _matching_step(secret, code, now)
        if step is None:
            return CodeCheck(False, "wrong")
        if not accept_step(session, user.id, step):
            return CodeCheck(False, "replay")
        return CodeCheck(True)
    if user.totp_secret is not None:  # recovery codes exist only after enrolment
        if use_recovery_code(session, user.id, code, now):
            return CodeCheck(True, recovery=True)
        return CodeCheck(False, "wrong")
    return CodeCheck(False, "format")


# --------------------------------------------------------------------------- recovery codes


def _recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4 * RECOVERY_GROUPS))
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def new_recovery_codes(session: Session, user_id: int, now: datetime | None = None) -> list[str]:
    """Replace the user's recovery codes with ten new ones; the codes (shown once)."""
    now = now or _now()
    session.execute(delete(TotpRecoveryCode).where(TotpRecoveryCode.user_id == user_id))
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(
        TotpRecoveryCode(user_id=user_id, code_hash=_sha256(normalise_recovery(c)), created_at=now)
        for c in codes
    )
    return codes


def unused_recovery_codes(session: Session, user_id: int) -> int:
    return len(
        session.scalars(
            select(TotpRecoveryCode.id).where(
                TotpRecoveryCode.user_id == user_id, TotpRecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def enrol(session: Session, user: User, secret: str, now: datetime | None = None) -> list[str]:
    """Store ``secret`` as the user's second factor (its first code was checked by the caller);
    the new recovery codes."""
    now = now or _now()
    user.totp_secret = secret
    user.totp_enrolled_at = now
    return new_recovery_codes(session, user.id, now)


def disable(session: Session, user: User) -> None:
    """Remove the user's second factor and recovery codes (an administrator's reset)."""
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    session.execute(delete(TotpRecoveryCode).where(TotpRecoveryCode.user_id == user.id))


# --------------------------------------------------------------------------- challenges


def open_challenge(
    session: Session, user: User, next_path: str | None, now: datetime | None = None
) -> str:
    """A challenge for ``user`` after a right password; its token (for the cookie)."""
    now = now or _now()
    token = secrets.token_urlsafe(32)
    session.add(
        SignInChallenge(
            token_hash=_sha256(token),
            user_id=user.id,
            next_path=next_path,
            created_at=now,
            expires_at=now + CHALLENGE_TTL,
        )
    )
    return token


def find_challenge(
    session: Session, token: str | None, now: datetime | None = None
) -> tuple[SignInChallenge, User] | None:
    """The live challenge for ``token`` with its (active) user, or None."""
    if not token:
        return None
    now = now or _now()
    row = session.execute(
        select(SignInChallenge, User)
        .join(User, SignInChallenge.user_id == User.id)
        .where(SignInChallenge.token_hash == _sha256(token))
    ).first()
    if row is None:
        return None
    challenge, user = row
    if _aware(challenge.expires_at) <= now or not user.active:
        return None
    return challenge, user


def close_challenge(session: Session, challenge: SignInChallenge) -> None:
    session.delete(challenge)
