"""The start page: what stek is, the role pages, and what the database holds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.auth import OptionalPrincipal
from api.deps import SessionDep
from api.formatting import nl_number
from api.pages.common import render
from api.services import overview
from api.services.supply import small_cell_threshold

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def landing(request: Request, session: SessionDep, principal: OptionalPrincipal) -> HTMLResponse:
    counts = overview.counts(session)
    threshold = small_cell_threshold()
    # a count about young people on a page anyone may open: a small one is not shown exactly
    waiting = (
        f"minder dan {threshold}"
        if 0 < counts.youths_waiting < threshold
        else nl_number(counts.youths_waiting)
    )
    return render(
        request,
        "landing.html",
        {"title": "Start", "counts": counts, "youths_waiting": waiting},
        principal,
    )
