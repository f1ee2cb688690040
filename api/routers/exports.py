"""CSV exports (``/api/v1/exports/{kind}``), scoped per role and audited."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, actor
from api.services import exports as svc

router = APIRouter(prefix="/exports", tags=["exports"])

ExportKind = Literal["organisations", "users", "types", "options", "youths", "contingents"]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}


@router.get("/{kind}", response_class=Response, responses={**CSV_RESPONSE, **ERRORS})
def export(kind: ExportKind, principal: Caller, session: SessionDep) -> Response:
    """The canonical CSV of ``kind`` (docs/file-formats.md) limited to your scope.

    Reference data (organisations, types, options) for every role; contingents for admin,
    planners and their own for gemeente and corporatie; users and youths for admin (youths
    without no-go areas).
    """
    text, _rows = svc.export_rows(session, actor(principal), kind)
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )
