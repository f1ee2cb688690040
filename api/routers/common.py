"""Shared pieces of the ``/api/v1`` routers: error schema, role checks, workflow errors to HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, overload

from fastapi import Depends, Header, HTTPException, Request, status
from pydantic import BaseModel

from api.auth import CurrentPrincipal, Principal, check_csrf
from api.services import rounds as svc

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ErrorOut(BaseModel):
    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
}


def actor(principal: Principal) -> svc.Actor:
    """The services' view of the signed-in user."""
    return svc.Actor(principal.user_id, principal.organisation_id, principal.role)


def require(principal: Principal, roles: tuple[str, ...]) -> None:
    """403 unless the user has one of ``roles``."""
    if principal.role not in roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Geen toegang voor deze rol")


def csrf_checked_principal(
    request: Request,
    principal: CurrentPrincipal,
    x_csrf_token: Annotated[str | None, Header(max_length=100)] = None,
) -> Principal:
    """The signed-in user; a browser session must send its CSRF token on state changes.

    Bearer tokens are not sent by browsers on their own, so they need no CSRF token.
    """
    if request.method not in SAFE_METHODS:
        check_csrf(principal, x_csrf_token)
    return principal


Caller = Annotated[Principal, Depends(csrf_checked_principal)]


@overload
def utc(value: datetime) -> datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as aware UTC (SQLite returns naive datetimes; stek writes UTC)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
