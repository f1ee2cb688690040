"""Request-scoped dependencies shared by routers and pages: the unit of work and templates.

Routers and pages import from here, never from ``api.app``; the app factory imports the
routers at the top of its module, so there is no import cycle inside ``api``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from api.assets import stylesheet
from api.headers import csp_nonce
from store.db import unit_of_work

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["stylesheet_path"] = lambda: stylesheet().path
templates.env.globals["csp_nonce"] = csp_nonce


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on error."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with unit_of_work(factory) as session:
        yield session


# scope="function": the unit of work commits before the response leaves, so a redirect after
# a write (sign-in, a decision) never reaches the browser before the write is visible, and a
# failed commit is an error response instead of a lost write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
