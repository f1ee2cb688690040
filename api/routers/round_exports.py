"""Downloads of a round's proposal, unmatched list and decisions, as CSV or .xlsx.

Pages: ``/beoordelen/rondes/{id}/export/{soort}.{csv|xlsx}``, ``soort`` one of ``voorstel``,
``zonder-plek`` and ``besluiten`` (and ``?versie=N``), for the signed-in reviewer. API:
``/api/v1/rounds/{id}/export?format=csv|xlsx&kind=proposal|unmatched|decisions`` (and
``version=N``) for bearer tokens. Both are scoped like the reads and audited by the service
(:mod:`api.services.round_exports`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel

from api.auth import Principal
from api.deps import SessionDep
from api.pages.common import page_user
from api.routers.common import ERRORS, Caller, actor
from api.services import round_exports as svc
from api.services.review import REVIEW_ROLES

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["rounds"])

RoundId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Reviewer = Annotated[Principal, Depends(page_user(*REVIEW_ROLES))]


class ExportRefused(BaseModel):
    """A refused export request: a Dutch message naming the field, or FastAPI's validation
    list for a malformed one."""

    detail: str | list[dict[str, Any]]


FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Het bestand (CSV: UTF-8 met BOM, `;`-gescheiden)",
        "content": {media: {"schema": {"type": "string"}} for media in svc.MEDIA_TYPES.values()},
    },
    **ERRORS,
    422: {"model": ExportRefused},
}


def _download(file: svc.ExportFile) -> Response:
    return Response(
        content=file.content,
        media_type=file.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{file.filename}"',
            "Cache-Control": "no-store",
        },
    )


# --------------------------------------------------------------------------- API


@api.get("/rounds/{round_id}/export", response_class=Response, responses=FILE_RESPONSES)
def export_round(
    round_id: RoundId,
    principal: Caller,
    session: SessionDep,
    kind: Annotated[str, Query(max_length=20, description="proposal, unmatched of decisions")] = (
        "proposal"
    ),
    fmt: Annotated[str, Query(alias="format", max_length=10, description="csv of xlsx")] = "csv",
    version: Annotated[
        str | None, Query(max_length=10, description="voorstelversie; standaard de laatste")
    ] = None,
) -> Response:
    """One round as a file: its proposal (the latest version or ``version``), its young people
    without a place, or its decisions (who decided what, when, why; all versions unless
    ``version``). Scoped like the reads: corporations only published or final rounds and their
    own options, and only counts of young people without a place."""
    what = svc.parse_kind(kind)
    as_format = svc.parse_format(fmt)
    chosen = svc.parse_version(version, "version")
    who = actor(principal)
    file = svc.export_round(session, who, round_id, what, as_format, chosen)
    return _download(file)


# --------------------------------------------------------------------------- pages


Versie = Annotated[str | None, Query(max_length=10)]


@pages.get("/beoordelen/rondes/{round_id}/export/{bestand}")
def export_page(
    round_id: RoundId,
    bestand: Annotated[str, Path(max_length=40)],
    session: SessionDep,
    principal: Reviewer,
    versie: Versie = None,
) -> Response:
    """``bestand`` is ``{soort}.{csv|xlsx}``, e.g. ``voorstel.xlsx`` or ``besluiten.csv``."""
    soort, _, extension = bestand.rpartition(".")
    kind = svc.parse_kind(soort, page=True)
    fmt = svc.parse_format(extension, "bestand")
    version = svc.parse_version(versie)
    return _download(svc.export_round(session, actor(principal), round_id, kind, fmt, version))
