"""Domain errors, and their one translation to HTTP for the API and the pages alike.

Services raise these with a Dutch message (what the user reads); routers and pages let them
propagate, and ``install_error_handlers`` answers once for the whole app:

- under ``/api/``: JSON ``{"detail": message}`` with the status of the error's kind;
- a page: the Dutch error page (``denied.html``) with the same status and title.

By the time a handler runs, the request's unit of work (``api.deps.get_session``) has rolled
back: FastAPI exits dependencies before exception handlers answer, so a refused request never
leaves half its writes behind.

Errors of the domain packages (``supply``: ``SupplyInputError``; ``matcher.records``:
``RecordInvalid``, as FastAPI's 422 list with one Dutch message per field) are answered here
too, as invalid input. ``HTTPException`` stays for what is about HTTP itself (a missing
header, a role check in a router).
"""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, Response

from matcher.records import RecordInvalid
from supply.model import SupplyInputError


class DomainError(Exception):
    """A request the domain refuses; ``str(exc)`` says why, in Dutch."""

    status_code = status.HTTP_409_CONFLICT
    title = "Niet gelukt"


class NotFound(DomainError):
    """There is no such thing -- or the user may not know it exists (scope: 404 like missing)."""

    status_code = status.HTTP_404_NOT_FOUND
    title = "Niet gevonden"


class Forbidden(DomainError):
    """The user may see it but not do this."""

    status_code = status.HTTP_403_FORBIDDEN
    title = "Geen toegang"


class WorkflowError(DomainError):
    """Not now: the state of the round, a match or an agreement does not allow it (409)."""

    status_code = status.HTTP_409_CONFLICT
    title = "Nog niet mogelijk"


class InvalidInput(DomainError):
    """A value from outside that the domain refuses (422); the message names the field."""

    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    title = "Ongeldige invoer"


def _answer(request: Request, code: int, title: str, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=code)
    from api.pages.common import render  # pages import this module; render needs templates

    principal = getattr(request.state, "principal", None)
    text = message if message.endswith((".", "!", "?")) else f"{message}."
    return render(request, "denied.html", {"title": title, "message": text}, principal, code)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every domain error the same way everywhere (see the module's docstring)."""

    @app.exception_handler(DomainError)
    async def domain(request: Request, exc: DomainError) -> Response:
        return _answer(request, exc.status_code, exc.title, str(exc))

    @app.exception_handler(RecordInvalid)
    async def record_invalid(request: Request, exc: RecordInvalid) -> Response:
        if request.url.path.startswith("/api/"):
            detail = [
                {"loc": ["body", field], "msg": message, "type": "value_error"}
                for field, message in exc.errors
            ]
            return JSONResponse({"detail": detail}, status_code=InvalidInput.status_code)
        return _answer(request, InvalidInput.status_code, InvalidInput.title, str(exc))

    @app.exception_handler(SupplyInputError)
    async def supply_input(request: Request, exc: SupplyInputError) -> Response:
        return _answer(request, status.HTTP_422_UNPROCESSABLE_CONTENT, InvalidInput.title, str(exc))
