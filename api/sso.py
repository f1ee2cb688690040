"""Single sign-on with the organisation's identity provider: OpenID Connect (issue 17 item 4).

The authorization code flow with PKCE (S256) and a confidential client (client_secret_basic),
as OpenID Connect Core 1.0 section 3.1 has it:

1. ``begin``: a random ``state`` (kept as a hash in ``sso_logins`` and, in clear, in a cookie of
   this browser), a ``nonce`` and a PKCE verifier; the browser goes to the provider's
   authorization endpoint (from its discovery document).
2. ``finish``: the provider sends the browser back with ``code`` and ``state``. The state must
   match the cookie and an unexpired, unused ``sso_logins`` row (deleted on use); the code is
   exchanged at the token endpoint; the ID token's signature is checked against the provider's
   published keys (RS256/ES256 only), and its ``iss``, ``aud``/``azp``, ``exp``, ``iat`` and
   ``nonce``.
3. The claims become a stek user (:func:`user_for_claims`): the e-mail address (not marked
   unverified) names the account; the role claim and the organisation claim (an organisation
   code) say what the account is. An existing account follows the provider (role and
   organisation updated, audited); a new one is created for the roles single sign-on may grant
   (``STEK_OIDC_ROLES``). An inactive account stays out. Roles that need a second factor
   (``api.auth.TOTP_ROLES``) need the provider to say it asked for one (``amr``), unless the
   server runs with ``STEK_REQUIRE_TOTP=false``.

Every refusal is a :class:`SsoRefused` with a Dutch sentence for the sign-in page.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.auth import TOTP_ROLES
from api.services.rounds import Actor, audit
from api.services.users import ROLE_ORG_KIND
from api.settings import Settings
from store import models as m

LOGIN_TTL = timedelta(minutes=10)
ALGORITHMS = ("RS256", "ES256")
LEEWAY_S = 60
# What a provider may put in ``amr`` for a second factor (RFC 8176).
MFA_METHODS = frozenset({"mfa", "otp", "hwk", "swk", "sms", "fpt", "face", "iris", "pin", "sc"})
DISCOVERY_TTL_S = 3600.0


class SsoRefused(Exception):
    """A single sign-on that cannot go on; ``message`` is Dutch and names what is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SsoBusy(SsoRefused):
    """Too many sign-ons under way at once (each start writes a row before anyone signs in)."""


# Sign-ons under way at once, over all clients: a start writes a row without a sign-in, so this
# bounds what a flood of starts can store (each row goes after LOGIN_TTL).
MAX_OPEN_LOGINS = 5000


