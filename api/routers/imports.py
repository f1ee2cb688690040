"""CSV imports (``/api/v1/imports/{kind}``): multipart upload, all-or-nothing.

A refused file answers 422 with every row error (row 1 is the header, as in Excel) and writes
nothing but the audit entry of the refusal.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.app import SessionDep
from api.routers.common import ERRORS, Caller, ErrorOut, actor, call
from api.services import imports as svc
from store.csvio import ImportFailed

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
    """A refused file: ``errors`` per row. A malformed request (no file) gets FastAPI's
    validation list in ``detail`` instead, so this one 422 schema covers both."""

    detail: str | list[dict[str, Any]]
    errors: list[RowErrorOut] = []


@router.post(
    "/{kind}",
    response_model=ImportOut,
    responses={**ERRORS, 413: {"model": ErrorOut}, 422: {"model": ImportRefused}},
)
def import_csv(
    kind: ImportKind,
    file: Annotated[UploadFile, File(description="CSV in the format of docs/file-formats.md")],
    principal: Caller,
    session: SessionDep,
) -> ImportOut | JSONResponse:
    """Import one CSV file (admin: every kind; corporatie: own options and contingents;
    gemeente: own youths and contingents)."""
    who = actor(principal)
    if kind not in svc.allowed_kinds(who.role):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"deze rol mag geen {kind} importeren")
    data = file.file.read(svc.MAX_UPLOAD_BYTES + 1)
    if len(data) > svc.MAX_UPLOAD_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "bestand is groter dan 20 MB")
    filename = (file.filename or "")[:200]
    try:
        report = call(svc.import_upload, session, who, kind, filename, data)
    except ImportFailed as exc:
        session.rollback()  # nothing of the file stays; the refusal itself is audited
        svc.record_refused(session, who, kind, filename, exc.errors)
        body = ImportRefused(
            detail=f"import geweigerd, {len(exc.errors)} fout(en)",
            errors=[RowErrorOut(row=e.row, field=e.field, message=e.message) for e in exc.errors],
        )
        return JSONResponse(body.model_dump(), status_code=422)
    return ImportOut(kind=report.kind, inserted=report.inserted, updated=report.updated)
