"""The FastAPI application factory: engine and sessions are created here, not at import time.

Routers and pages take their request-scoped dependencies from ``api.deps``, so this module can
import them at the top (no import cycle inside ``api``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from api import assets
from api.apidocs import explorer_router
from api.deps import HERE, templates
from api.guards import GuardRequests
from api.headers import SecurityHeaders
from api.metrics import Metrics
from api.metrics import router as metrics_router
from api.observability import RequestContext, configure_logging
from api.pages import about as about_pages
from api.pages import admin as admin_pages
from api.pages import intake as intake_pages
from api.pages import planner as planner_pages
from api.pages import privacy as privacy_pages
from api.pages import regisseur as regisseur_pages
from api.pages import review as review_pages
from api.pages import start as start_pages
from api.pages import stock as stock_pages
from api.pages.common import install_page_handlers
from api.retention_job import retention_loop
from api.routers import (
    audit,
    auth,
    contingents,
    exports,
    health,
    imports,
    inbox,
    jobs,
    options,
    round_exports,
    rounds,
    suggestions,
    supply,
    users,
    youths,
)
from api.services.rounds import recover_interrupted_solves
from api.settings import Settings, get_settings
from api.worker import server_worker
from store.db import make_engine, make_sessionmaker
from store.readiness import check_database

API = "/api/v1"


def warm_up() -> None:
    """Compile every page template and build the stylesheet before the first request (the
    first sign-in otherwise waited for the review templates to compile)."""
    for name in templates.env.list_templates(extensions=["html"]):
        templates.env.get_template(name)
    assets.stylesheet()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        check_database(settings.database_url)  # DatabaseNotReady says what is wrong
        recover_interrupted_solves(_app.state.sessions)
        worker, worker_thread = None, None
        if settings.jobs_in_server:  # orphaned jobs: queued too long, or their worker died
            worker = server_worker(_app.state.sessions, settings)
            worker_thread = threading.Thread(target=worker.run, name="stek-jobs", daemon=True)
            worker_thread.start()
        retention = None
        if settings.retention_interval_hours > 0:  # daily retention run (store/retention.py)
            retention = asyncio.create_task(retention_loop(settings))
        # The process holds some 350,000 long-lived objects after start-up (the libraries, the
        # geography, the compiled templates). Without this, every full garbage collection walks
        # them all: one during a request cost 200-250 ms (measured on finalising a round).
        # Frozen, they are left out of collections until shutdown (garbage is collected first).
        warm_up()
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()
        if worker is not None and worker_thread is not None:
            worker.stop.set()
            worker_thread.join(timeout=5)  # a solve in progress: its lease runs out, see docs
        if retention is not None:
            retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention
        engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="stek",
        description="Woningmatching en aanbodplanning voor jongeren die de jeugdzorg verlaten",
        version="0.1.0",
        openapi_url=f"{API}/openapi.json",
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN: ours is api.apidocs
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.settings = settings
    app.state.sessions.configure(info={"settings": settings})  # e-mail settings (notifications)
    app.include_router(assets.router)  # before the mount: the bundle lives under /static
    app.include_router(explorer_router(f"{API}/docs", f"{API}/openapi.json", app.title))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(GuardRequests, settings=settings)
    app.add_middleware(SecurityHeaders)
    app.state.metrics = Metrics(app.state.sessions)
    # added last: outermost, so every answer has a request id and is counted
    app.add_middleware(RequestContext, observe=app.state.metrics.observe)
    install_page_handlers(app)

    for page_router in (
        review_pages.router,
        about_pages.router,
        admin_pages.router,
        start_pages.router,
        regisseur_pages.router,
        intake_pages.router,
        stock_pages.router,
        planner_pages.router,
        privacy_pages.router,
        auth.pages,
        round_exports.pages,
        inbox.router,
        metrics_router,
    ):
        app.include_router(page_router)
    for api_router in (
        health.router,
        auth.api,
        rounds.router,
        suggestions.router,
        supply.router,
        youths.router,
        options.router,
        contingents.router,
        imports.router,
        exports.router,
        audit.router,
        users.router,
        jobs.router,
        round_exports.api,
    ):
        app.include_router(api_router, prefix=API)

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            # keep a route's own Dutch reason ("ronde 7 bestaat niet"); no route: "Niet gevonden"
            detail = exc.detail if isinstance(exc, HTTPException) else None
            if not detail or detail == "Not Found":
                detail = "Niet gevonden"
            return JSONResponse({"detail": detail}, status_code=404)
        return templates.TemplateResponse(
            request, "not_found.html", {"title": "Niet gevonden"}, status_code=404
        )

    return app


def app_from_env() -> FastAPI:
    """The app with settings from the environment: for ``stek serve --workers N``, where each
    server process builds its own (uvicorn ``factory=True``)."""
    return create_app()