@dataclass(frozen=True)
class Provider:
    """The endpoints of one provider's discovery document that stek uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


_discovered: dict[str, tuple[float, Provider]] = {}
_keys: dict[str, KeySet] = {}
_lock = threading.Lock()


def enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def _get_json(url: str, what: str, settings: Settings) -> dict[str, Any]:
    try:
        answer = httpx.get(url, timeout=settings.oidc_timeout_s)
        answer.raise_for_status()
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SsoRefused(
            f"De inlogdienst van je organisatie is niet bereikbaar ({what}); probeer het later."
        ) from exc
    if not isinstance(body, dict):
        raise SsoRefused(f"De inlogdienst gaf een onleesbaar antwoord ({what}).")
    return body


def provider(settings: Settings) -> Provider:
    """The provider's endpoints from ``{issuer}/.well-known/openid-configuration`` (cached an
    hour per process); its ``issuer`` must be the configured one, exactly."""
    issuer = settings.oidc_issuer.rstrip("/")
    with _lock:
        cached = _discovered.get(issuer)
        if cached is not None and time.monotonic() - cached[0] < DISCOVERY_TTL_S:
            return cached[1]
    doc = _get_json(f"{issuer}/.well-known/openid-configuration", "discovery", settings)
    if str(doc.get("issuer", "")).rstrip("/") != issuer:
        raise SsoRefused(
            "De inlogdienst noemt zich anders dan ingesteld (issuer); neem contact op."
        )
    try:
        found = Provider(
            issuer=str(doc["issuer"]),
            authorization_endpoint=str(doc["authorization_endpoint"]),
            token_endpoint=str(doc["token_endpoint"]),
            jwks_uri=str(doc["jwks_uri"]),
        )
    except KeyError as exc:
        raise SsoRefused(f"De inlogdienst mist een onderdeel: {exc.args[0]}.") from exc
    with _lock:
        _discovered[issuer] = (time.monotonic(), found)
    return found


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def begin(
    session: Session, settings: Settings, redirect_uri: str, next_path: str | None
) -> tuple[str, str]:
    """Start a sign-in: (the provider's URL to send the browser to, the state for its cookie).
    Expired sign-ins under way are deleted on the way."""
    found = provider(settings)
    now = datetime.now(UTC)
    session.execute(delete(m.SsoLogin).where(m.SsoLogin.expires_at <= now))
    if (session.scalar(select(func.count()).select_from(m.SsoLogin)) or 0) >= MAX_OPEN_LOGINS:
        raise SsoBusy(
            "Er lopen te veel inlogpogingen tegelijk; probeer het over enkele minuten opnieuw."
        )
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    session.add(
        m.SsoLogin(
            state_hash=_hash(state),
            nonce=nonce,
            code_verifier=verifier,
            next_path=next_path,
            created_at=now,
            expires_at=now + LOGIN_TTL,
        )
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
    )
    joiner = "&" if "?" in found.authorization_endpoint else "?"
    return f"{found.authorization_endpoint}{joiner}{query}", state


def _keyset(settings: Settings, found: Provider, refresh: bool) -> KeySet:
    with _lock:
        keys = _keys.get(found.jwks_uri)
    if keys is None or refresh:
        body = _get_json(found.jwks_uri, "sleutels", settings)
        try:
            keys = KeySet.import_key_set(body)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise SsoRefused("De sleutels van de inlogdienst zijn onleesbaar.") from exc
        with _lock:
            _keys[found.jwks_uri] = keys
    return keys


def verify_id_token(
    id_token: str, keys: KeySet, issuer: str, client_id: str, nonce: str, now: float | None = None
) -> dict[str, Any]:
    """The ID token's claims once its signature and claims check out; ``SsoRefused`` else."""
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError) as exc:
        raise SsoRefused("Het bewijs van de inlogdienst is niet echt (handtekening).") from exc
    claims = dict(token.claims)
    now = time.time() if now is None else now
    if str(claims.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
        raise SsoRefused("Het bewijs komt van een andere inlogdienst (iss).")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise SsoRefused("Het bewijs is niet voor stek bedoeld (aud).")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SsoRefused("Het bewijs is niet voor stek bedoeld (azp).")
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, int | float) or expires + LEEWAY_S < now:
        raise SsoRefused("Het bewijs van de inlogdienst is verlopen (exp); log opnieuw in.")
    if not isinstance(issued, int | float) or issued - LEEWAY_S > now:
        raise SsoRefused("Het bewijs van de inlogdienst komt uit de toekomst (iat).")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(
        claims["nonce"], nonce
    ):
        raise SsoRefused("Het bewijs hoort niet bij deze inlogpoging (nonce).")
    return claims


