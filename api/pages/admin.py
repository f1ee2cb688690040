"""The administrator's page: reference data, users and organisations, and CSV imports.

The import form is read only after the page gate knows the user is an administrator: the route
takes no ``File`` parameter (FastAPI would read the whole body before any dependency), then
streams the upload to a temporary file, cut off past ``settings.max_import_bytes``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.auth import Principal, check_csrf
from api.deps import SessionDep
from api.pages import accounts, contingents
from api.pages.common import actor_of, page_user, render
from api.services import imports as imports_svc
from api.services import overview
from api.services import users as users_svc
from api.settings import Settings
from api.uploads import receive_upload
from store.csvio import ImportFailed, RowError

router = APIRouter(include_in_schema=False)
# the account, reference-data and contingent pages ride along with the admin page's router
router.include_router(accounts.router)
router.include_router(contingents.router)
Admin = Annotated[Principal, Depends(page_user("admin"))]


def admin_page(
    request: Request,
    session: Session,
    principal: Principal,
    errors: list[Any] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin.html",
        {
            "title": "Beheer",
            "counts": overview.counts(session),
            "policies": overview.policies(session),
            "types": overview.housing_types(session),
            "users": users_svc.list_users(session, actor_of(principal)),
            "organisations": users_svc.list_organisations(session),
            "kinds": imports_svc.allowed_kinds(principal.role),
            "errors": errors,
            "message": message,
        },
        principal,
        status_code=status_code,
    )


@router.get("/beheer", response_class=HTMLResponse)
def admin(request: Request, session: SessionDep, principal: Admin) -> Response:
    return admin_page(request, session, principal)


def _import(
    session: Session, principal: Principal, kind: str, name: str, path: Path, max_errors: int
) -> tuple[list[RowError] | None, str | None]:
    actor = actor_of(principal)
    try:
        report = imports_svc.import_upload(session, actor, kind, name, path, max_errors=max_errors)
    except ImportFailed as exc:
        session.rollback()
        imports_svc.record_refused(session, actor, kind, name, exc)
        return exc.errors, None
    return None, f"{name}: {report.inserted} nieuw, {report.updated} bijgewerkt."


@router.post("/beheer/import", response_class=HTMLResponse)
async def admin_import(request: Request, session: SessionDep, principal: Admin) -> Response:
    settings: Settings = request.app.state.settings
    with tempfile.TemporaryDirectory(prefix="stek-import-") as folder:
        try:
            upload = await receive_upload(request, settings.max_import_bytes, Path(folder))
        except HTTPException as exc:
            message = exc.detail if isinstance(exc.detail, str) else "kies een CSV-bestand"
            if isinstance(exc.detail, list) and exc.detail:
                message = str(exc.detail[0].get("msg", message))
            errors = [RowError(None, "bestand", message)]
            return admin_page(request, session, principal, errors, status_code=exc.status_code)
        check_csrf(principal, upload.fields.get("csrf_token"))
        kind = upload.fields.get("kind", "")
        if kind not in imports_svc.allowed_kinds(principal.role):
            errors = [RowError(None, "soort", f"kies een soort uit de lijst, niet {kind[:40]!r}")]
            return admin_page(request, session, principal, errors, status_code=422)
        name = upload.filename or "upload.csv"
        refused, done = await run_in_threadpool(
            _import, session, principal, kind, name, upload.path, settings.max_import_errors
        )
    if refused is not None:
        return admin_page(request, session, principal, refused, status_code=422)
    return admin_page(request, session, principal, message=done)
