"""The FastAPI application factory: engine and sessions are created here, not at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from api.guards import GuardRequests
from api.headers import SecurityHeaders
from api.settings import Settings, get_settings
from store.db import make_engine, make_sessionmaker, unit_of_work
from store.readiness import check_database

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on error."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with unit_of_work(factory) as session:
        yield session


# scope="function": the unit of work commits before the response leaves, so a redirect after
# a write (sign-in, a decision) never reaches the browser before the write is visible, and a
# failed commit is an error response instead of a lost write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    from api.routers import auth, health, pages, rounds

    settings = settings or get_settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from api.services.rounds import recover_interrupted_solves

        check_database(settings.database_url)  # DatabaseNotReady says what is wrong
        recover_interrupted_solves(_app.state.sessions)
        yield
        engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="stek",
        description="Woningmatching en aanbodplanning voor jongeren die de jeugdzorg verlaten",
        version="0.1.0",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
    )
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.settings = settings
    app.state.sessions.configure(info={"settings": settings})  # e-mail settings (notifications)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(GuardRequests, settings=settings)
    app.add_middleware(SecurityHeaders)  # added last: outermost, on every answer
    from api.pages import review as review_pages
    from api.pages.common import install_page_handlers

    install_page_handlers(app)
    app.include_router(review_pages.router)
    app.include_router(pages.router)
    app.include_router(auth.pages)
    app.include_router(health.router, prefix="/api/v1")
    app.include_router(auth.api, prefix="/api/v1")
    app.include_router(rounds.router, prefix="/api/v1")
    from api.routers import suggestions

    app.include_router(suggestions.router, prefix="/api/v1")
    from api.routers import supply

    app.include_router(supply.router, prefix="/api/v1")
    from api.routers import audit, contingents, exports, imports, options, users, youths

    for resource in (youths, options, contingents, imports, exports, audit, users):
        app.include_router(resource.router, prefix="/api/v1")
    from api.routers import inbox, round_exports

    app.include_router(round_exports.pages)
    app.include_router(round_exports.api, prefix="/api/v1")
    app.include_router(inbox.router)

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> HTMLResponse:
        if request.url.path.startswith("/api/"):
            from fastapi.responses import JSONResponse

            return JSONResponse({"detail": "Niet gevonden"}, status_code=404)  # type: ignore[return-value]
        return templates.TemplateResponse(
            request, "not_found.html", {"title": "Niet gevonden"}, status_code=404
        )

    return app