def finish(
    session: Session,
    settings: Settings,
    redirect_uri: str,
    code: str,
    state: str,
    cookie_state: str | None,
) -> tuple[dict[str, Any], str | None]:
    """The verified ID token claims and the path to go to after signing in."""
    if not cookie_state or not secrets.compare_digest(cookie_state, state):
        raise SsoRefused(
            "Deze inlogpoging hoort niet bij deze browser of is verlopen. Begin opnieuw."
        )
    login = session.scalars(select(m.SsoLogin).where(m.SsoLogin.state_hash == _hash(state))).first()
    if login is None:
        raise SsoRefused("Deze inlogpoging is al gebruikt of onbekend. Begin opnieuw.")
    nonce, verifier, next_path = login.nonce, login.code_verifier, login.next_path
    expires = login.expires_at if login.expires_at.tzinfo else login.expires_at.replace(tzinfo=UTC)
    # One use, settled by the database (of two requests with the same state one deletes the
    # row) and committed before the provider is called: no transaction stays open meanwhile.
    used = session.execute(delete(m.SsoLogin).where(m.SsoLogin.id == login.id))
    session.commit()
    if int(getattr(used, "rowcount", 0) or 0) != 1:
        raise SsoRefused("Deze inlogpoging is al gebruikt of onbekend. Begin opnieuw.")
    if expires <= datetime.now(UTC):
        raise SsoRefused("Deze inlogpoging is verlopen. Begin opnieuw.")
    found = provider(settings)
    try:
        answer = httpx.post(
            found.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
            auth=(settings.oidc_client_id, settings.oidc_client_secret.get_secret_value()),
            timeout=settings.oidc_timeout_s,
        )
    except httpx.HTTPError as exc:
        raise SsoRefused("De inlogdienst is niet bereikbaar (token); probeer het later.") from exc
    if answer.status_code != 200:
        raise SsoRefused("De inlogdienst weigerde de inlogcode (token); begin opnieuw.")
    try:
        id_token = answer.json()["id_token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SsoRefused("De inlogdienst gaf geen bewijs van inloggen (id_token).") from exc
    keys = _keyset(settings, found, refresh=False)
    try:
        claims = verify_id_token(id_token, keys, found.issuer, settings.oidc_client_id, login.nonce)
    except SsoRefused:  # the provider may have rotated its keys: read them again, once
        claims = verify_id_token(
            id_token,
            _keyset(settings, found, refresh=True),
            found.issuer,
            settings.oidc_client_id,
            nonce,
        )
    return claims, next_path


def _claim(claims: dict[str, Any], name: str, what: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip():
        raise SsoRefused(f"De inlogdienst gaf geen {what} mee (claim '{name}').")
    return value.strip()


def user_for_claims(session: Session, settings: Settings, claims: dict[str, Any]) -> m.User:
    """The stek user the claims describe (created or brought in line); ``SsoRefused`` else."""
    email = _claim(claims, "email", "e-mailadres").lower()
    subject = _claim(claims, "sub", "gebruikers-id")
    issuer = _claim(claims, "iss", "uitgever")
    if "email_verified" in claims and claims["email_verified"] is not True:
        raise SsoRefused("Je e-mailadres is bij je organisatie niet bevestigd (email_verified).")
    role = _claim(claims, settings.oidc_role_claim, "rol")
    org_code = _claim(claims, settings.oidc_organisation_claim, "organisatie")
    if role not in m.ROLES:
        raise SsoRefused(f"De rol '{role[:40]}' kent stek niet.")
    org = session.scalars(select(m.Organisation).where(m.Organisation.code == org_code)).first()
    if org is None:
        raise SsoRefused(f"De organisatie '{org_code[:40]}' kent stek niet; vraag de beheerder.")
    if not org.active:
        raise SsoRefused(f"De organisatie '{org_code[:40]}' is in stek gedeactiveerd.")
    kind = ROLE_ORG_KIND.get(role)
    if kind is not None and org.kind != kind:
        raise SsoRefused(f"De rol {role} hoort bij een organisatie van soort {kind}.")
    if settings.require_totp and role in TOTP_ROLES:
        amr = claims.get("amr")
        if not isinstance(amr, list) or not MFA_METHODS & {str(x) for x in amr}:
            raise SsoRefused(
                "Deze rol vraagt inloggen in twee stappen; je organisatie meldde dat niet (amr). "
                "Log bij je organisatie in met een tweede stap."
            )
    # The provider's account (issuer, subject) is the key once linked; the e-mail address only
    # finds an account that is not linked yet (its first single sign-on).
    user = session.scalars(
        select(m.User).where(m.User.sso_issuer == issuer, m.User.sso_subject == subject)
    ).first()
    if user is None:
        user = session.scalars(select(m.User).where(func.lower(m.User.email) == email)).first()
        if user is not None and user.sso_subject is not None:
            raise SsoRefused(
                "Dit stek-account hoort bij een ander account bij je organisatie; vraag de "
                "beheerder."
            )
        if user is not None:
            user.sso_issuer, user.sso_subject = issuer[:300], subject[:255]
            audit(
                session,
                Actor(user.id, user.organisation_id, user.role),
                "auth.sso_linked",
                "user",
                user.id,
                {"issuer": issuer[:300]},
            )
    granted = {r.strip() for r in settings.oidc_roles.split(",") if r.strip()}
    if user is None:
        if role not in granted:
            raise SsoRefused(
                f"Een account met de rol {role} maakt de beheerder aan, niet het inloggen."
            )
        name = claims.get("name")
        user = m.User(
            email=email,
            name=str(name)[:200] if isinstance(name, str) and name.strip() else email,
            role=role,
            organisation_id=org.id,
            password_hash=None,
            active=True,
            sso_issuer=issuer[:300],
            sso_subject=subject[:255],
        )
        session.add(user)
        session.flush()
        audit(
            session,
            Actor(user.id, org.id, role),
            "user.create",
            "user",
            user.id,
            {"via": "sso", "role": role, "organisation": org.code},
        )
        return user
    if not user.active:
        raise SsoRefused("Je account in stek is uitgeschakeld; vraag de beheerder.")
    if (user.role, user.organisation_id) != (role, org.id):
        if role not in granted or user.role not in granted:
            raise SsoRefused(
                f"Je organisatie geeft je de rol {role}; die wijziging doet de beheerder."
            )
        audit(
            session,
            Actor(user.id, org.id, role),
            "user.update",
            "user",
            user.id,
            {"via": "sso", "role": [user.role, role], "organisation": org.code},
        )
        user.role, user.organisation_id = role, org.id
    return user
