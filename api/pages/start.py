"""The start page: what stek is, the role pages, and what the database holds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.auth import OptionalPrincipal
from api.deps import SessionDep
from api.pages.common import render
from api.services import overview

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, session: SessionDep, principal: OptionalPrincipal) -> HTMLResponse:
    return render(
        request, "landing.html", {"title": "Start", "counts": overview.counts(session)}, principal
    )
