"""The inbox page (``/berichten``): a signed-in user's messages, read and unread.

Every role has an inbox. Marking read posts with the session's CSRF token and redirects back
(post/redirect/get); a message of another user is a 404, as if it did not exist
(``MessageNotFound``, answered by :mod:`api.errors`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.responses import RedirectResponse, Response

from api.auth import Principal
from api.deps import SessionDep
from api.pages.common import form_user, page_user, render
from api.services import notifications as svc
from store.models import ROLES

router = APIRouter(include_in_schema=False)

MessageId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Reader = Annotated[Principal, Depends(page_user(*ROLES))]
ReaderForm = Annotated[Principal, Depends(form_user(*ROLES))]


def _back() -> RedirectResponse:
    return RedirectResponse("/berichten", status.HTTP_303_SEE_OTHER)


@router.get("/berichten")
def inbox_page(request: Request, session: SessionDep, principal: Reader) -> Response:
    return render(
        request,
        "inbox.html",
        {
            "title": "Berichten",
            "messages": svc.inbox(session, principal.user_id),
            "unread": svc.unread_count(session, principal.user_id),
        },
        principal,
    )


@router.post("/berichten/{message_id}/gelezen")
def mark_read(message_id: MessageId, session: SessionDep, principal: ReaderForm) -> Response:
    svc.mark_read(session, principal.user_id, message_id)
    return _back()


@router.post("/berichten/gelezen")
def mark_all_read(session: SessionDep, principal: ReaderForm) -> Response:
    svc.mark_all_read(session, principal.user_id)
    return _back()
