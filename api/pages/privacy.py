"""The privacy officer's pages (role ``privacy``, functionaris gegevensbescherming; issue 17).

The audit log with filters (user, action, subject, period), paging and a formula-safe CSV
export of the filtered entries; the retention report (a dry run of store/retention.py: what
the next run would remove); and the data-subject export of one young person as a printable page
and as JSON. Nothing else: the role is confined to these paths (``api.auth.ROLE_PATHS``), and
every page here is for this role only. Every export is audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import Principal
from api.deps import SessionDep
from api.headers import csp_nonce
from api.pages.common import actor_of, not_found, page_user, render
from api.retention_job import retention_terms
from api.services import audit_log
from api.services.rounds import NotFound
from api.services.subject_export import subject_export
from api.settings import Settings
from store.retention import KINDS, run_retention

router = APIRouter(include_in_schema=False)
Officer = Annotated[Principal, Depends(page_user("privacy"))]
PAGE_SIZE = 50
Text = Annotated[str, Query(max_length=200)]


@dataclass(frozen=True)
class AuditFilters:
    """The audit page's filters as typed in, parsed; ``errors`` names each bad field."""

    user: str = ""
    action: str = ""
    entity: str = ""
    entity_id: str = ""
    since: date | None = None
    until: date | None = None
    errors: tuple[str, ...] = ()

    def query(self, **extra: Any) -> str:
        values = {
            "gebruiker": self.user,
            "actie": self.action,
            "onderwerp": self.entity,
            "id": self.entity_id,
            "van": self.since.isoformat() if self.since else "",
            "tot": self.until.isoformat() if self.until else "",
            **extra,
        }
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    def service_args(self) -> dict[str, Any]:
        return {
            "user_email": self.user or None,
            "action": self.action or None,
            "entity": self.entity or None,
            "entity_id": self.entity_id or None,
            # dates are whole days in UTC: from the start of 'van' to the end of 'tot'
            "since": datetime.combine(self.since, time(), UTC) if self.since else None,
            "until": datetime.combine(self.until + timedelta(days=1), time(), UTC)
            if self.until
            else None,
        }


def _day(value: str, field: str, errors: list[str]) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append(f"{field}: geen geldige datum (jjjj-mm-dd): {value[:20]!r}")
        return None


def parse_filters(
    gebruiker: str, actie: str, onderwerp: str, entity_id: str, van: str, tot: str
) -> AuditFilters:
    errors: list[str] = []
    since = _day(van, "van", errors)
    until = _day(tot, "tot en met", errors)
    if since and until and until < since:
        errors.append("tot en met: ligt vóór 'van'")
    for name, value in (("actie", actie), ("onderwerp", onderwerp), ("id", entity_id)):
        if len(value) > 60:
            errors.append(f"{name}: langer dan 60 tekens")
    if errors:
        return AuditFilters(errors=tuple(errors))
    return AuditFilters(
        gebruiker.strip(), actie.strip(), onderwerp.strip(), entity_id.strip(), since, until
    )


def _filters(
    gebruiker: Text = "",
    actie: Text = "",
    onderwerp: Text = "",
    id: Text = "",
    van: Annotated[str, Query(max_length=20)] = "",
    tot: Annotated[str, Query(max_length=20)] = "",
) -> AuditFilters:
    return parse_filters(gebruiker, actie, onderwerp, id, van, tot)


Filters = Annotated[AuditFilters, Depends(_filters)]


def _detail_text(detail: dict[str, Any] | None) -> str:
    return json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else ""


@router.get("/privacy", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    principal: Officer,
    filters: Filters,
    pagina: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    actor = actor_of(principal)
    actions, entities = audit_log.filter_values(session, actor)
    rows: list[Any] = []
    total = 0
    if not filters.errors:
        rows, total = audit_log.read_entries(
            session,
            actor,
            limit=PAGE_SIZE,
            offset=(pagina - 1) * PAGE_SIZE,
            **filters.service_args(),
        )
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "privacy_audit.html",
        {
            "title": "Auditlog",
            "filters": filters,
            "actions": actions,
            "entities": entities,
            "rows": [
                {
                    "id": e.id,
                    "at": e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC),
                    "user": email,
                    "organisation": org,
                    "action": e.action,
                    "entity": e.entity,
                    "entity_id": e.entity_id,
                    "detail": _detail_text(e.detail),
                }
                for e, email, org in rows
            ],
            "total": total,
            "page": pagina,
            "pages": pages,
            "previous": filters.query(pagina=pagina - 1) if pagina > 1 else None,
            "next": filters.query(pagina=pagina + 1) if pagina < pages else None,
            "csv": filters.query(),
        },
        principal,
        status_code=422 if filters.errors else 200,
    )


@router.get("/privacy/auditlog.csv")
def audit_csv(
    request: Request, session: SessionDep, principal: Officer, filters: Filters
) -> Response:
    if filters.errors:
        return render(
            request,
            "denied.html",
            {"title": "Niet geëxporteerd", "message": "; ".join(filters.errors)},
            principal,
            status_code=422,
        )
    text = audit_log.export_entries(session, actor_of(principal), **filters.service_args())
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="auditlog.csv"'},
    )


@router.get("/privacy/bewaartermijnen", response_class=HTMLResponse)
def retention_page(request: Request, session: SessionDep, principal: Officer) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    terms = retention_terms(settings)
    report = run_retention(session, terms, dry_run=True)  # counts only, changes nothing
    rows = [
        {
            "kind": kind,
            "days": getattr(terms, kind),
            "cutoff": datetime.fromisoformat(report.cutoffs[kind]),
            "count": report.counts.get(kind, 0),
            "skipped": report.skipped.get(kind),
        }
        for kind in KINDS
    ]
    return render(
        request,
        "privacy_retention.html",
        {"title": "Bewaartermijnen", "rows": rows},
        principal,
    )


@router.get("/privacy/jongeren", response_class=HTMLResponse)
def subject_search(
    request: Request,
    principal: Officer,
    code: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    code = code.strip()
    if code:
        return RedirectResponse(f"/privacy/jongeren/{code}", status_code=status.HTTP_303_SEE_OTHER)
    return render(request, "privacy_subject_search.html", {"title": "Inzage jongere"}, principal)


@router.get("/privacy/jongeren/{code}", response_class=HTMLResponse)
def subject_page(
    request: Request, session: SessionDep, principal: Officer, code: str
) -> HTMLResponse:
    try:
        export = subject_export(session, actor_of(principal), code, "html")
    except NotFound:
        return not_found(request, principal, f"Jongere {code} bestaat niet in stek.")
    return render(
        request,
        "privacy_subject.html",
        {
            "title": f"Inzage jongere {export['youth']['code']}",
            "x": export,
            "dump": _detail_text,
            "nonce": csp_nonce(request),
        },
        principal,
    )


@router.get("/privacy/jongeren/{code}/inzage.json")
def subject_json(request: Request, session: SessionDep, principal: Officer, code: str) -> Response:
    try:
        export = subject_export(session, actor_of(principal), code, "json")
    except NotFound:
        return not_found(request, principal, f"Jongere {code} bestaat niet in stek.")
    body = json.dumps(export, ensure_ascii=False, indent=2, allow_nan=False)
    return Response(
        content=body.encode("utf-8"),
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="inzage-{_safe(code)}.json"'},
    )


def _safe(code: str) -> str:
    return "".join(ch for ch in code if ch.isalnum() or ch in "-_")[:40] or "jongere"
