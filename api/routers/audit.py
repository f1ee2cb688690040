"""The audit log (``/api/v1/audit``): read and CSV export for admin and gemeente. There is no
route that changes or deletes an entry, and the database refuses UPDATE and DELETE as well."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, actor, utc
from api.services import audit_log as svc

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    user: str | None
    organisation: str | None
    action: str
    entity: str
    entity_id: str | None
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    total: int
    items: list[AuditEntryOut]


Text60 = Annotated[str | None, Query(max_length=60)]


@router.get("", response_model=AuditPage, responses=ERRORS)
def read_audit(
    principal: Caller,
    session: SessionDep,
    action: Text60 = None,
    entity: Text60 = None,
    entity_id: Text60 = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPage:
    """Audit entries in your scope, newest first (admin: all; gemeente: own organisation's
    actions and every access to its youths)."""
    rows, total = svc.read_entries(
        session,
        actor(principal),
        action=action,
        entity=entity,
        entity_id=entity_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    return AuditPage(
        total=total,
        items=[
            AuditEntryOut(
                id=e.id,
                at=utc(e.at),
                user_id=e.user_id,
                user=email,
                organisation=org,
                action=e.action,
                entity=e.entity,
                entity_id=e.entity_id,
                detail=e.detail,
            )
            for e, email, org in rows
        ],
    )


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **ERRORS},
)
def export_audit(
    principal: Caller,
    session: SessionDep,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    """The audit entries in your scope as CSV, for the privacy officer (audited itself)."""
    text = svc.export_entries(session, actor(principal), since=since, until=until)
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
