"""Pages about stek itself: the toegankelijkheidsverklaring (accessibility statement).

Open to everyone, signed in or not: the Besluit digitale toegankelijkheid overheid asks for a
statement anyone can read.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.auth import OptionalPrincipal
from api.pages.common import render

router = APIRouter(include_in_schema=False)


@router.get("/toegankelijkheid", response_class=HTMLResponse)
def accessibility_statement(request: Request, principal: OptionalPrincipal) -> HTMLResponse:
    """The toegankelijkheidsverklaring: standard, how it is tested, known limits, contact."""
    return render(request, "toegankelijkheid.html", {"title": "Toegankelijkheid"}, principal)
