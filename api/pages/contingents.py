"""The contingent agreements page (``/contingenten``): gemeente and corporation staff see their
agreements per year and type, propose a new amount, and accept or reject what the other party
proposed. Admin and planners read along. The counted amount changes only when the other party
accepts (api.services.contingents); a refused form says which field and writes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import SessionDep
from api.pages.common import actor_of, back, form_user, page_user, render
from api.services import contingents as svc
from api.services.rounds import Forbidden, NotFound, WorkflowError
from api.services.scope import own_gemeente, own_organisation_code
from matcher.records import ContingentRecord, RecordInvalid
from store import models as m

router = APIRouter(include_in_schema=False)
READ_ROLES = ("gemeente", "corporatie", "admin", "planner")
Reader = Annotated[Principal, Depends(page_user(*READ_ROLES))]
Party = Annotated[Principal, Depends(form_user(*svc.PARTIES))]
PATH = "/contingenten"
ChangeId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DONE = {
    "voorgesteld": "Voorstel verstuurd. Het telt pas mee als de andere partij het aanvaardt.",
    "aanvaard": "Voorstel aanvaard: het nieuwe aantal telt nu mee.",
    "afgewezen": "Voorstel afgewezen: het afgesproken aantal blijft staan.",
    "ingetrokken": "Voorstel ingetrokken.",
}


def _org_name(session: Session, principal: Principal) -> str:
    org = session.get(m.Organisation, principal.organisation_id)
    return org.name if org is not None else ""


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    year: int | None,
    *,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    values: dict[str, Any] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    actor = actor_of(principal)
    agreements = svc.list_agreements(session, actor, year)
    changes = svc.list_changes(session, actor, year)
    gemeenten = svc.gemeenten(session)
    return render(
        request,
        "contingents.html",
        {
            "title": "Contingenten",
            "year": year,
            "years": sorted({a.year for a in svc.list_agreements(session, actor)}),
            "agreements": agreements,
            "changes": changes,
            "decidable": {c.id for c in changes if svc.can_decide(session, actor, c)},
            "withdrawable": {c.id for c in changes if svc.can_withdraw(session, actor, c)},
            "party": principal.role in svc.PARTIES,
            "own_gemeente": own_gemeente(session, actor) if principal.role == "gemeente" else None,
            "own_corporation": (
                own_organisation_code(session, actor) if principal.role == "corporatie" else None
            ),
            "corporation_options": [(o.code, o.name) for o in svc.corporations(session)],
            "gemeente_options": [(g.code, g.name) for g in gemeenten],
            "type_options": [(t.code, t.name) for t in svc.housing_types(session)],
            "own_corporation_name": _org_name(session, principal),
            "gemeente_names": {g.code: g.name for g in gemeenten},
            "errors": errors or {},
            "problem": problem,
            "values": values or {},
            "done": DONE.get(done or ""),
            "labels": ContingentRecord.LABELS,
        },
        principal,
        status_code=status_code,
    )


@router.get(PATH, response_class=HTMLResponse)
def contingents_page(
    request: Request,
    session: SessionDep,
    principal: Reader,
    jaar: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    gedaan: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _page(request, session, principal, jaar, done=gedaan)


def _year_of(form: Any) -> int | None:
    text = str(form.get("terug_jaar") or "")
    return int(text) if text.isdigit() and 2000 <= int(text) <= 2100 else None


@router.post(f"{PATH}/voorstel", response_class=HTMLResponse)
async def propose(request: Request, session: SessionDep, principal: Party) -> Response:
    """Propose an amount for an agreement of the own organisation (a new one or a change)."""
    form = await request.form()
    actor = actor_of(principal)
    year = _year_of(form)
    data = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    # the own side of the agreement comes from the signed-in organisation, not the form
    if principal.role == "gemeente":
        data["gemeente_code"] = own_gemeente(session, actor) or ""
    else:
        data["corporation"] = own_organisation_code(session, actor) or ""
    try:
        record = ContingentRecord.parse_form(data)
        svc.propose(session, actor, record)
    except RecordInvalid as exc:
        return _page(
            request,
            session,
            principal,
            year,
            errors=exc.by_field(),
            values=data,
            status_code=422,
        )
    except (WorkflowError, Forbidden) as exc:
        code = 403 if isinstance(exc, Forbidden) else 409
        return _page(
            request, session, principal, year, problem=str(exc), values=data, status_code=code
        )
    return back(PATH, "voorstellen", jaar=year, gedaan="voorgesteld")


async def _decide(
    request: Request, session: Session, principal: Principal, change_id: int, action: str
) -> Response:
    form = await request.form()
    year = _year_of(form)
    note = str(form.get("decision_note") or "")[:1000]
    actor = actor_of(principal)
    try:
        if action == "intrekken":
            svc.withdraw(session, actor, change_id)
        else:
            svc.decide(session, actor, change_id, action == "aanvaarden", note)
    except RecordInvalid as exc:
        return _page(request, session, principal, year, problem=exc.errors[0][1], status_code=422)
    except NotFound as exc:
        return _page(request, session, principal, year, problem=str(exc), status_code=404)
    except (WorkflowError, Forbidden) as exc:
        code = 403 if isinstance(exc, Forbidden) else 409
        return _page(request, session, principal, year, problem=str(exc), status_code=code)
    done = {"aanvaarden": "aanvaard", "afwijzen": "afgewezen", "intrekken": "ingetrokken"}
    return back(PATH, "voorstellen", jaar=year, gedaan=done[action])


@router.post(f"{PATH}/voorstellen/{{change_id}}/aanvaarden", response_class=HTMLResponse)
async def accept(
    request: Request, session: SessionDep, principal: Party, change_id: ChangeId
) -> Response:
    return await _decide(request, session, principal, change_id, "aanvaarden")


@router.post(f"{PATH}/voorstellen/{{change_id}}/afwijzen", response_class=HTMLResponse)
async def reject(
    request: Request, session: SessionDep, principal: Party, change_id: ChangeId
) -> Response:
    return await _decide(request, session, principal, change_id, "afwijzen")


@router.post(f"{PATH}/voorstellen/{{change_id}}/intrekken", response_class=HTMLResponse)
async def withdraw(
    request: Request, session: SessionDep, principal: Party, change_id: ChangeId
) -> Response:
    return await _decide(request, session, principal, change_id, "intrekken")
