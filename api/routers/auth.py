"""Sign-in pages (session cookie) and the API token endpoint."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.auth import (
    API_TOKEN_TTL,
    SESSION_COOKIE,
    SESSION_TTL,
    Backoff,
    CurrentPrincipal,
    LoginThrottled,
    authenticate,
    check_csrf,
    client_address,
    issue_token,
    revoke_token,
)
from api.deps import SessionDep
from api.pages.common import render
from api.settings import Settings
from store.models import User

LOGIN_CSRF_COOKIE = "stek_login_csrf"
ROLE_HOME = {
    "admin": "/beheer",
    "gemeente": "/beoordelen",
    "corporatie": "/beoordelen",
    "regisseur": "/regisseur",
    "planner": "/planner",
}

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/auth", tags=["auth"])


def _sign_in(request: Request, session: SessionDep, email: str, password: str) -> User | None:
    """``authenticate`` with this app's trusted proxies and back-off."""
    settings: Settings = request.app.state.settings
    client = client_address(request, settings.trusted_proxies)
    return authenticate(session, email, password, client, Backoff.from_settings(settings))


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
        {"title": "Inloggen", "error": error, "login_csrf": token, "next": _safe_next(next_)},
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
    token = issue_token(session, user, "session")
    redirect = RedirectResponse(_safe_next(next) or ROLE_HOME[user.role], status.HTTP_303_SEE_OTHER)
    redirect.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    redirect.delete_cookie(LOGIN_CSRF_COOKIE)
    return redirect


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
