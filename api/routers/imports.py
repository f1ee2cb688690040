"""CSV imports (``/api/v1/imports/{kind}``): multipart upload, all-or-nothing.

A refused file answers 422 with the first row errors (row 1 is the header, as in Excel; at most
``settings.max_import_errors``) and their total, and writes nothing but the audit entry of the
refusal.

The route declares no ``File`` parameter, so FastAPI reads no body before the dependencies: the
caller is signed in and allowed this kind before a byte of the upload is read, and the body is
then streamed to a temporary file and cut off past ``settings.max_import_bytes`` (413), whether
or not it announced its length.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, ErrorOut, actor
from api.services import imports as svc
from api.services.rounds import Actor
from api.settings import Settings
from api.uploads import UPLOAD_FIELD, receive_upload
from store.csvio import ImportFailed, more_errors

router = APIRouter(prefix="/imports", tags=["imports"])

ImportKind = Literal["organisations", "users", "types", "options", "youths", "contingents"]


class ImportOut(BaseModel):
    kind: str
    inserted: int
    updated: int


class RowErrorOut(BaseModel):
    row: int | None
    field: str | None
    message: str


class ImportRefused(BaseModel):
    """A refused file: ``errors`` per row (the first ``settings.max_import_errors`` by row) and
    ``total_errors`` counting all of them. A malformed request (no file) gets a validation list
    in ``detail`` instead, so this one 422 schema covers both."""

    detail: str | list[dict[str, Any]]
    errors: list[RowErrorOut] = []
    total_errors: int = 0


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [UPLOAD_FIELD],
                    "properties": {
                        UPLOAD_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV in the format of docs/file-formats.md "
                            "(at most settings.max_import_bytes, default 50 MB)",
                        }
                    },
                }
            }
        },
    }
}


def _import(
    session: Session, who: Actor, kind: str, filename: str, path: Path, max_errors: int
) -> ImportOut | JSONResponse:
    try:
        report = svc.import_upload(session, who, kind, filename, path, max_errors=max_errors)
    except ImportFailed as exc:
        session.rollback()  # nothing of the file stays; the refusal itself is audited
        svc.record_refused(session, who, kind, filename, exc)
        detail = f"import geweigerd, {exc.total} fout(en)"
        if exc.more:
            detail += f"; de eerste {len(exc.errors)} staan hieronder, {more_errors(exc.more)}"
        body = ImportRefused(
            detail=detail,
            errors=[RowErrorOut(row=e.row, field=e.field, message=e.message) for e in exc.errors],
            total_errors=exc.total,
        )
        return JSONResponse(body.model_dump(), status_code=422)
    return ImportOut(kind=report.kind, inserted=report.inserted, updated=report.updated)


@router.post(
    "/{kind}",
    response_model=ImportOut,
    responses={**ERRORS, 413: {"model": ErrorOut}, 422: {"model": ImportRefused}},
    openapi_extra=UPLOAD_BODY,
)
async def import_csv(
    kind: ImportKind, request: Request, principal: Caller, session: SessionDep
) -> ImportOut | JSONResponse:
    """Import one CSV file, field ``file`` of a multipart form (admin: every kind; corporatie:
    own options and contingents; gemeente: own youths and contingents)."""
    who = actor(principal)
    if kind not in svc.allowed_kinds(who.role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"deze rol mag geen {kind} importeren")
    settings: Settings = request.app.state.settings
    with tempfile.TemporaryDirectory(prefix="stek-import-") as folder:
        upload = await receive_upload(request, settings.max_import_bytes, Path(folder))
        return await run_in_threadpool(
            _import, session, who, kind, upload.filename, upload.path, settings.max_import_errors
        )
