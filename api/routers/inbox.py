"""The inbox page (``/berichten``): a signed-in user's messages, read and unread.

Marking read posts with the session's CSRF token and redirects back (post/redirect/get); a
message of another user is a 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request, status
from fastapi.responses import RedirectResponse, Response

from api.auth import OptionalPrincipal, Principal, check_csrf
from api.deps import SessionDep
from api.pages.common import render
from api.services import notifications as svc

router = APIRouter(include_in_schema=False)

MessageId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CsrfToken = Annotated[str, Form(max_length=100)]


def _sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/inloggen?next={quote(target)}", status.HTTP_303_SEE_OTHER)


def _back() -> RedirectResponse:
    return RedirectResponse("/berichten", status.HTTP_303_SEE_OTHER)


@router.get("/berichten")
def inbox_page(request: Request, session: SessionDep, principal: OptionalPrincipal) -> Response:
    if principal is None:
        return _sign_in(request)
    return _inbox(request, session, principal)


def _inbox(
    request: Request, session: SessionDep, principal: Principal, status_code: int = 200
) -> Response:
    return render(
        request,
        "inbox.html",
        {
            "title": "Berichten",
            "messages": svc.inbox(session, principal.user_id),
            "unread": svc.unread_count(session, principal.user_id),
        },
        principal,
        status_code,
    )


@router.post("/berichten/{message_id}/gelezen")
def mark_read(
    request: Request,
    message_id: MessageId,
    session: SessionDep,
    principal: OptionalPrincipal,
    csrf_token: CsrfToken = "",
) -> Response:
    if principal is None:
        return _sign_in(request)
    check_csrf(principal, csrf_token)
    try:
        svc.mark_read(session, principal.user_id, message_id)
    except svc.MessageNotFound as exc:
        return render(
            request,
            "denied.html",
            {"title": "Niet gevonden", "message": f"{exc}."},
            principal,
            status.HTTP_404_NOT_FOUND,
        )
    return _back()


@router.post("/berichten/gelezen")
def mark_all_read(
    request: Request, session: SessionDep, principal: OptionalPrincipal, csrf_token: CsrfToken = ""
) -> Response:
    if principal is None:
        return _sign_in(request)
    check_csrf(principal, csrf_token)
    svc.mark_all_read(session, principal.user_id)
    return _back()
