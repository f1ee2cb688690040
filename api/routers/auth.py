"""Sign-in pages (session cookie) and the API token endpoint."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api import sso, totp
from api.auth import (
    API_TOKEN_TTL,
    SESSION_COOKIE,
    SESSION_TTL,
    Backoff,
    CurrentPrincipal,
    LoginThrottled,
    authenticate,
    check_csrf,
    check_throttle,
    client_address,
    issue_token,
    needs_totp,
    record_attempt,
    revoke_token,
)
from api.deps import SessionDep
from api.pages.common import render
from api.services.rounds import Actor, audit
from api.settings import Settings
from store.models import User

LOGIN_CSRF_COOKIE = "stek_login_csrf"
# The half-done sign-in (password right, code due): a cookie for the code pages only.
CHALLENGE_COOKIE = "stek_tweestaps"
CHALLENGE_PATH = "/inloggen"
ROLE_HOME = {
    "admin": "/beheer",
    "gemeente": "/beoordelen",
    "corporatie": "/beoordelen",
    "regisseur": "/regisseur",
    "planner": "/planner",
    "privacy": "/privacy",
}
EXPIRED = "Je inlogpoging is verlopen of onbekend. Log opnieuw in met je wachtwoord."

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/auth", tags=["auth"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _client(request: Request) -> str | None:
    return client_address(request, _settings(request).trusted_proxies)


def _sign_in(request: Request, session: SessionDep, email: str, password: str) -> User | None:
    """``authenticate`` with this app's trusted proxies, back-off and second-factor rule."""
    settings = _settings(request)
    return authenticate(
        session,
        email,
        password,
        _client(request),
        Backoff.from_settings(settings),
        second_factor=settings.require_totp,
    )


def _code_refused(
    session: SessionDep, request: Request, user: User, check: totp.CodeCheck, via: str
) -> None:
    """A refused code counts as a failed sign-in (back-off) and is audited."""
    record_attempt(session, user.email, _client(request), False)
    audit(
        session,
        Actor(user.id, user.organisation_id, user.role),
        "auth.totp_refused",
        "user",
        user.id,
        {"reason": check.reason, "via": via},
    )


def _code_accepted(
    session: SessionDep, request: Request, user: User, check: totp.CodeCheck, via: str
) -> None:
    record_attempt(session, user.email, _client(request), True)
    if check.recovery:
        audit(
            session,
            Actor(user.id, user.organisation_id, user.role),
            "auth.recovery_code_used",
            "user",
            user.id,
            {"left": totp.unused_recovery_codes(session, user.id), "via": via},
        )


def _safe_next(target: str | None) -> str | None:
    """Only a local path (``/...``): never redirect to another site after sign-in.

    Browsers read a backslash as a slash and drop tabs and newlines, so a path that starts with
    two slashes, holds a backslash or a control character, or names a scheme is refused.
    """
    if not target or not target.startswith("/") or len(target) > 2000:
        return None
    if any(ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    if target.startswith("//") or ":" in target.split("?", 1)[0].split("/", 2)[1]:
        return None
    return target


def _login_form(
    request: Request, error: str | None = None, status_code: int = 200, next_: str | None = None
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {
            "title": "Inloggen",
            "error": error,
            "login_csrf": token,
            "next": _safe_next(next_),
            "sso": _settings(request).oidc_provider_name
            if sso.enabled(_settings(request))
            else None,
        },
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@pages.get("/inloggen", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_form(request, next_=next)


SSO_COOKIE = "stek_sso"
SSO_PATH = "/inloggen/sso"
# The provider's error codes (OpenID Connect Core 3.1.2.6, RFC 6749 4.1.2.1) in Dutch.
SSO_ERRORS = {
    "access_denied": "Inloggen bij je organisatie is afgebroken.",
    "login_required": "Je bent bij je organisatie niet ingelogd; log daar eerst in.",
    "interaction_required": "Je organisatie vraagt nog iets van je; probeer het opnieuw.",
    "consent_required": "Je organisatie vraagt toestemming voor stek; probeer het opnieuw.",
    "temporarily_unavailable": "De inlogdienst van je organisatie is even niet beschikbaar.",
    "server_error": "De inlogdienst van je organisatie had een fout; probeer het later.",
}


def _sso_redirect_uri(request: Request) -> str:
    configured = _settings(request).oidc_redirect_url
    return configured or str(request.url_for("sso_return"))


def _sso_refused(request: Request, session: SessionDep, why: str, status_code: int) -> Response:
    audit(session, None, "auth.sso_refused", "user", None, {"reason": why[:200]})
    response = _login_form(request, why, status_code)
    response.delete_cookie(SSO_COOKIE, path=SSO_PATH)
    return response


@pages.get(SSO_PATH)
def sso_start(request: Request, session: SessionDep, next: str | None = None) -> Response:
    """Off to the organisation's identity provider (api/sso.py)."""
    settings = _settings(request)
    if not sso.enabled(settings):
        return _login_form(request, "Inloggen via je organisatie is niet ingesteld.", 404)
    try:
        back_to = _safe_next(next)
        back_to = back_to if back_to and len(back_to) <= 300 else None  # sso_logins.next_path
        target, state = sso.begin(session, settings, _sso_redirect_uri(request), back_to)
    except sso.SsoBusy as exc:
        response = _login_form(request, exc.message, status.HTTP_429_TOO_MANY_REQUESTS)
        response.headers["Retry-After"] = "300"
        return response
    except sso.SsoRefused as exc:
        return _sso_refused(request, session, exc.message, status.HTTP_502_BAD_GATEWAY)
    redirect = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    # "lax": the provider sends the browser back with a top-level GET from its own site
    _step_cookie(request, redirect, SSO_COOKIE, state, sso.LOGIN_TTL, SSO_PATH, "lax")
    return redirect


@pages.get(SSO_PATH + "/terug", name="sso_return")
def sso_return(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Back from the identity provider: check everything, then a session as after a password."""
    settings = _settings(request)
    if not sso.enabled(settings):
        return _login_form(request, "Inloggen via je organisatie is niet ingesteld.", 404)
    if error:  # only the protocol's own codes are named; other text is not shown
        why = SSO_ERRORS.get(error, "Je organisatie weigerde het inloggen.")
        return _sso_refused(request, session, why, status.HTTP_401_UNAUTHORIZED)
    if not code or not state:
        return _sso_refused(
            request, session, "Het antwoord van je organisatie mist code of state.", 400
        )
    try:
        claims, next_path = sso.finish(
            session,
            settings,
            _sso_redirect_uri(request),
            code,
            state,
            request.cookies.get(SSO_COOKIE),
        )
        user = sso.user_for_claims(session, settings, claims)
    except sso.SsoRefused as exc:
        return _sso_refused(request, session, exc.message, status.HTTP_401_UNAUTHORIZED)
    record_attempt(session, user.email, _client(request), True)
    audit(
        session,
        Actor(user.id, user.organisation_id, user.role),
        "auth.sso_sign_in",
        "user",
        user.id,
        {"issuer": settings.oidc_issuer, "amr": claims.get("amr")},
    )
    redirect = RedirectResponse(next_path or ROLE_HOME[user.role], status.HTTP_303_SEE_OTHER)
    redirect.delete_cookie(SSO_COOKIE, path=SSO_PATH)
    return _with_session(request, session, user, redirect)


@pages.post("/inloggen", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str | None, Form(max_length=300)] = None,
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return _login_form(
            request,
            "Het formulier is verlopen. Probeer het opnieuw.",
            status.HTTP_403_FORBIDDEN,
            next,
        )
    if not email or not password:
        return _login_form(request, "Vul je e-mailadres en wachtwoord in.", 422, next)
    try:
        user = _sign_in(request, session, email, password)
    except LoginThrottled as exc:
        response = _login_form(request, exc.message, status.HTTP_429_TOO_MANY_REQUESTS, next)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    if user is None:
        return _login_form(
            request,
            "Onbekend e-mailadres of onjuist wachtwoord.",
            status.HTTP_401_UNAUTHORIZED,
            next,
        )
    if needs_totp(user, _settings(request).require_totp):
        challenge = totp.open_challenge(session, user, _safe_next(next))
        step = "/inloggen/code" if user.totp_secret else "/inloggen/tweestaps"
        redirect = RedirectResponse(step, status.HTTP_303_SEE_OTHER)
        _step_cookie(
            request, redirect, CHALLENGE_COOKIE, challenge, totp.CHALLENGE_TTL, CHALLENGE_PATH
        )
        return redirect
    redirect = RedirectResponse(_safe_next(next) or ROLE_HOME[user.role], status.HTTP_303_SEE_OTHER)
    return _with_session(request, session, user, redirect)


def _step_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    ttl: timedelta,
    path: str,
    samesite: Literal["lax", "strict"] = "strict",
) -> None:
    """A cookie for one step of signing in: HttpOnly, only under ``path``, gone after ``ttl``."""
    response.set_cookie(
        name,
        value,
        max_age=int(ttl.total_seconds()),
        path=path,
        httponly=True,
        samesite=samesite,
        secure=request.url.scheme == "https",
    )


def _with_session(
    request: Request, session: SessionDep, user: User, response: Response
) -> Response:
    """``response`` carrying a new session cookie for ``user``."""
    token = issue_token(session, user, "session")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    response.delete_cookie(CHALLENGE_COOKIE, path=CHALLENGE_PATH)
    return response


def _code_form(
    request: Request,
    session: SessionDep,
    template: str,
    context: dict[str, object],
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A second-factor page with a fresh double-submit CSRF token (as the sign-in form)."""
    token = secrets.token_urlsafe(24)
    response = render(
        request, template, {**context, "error": error, "login_csrf": token}, status_code=status_code
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _enrol_context(user: User, secret: str) -> dict[str, object]:
    uri = totp.provisioning_uri(secret, user.email)
    return {
        "title": "Tweestapsverificatie instellen",
        "uri": uri,
        "qr": totp.qr_svg(uri),
        "secret": totp.grouped(secret),
        "email": user.email,
    }


def _csrf_ok(request: Request, submitted: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie, submitted)


@pages.get("/inloggen/code", response_class=HTMLResponse)
def code_page(request: Request, session: SessionDep) -> Response:
    found = totp.find_challenge(session, request.cookies.get(CHALLENGE_COOKIE))
    if found is None:
        return _login_form(request, EXPIRED, status.HTTP_401_UNAUTHORIZED)
    if found[1].totp_secret is None:
        return RedirectResponse("/inloggen/tweestaps", status.HTTP_303_SEE_OTHER)
    return _code_form(request, session, "totp_code.html", {"title": "Code invullen"})


@pages.post("/inloggen/code", response_class=HTMLResponse)
def code_submit(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    context: dict[str, object] = {"title": "Code invullen"}
    found = totp.find_challenge(session, request.cookies.get(CHALLENGE_COOKIE))
    if found is None:
        return _login_form(request, EXPIRED, status.HTTP_401_UNAUTHORIZED)
    challenge, user = found
    if user.totp_secret is None:
        return RedirectResponse("/inloggen/tweestaps", status.HTTP_303_SEE_OTHER)
    if not _csrf_ok(request, csrf_token):
        return _code_form(
            request,
            session,
            "totp_code.html",
            context,
            "Het formulier is verlopen. Probeer het opnieuw.",
            403,
        )
    try:
        check_throttle(
            session,
            user.email,
            _client(request),
            Backoff.from_settings(_settings(request)),
            datetime.now(UTC),
        )
    except LoginThrottled as exc:
        response = _code_form(request, session, "totp_code.html", context, exc.message, 429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    check = totp.check_code(session, user, code)
    if not check.ok:
        _code_refused(session, request, user, check, "pagina")
        return _code_form(request, session, "totp_code.html", context, check.message, 401)
    _code_accepted(session, request, user, check, "pagina")
    target = challenge.next_path or ROLE_HOME[user.role]
    totp.close_challenge(session, challenge)
    return _with_session(
        request, session, user, RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    )


def _pending_secret(session: SessionDep, request: Request) -> tuple[object, User, str] | None:
    found = totp.find_challenge(session, request.cookies.get(CHALLENGE_COOKIE))
    if found is None or found[1].totp_secret is not None:
        return None
    challenge, user = found
    if challenge.pending_secret is None:
        challenge.pending_secret = totp.new_secret()
    return challenge, user, challenge.pending_secret


@pages.get("/inloggen/tweestaps", response_class=HTMLResponse)
def enrol_page(request: Request, session: SessionDep) -> Response:
    pending = _pending_secret(session, request)
    if pending is None:
        return _login_form(request, EXPIRED, status.HTTP_401_UNAUTHORIZED)
    _challenge, user, secret = pending
    return _code_form(request, session, "totp_enrol.html", _enrol_context(user, secret))


@pages.post("/inloggen/tweestaps", response_class=HTMLResponse)
def enrol_submit(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Form(max_length=40)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    found = totp.find_challenge(session, request.cookies.get(CHALLENGE_COOKIE))
    if found is None or found[1].totp_secret is not None or found[0].pending_secret is None:
        return _login_form(request, EXPIRED, status.HTTP_401_UNAUTHORIZED)
    challenge, user = found
    secret = challenge.pending_secret
    assert secret is not None
    context = _enrol_context(user, secret)
    if not _csrf_ok(request, csrf_token):
        return _code_form(
            request,
            session,
            "totp_enrol.html",
            context,
            "Het formulier is verlopen. Probeer het opnieuw.",
            403,
        )
    try:
        check_throttle(
            session,
            user.email,
            _client(request),
            Backoff.from_settings(_settings(request)),
            datetime.now(UTC),
        )
    except LoginThrottled as exc:
        response = _code_form(request, session, "totp_enrol.html", context, exc.message, 429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    check = totp.check_code(session, user, code, secret=secret)
    if not check.ok:
        _code_refused(session, request, user, check, "instellen")
        return _code_form(request, session, "totp_enrol.html", context, check.message, 401)
    record_attempt(session, user.email, _client(request), True)
    codes = totp.enrol(session, user, secret)
    audit(
        session,
        Actor(user.id, user.organisation_id, user.role),
        "auth.totp_enrolled",
        "user",
        user.id,
    )
    target = challenge.next_path or ROLE_HOME[user.role]
    totp.close_challenge(session, challenge)
    page = render(
        request,
        "totp_recovery.html",
        {"title": "Je herstelcodes", "codes": codes, "target": target},
    )
    page.headers["Cache-Control"] = "no-store"
    return _with_session(request, session, user, page)


@pages.post("/uitloggen")
def logout(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> RedirectResponse:
    check_csrf(principal, csrf_token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        revoke_token(session, cookie)
    response = RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response


class TokenRequest(BaseModel):
    email: str = Field(min_length=3, max_length=200)
    password: str = Field(min_length=1, max_length=200)
    label: str | None = Field(default=None, max_length=100)
    # the code from the authenticator app (or a recovery code), for users with a second factor
    totp_code: str | None = Field(default=None, max_length=40)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    email: str
    name: str
    role: str
    organisation_id: int


class ErrorDetail(BaseModel):
    detail: str


@api.post(
    "/token",
    response_model=TokenResponse,
    responses={401: {"model": ErrorDetail}, 429: {"model": ErrorDetail}},
)
def token(body: TokenRequest, request: Request, session: SessionDep) -> Response:
    """Exchange e-mail and password for a bearer token (valid 30 days)."""
    try:
        user = _sign_in(request, session, body.email, body.password)
    except LoginThrottled as exc:
        return JSONResponse(
            {"detail": exc.message},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    if user is None:
        # A returned response (not an exception) so the failed attempt is committed.
        return JSONResponse({"detail": "Onbekend e-mailadres of onjuist wachtwoord"}, 401)
    if needs_totp(user, _settings(request).require_totp):
        if user.totp_secret is None:
            return JSONResponse(
                {
                    "detail": "Tweestapsverificatie is verplicht voor deze rol: stel die eerst "
                    "in door op de website in te loggen."
                },
                403,
            )
        if not body.totp_code:
            return JSONResponse(
                {
                    "detail": "Tweestapsverificatie: geef de code uit je authenticator-app mee "
                    "(totp_code)."
                },
                401,
            )
        check = totp.check_code(session, user, body.totp_code)
        if not check.ok:
            _code_refused(session, request, user, check, "api")
            return JSONResponse({"detail": check.message}, 401)
        _code_accepted(session, request, user, check, "api")
    secret = issue_token(session, user, "api", body.label)
    return JSONResponse(
        TokenResponse(
            access_token=secret, expires_in=int(API_TOKEN_TTL.total_seconds())
        ).model_dump()
    )


@api.get("/me", response_model=Me, responses={401: {"model": ErrorDetail}})
def me(principal: CurrentPrincipal) -> Me:
    """Who the bearer token or session belongs to."""
    return Me(
        email=principal.email,
        name=principal.name,
        role=principal.role,
        organisation_id=principal.organisation_id,
    )
