"""Administrator pages for accounts and reference data (``/beheer/...``), and the public page
that a one-time password link leads to (``/wachtwoord-instellen/{token}``).

Users and organisations: create, edit, deactivate; a new user gets a one-time link to set their
own password, shown to the admin once. The menukaart (housing type rules) and the policy rows by
date: view, add and edit. Every form checks its record (matcher.records) and the services check
what needs the database; a refused form shows each field's Dutch message and writes nothing.
Every change is audited by the services.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import SessionDep
from api.formatting import nl_date
from api.pages.common import actor_of, back, form_user, not_found, page_user, render
from api.services import reference as ref
from api.services import users as users_svc
from api.services.rounds import Forbidden, NotFound, WorkflowError
from matcher.glossary import labels
from matcher.records import (
    HousingTypeRecord,
    OrganisationRecord,
    PolicyRecord,
    RecordInvalid,
    UserRecord,
)
from store import models as m

router = APIRouter(include_in_schema=False)
Admin = Annotated[Principal, Depends(page_user("admin"))]
AdminForm = Annotated[Principal, Depends(form_user("admin"))]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Code = Annotated[str, Path(min_length=1, max_length=40)]

# (field, input kind) per reference form; labels come from the record's LABELS
TYPE_FORM: tuple[tuple[str, str], ...] = (
    ("code", "text"),
    ("name", "text"),
    ("min_age", "number"),
    ("max_age", "number"),
    ("persons_min", "number"),
    ("persons_max", "number"),
    ("support_min", "number"),
    ("support_max", "number"),
    ("stay_min_months", "number"),
    ("stay_max_months", "number"),
    ("max_age_gap", "number"),
    ("zelfstandig", "checkbox"),
    ("provider_contract", "checkbox"),
    ("uses_contingent", "checkbox"),
    ("description", "text"),
)
POLICY_FORM: tuple[tuple[str, str], ...] = (
    ("valid_from", "date"),
    ("kwaliteitskortingsgrens", "money"),
    ("aftoppingsgrens_1_2", "money"),
    ("aftoppingsgrens_3plus", "money"),
    ("maximale_huurgrens", "money"),
    ("basishuur", "money"),
    ("young_tenant_min_age", "number"),
    ("young_tenant_max_age", "number"),
    ("share_above_kwaliteitskorting", "share"),
    ("max_rent_share_of_income", "share"),
    ("servicekosten_in_rekenhuur", "checkbox"),
    ("verified", "checkbox"),
    ("source", "text"),
)


def role_options() -> list[tuple[str, str]]:
    return [(code, text) for code, text in labels("role").items() if code in m.ROLES]


DONE = {
    "opgeslagen": "Opgeslagen.",
    "aangemaakt": "Aangemaakt.",
}


def _form_data(form: Any) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _values(row: Any, fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, _kind in fields:
        value = getattr(row, name, None)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


# --------------------------------------------------------------------------- users


def _users_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin_users.html",
        {
            "title": "Gebruikers",
            "users": users_svc.list_users(session, actor_of(principal)),
            "organisation_options": [
                (o.code, o.name) for o in users_svc.list_organisations(session) if o.active
            ],
            "errors": errors or {},
            "problem": problem,
            "values": values or {"role": "regisseur"},
            "labels": UserRecord.LABELS,
            "role_options": role_options(),
        },
        principal,
        status_code=status_code,
    )


@router.get("/beheer/gebruikers", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _users_page(request, session, principal)


def _user_page(
    request: Request,
    session: Session,
    principal: Principal,
    user: m.User,
    *,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    values: dict[str, Any] | None = None,
    link: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin_user.html",
        {
            "title": f"Gebruiker {user.email}",
            "user": user,
            "organisation_options": [
                (o.code, o.name)
                for o in users_svc.list_organisations(session)
                if o.active or o.id == user.organisation_id
            ],
            "errors": errors or {},
            "problem": problem,
            "values": values
            or {
                "name": user.name,
                "role": user.role,
                "organisation": user.organisation.code,
                "active": user.active,
            },
            "role_options": role_options(),
            "link": link,
            "link_hours": users_svc.RESET_LINK_HOURS,
            "done": DONE.get(done or ""),
        },
        principal,
        status_code=status_code,
    )


def _link(request: Request, token: str) -> str:
    return str(request.base_url).rstrip("/") + f"/wachtwoord-instellen/{token}"


@router.post("/beheer/gebruikers", response_class=HTMLResponse)
async def create_user(request: Request, session: SessionDep, principal: AdminForm) -> Response:
    """Create a user without a password and show the one-time link to set one."""
    data = _form_data(await request.form())
    actor = actor_of(principal)
    try:
        record = UserRecord.parse_form(data, ("email", "name", "role", "organisation"))
        user = users_svc.create_user(
            session,
            actor,
            email=record.email,
            name=record.name,
            role=record.role,
            organisation=record.organisation,
        )
        token = users_svc.create_password_link(session, actor, user.id)
    except RecordInvalid as exc:
        return _users_page(
            request, session, principal, errors=exc.by_field(), values=data, status_code=422
        )
    except users_svc.FieldConflict as exc:
        return _users_page(
            request, session, principal, errors={exc.field: str(exc)}, values=data, status_code=409
        )
    return _user_page(
        request, session, principal, user, link=_link(request, token), done="aangemaakt"
    )


@router.get("/beheer/gebruikers/{user_id}", response_class=HTMLResponse)
def user_page(
    request: Request, session: SessionDep, principal: Admin, user_id: UserId, gedaan: str = ""
) -> Response:
    try:
        user = users_svc.get_user(session, actor_of(principal), user_id)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    return _user_page(request, session, principal, user, done=gedaan[:20])


@router.post("/beheer/gebruikers/{user_id}", response_class=HTMLResponse)
async def update_user(
    request: Request, session: SessionDep, principal: AdminForm, user_id: UserId
) -> Response:
    data = _form_data(await request.form())
    actor = actor_of(principal)
    try:
        user = users_svc.get_user(session, actor, user_id)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    try:
        users_svc.update_user(
            session,
            actor,
            user_id,
            name=data.get("name", ""),
            role=data.get("role", ""),
            organisation=data.get("organisation", ""),
            active=data.get("active") == "on",
        )
    except RecordInvalid as exc:
        return _user_page(
            request, session, principal, user, errors=exc.by_field(), values=data, status_code=422
        )
    except users_svc.FieldConflict as exc:
        return _user_page(
            request,
            session,
            principal,
            user,
            errors={exc.field: str(exc)},
            values=data,
            status_code=409,
        )
    except WorkflowError as exc:
        return _user_page(
            request, session, principal, user, problem=str(exc), values=data, status_code=409
        )
    return back(f"/beheer/gebruikers/{user_id}", gedaan="opgeslagen")


@router.post("/beheer/gebruikers/{user_id}/wachtwoordlink", response_class=HTMLResponse)
def password_link(
    request: Request, session: SessionDep, principal: AdminForm, user_id: UserId
) -> Response:
    """A new one-time link (earlier unused links stop working), shown once."""
    actor = actor_of(principal)
    try:
        user = users_svc.get_user(session, actor, user_id)
        token = users_svc.create_password_link(session, actor, user_id)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    except WorkflowError as exc:
        return _user_page(request, session, principal, user, problem=str(exc), status_code=409)
    return _user_page(request, session, principal, user, link=_link(request, token))


# --------------------------------------------------------------------------- organisations


def _orgs_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin_organisations.html",
        {
            "title": "Organisaties",
            "organisations": users_svc.list_organisations(session),
            "errors": errors or {},
            "values": values or {},
            "labels": OrganisationRecord.LABELS,
            "kind_options": list(labels("org_kind").items()),
        },
        principal,
        status_code=status_code,
    )


@router.get("/beheer/organisaties", response_class=HTMLResponse)
def organisations_page(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _orgs_page(request, session, principal)


@router.post("/beheer/organisaties", response_class=HTMLResponse)
async def create_organisation(
    request: Request, session: SessionDep, principal: AdminForm
) -> Response:
    data = _form_data(await request.form())
    try:
        record = OrganisationRecord.parse_form(data, ("code", "name", "kind", "gemeente_code"))
        org = users_svc.create_organisation(
            session,
            actor_of(principal),
            code=record.code,
            name=record.name,
            kind=record.kind,
            gemeente_code=record.gemeente_code,
        )
    except RecordInvalid as exc:
        return _orgs_page(
            request, session, principal, errors=exc.by_field(), values=data, status_code=422
        )
    except users_svc.FieldConflict as exc:
        return _orgs_page(
            request, session, principal, errors={exc.field: str(exc)}, values=data, status_code=409
        )
    return back(f"/beheer/organisaties/{org.code}", gedaan="aangemaakt")


def _org_page(
    request: Request,
    session: Session,
    principal: Principal,
    org: m.Organisation,
    *,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    values: dict[str, Any] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin_organisation.html",
        {
            "title": f"Organisatie {org.name}",
            "org": org,
            "members": sorted(org.users, key=lambda u: u.email),
            "errors": errors or {},
            "problem": problem,
            "values": values or {"name": org.name, "active": org.active},
            "done": DONE.get(done or ""),
        },
        principal,
        status_code=status_code,
    )


@router.get("/beheer/organisaties/{code}", response_class=HTMLResponse)
def organisation_page(
    request: Request, session: SessionDep, principal: Admin, code: Code, gedaan: str = ""
) -> Response:
    try:
        org = users_svc.get_organisation(session, actor_of(principal), code)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    return _org_page(request, session, principal, org, done=gedaan[:20])


@router.post("/beheer/organisaties/{code}", response_class=HTMLResponse)
async def update_organisation(
    request: Request, session: SessionDep, principal: AdminForm, code: Code
) -> Response:
    data = _form_data(await request.form())
    actor = actor_of(principal)
    try:
        org = users_svc.get_organisation(session, actor, code)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    try:
        users_svc.update_organisation(
            session, actor, code, name=data.get("name", ""), active=data.get("active") == "on"
        )
    except RecordInvalid as exc:
        return _org_page(
            request, session, principal, org, errors=exc.by_field(), values=data, status_code=422
        )
    except WorkflowError as exc:
        return _org_page(
            request, session, principal, org, problem=str(exc), values=data, status_code=409
        )
    return back(f"/beheer/organisaties/{code}", gedaan="opgeslagen")


# --------------------------------------------------------------------------- menukaart, policy


def _reference_page(
    request: Request,
    principal: Principal,
    *,
    kind: str,
    rows: list[Any],
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    spec = _SPECS[kind]
    return render(
        request,
        "admin_reference.html",
        {
            "title": spec["title"],
            "kind": kind,
            "spec": spec,
            "rows": rows,
            "fields": spec["form"],
            "labels": spec["record"].LABELS,
            "errors": errors or {},
            "values": values or {},
        },
        principal,
        status_code=status_code,
    )


def _record_page(
    request: Request,
    principal: Principal,
    *,
    kind: str,
    key: str,
    errors: dict[str, str] | None = None,
    values: dict[str, Any],
    done: str | None = None,
    status_code: int = 200,
    heading: str | None = None,
) -> HTMLResponse:
    spec = _SPECS[kind]
    return render(
        request,
        "admin_record.html",
        {
            "title": f"{spec['one']} {heading or key}",
            "kind": kind,
            "key": key,
            "spec": spec,
            "fields": spec["form"],
            "labels": spec["record"].LABELS,
            "errors": errors or {},
            "values": values,
            "done": DONE.get(done or ""),
        },
        principal,
        status_code=status_code,
    )


_SPECS: dict[str, dict[str, Any]] = {
    "menukaart": {
        "title": "Menukaart (woonvormen)",
        "one": "Woonvorm",
        "path": "/beheer/menukaart",
        "form": TYPE_FORM,
        "record": HousingTypeRecord,
        "columns": ("code", "name", "min_age", "max_age", "persons_min", "persons_max"),
        "key": "code",
        "fixed": ("code",),
    },
    "beleid": {
        "title": "Beleidstabel (huurtoeslaggrenzen per datum)",
        "one": "Beleidsrij vanaf",
        "path": "/beheer/beleid",
        "form": POLICY_FORM,
        "record": PolicyRecord,
        "columns": (
            "valid_from",
            "kwaliteitskortingsgrens",
            "aftoppingsgrens_1_2",
            "aftoppingsgrens_3plus",
            "maximale_huurgrens",
            "verified",
        ),
        "key": "valid_from",
        "fixed": (),
    },
}


@router.get("/beheer/menukaart", response_class=HTMLResponse)
def types_page(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _reference_page(request, principal, kind="menukaart", rows=ref.list_types(session))


@router.post("/beheer/menukaart", response_class=HTMLResponse)
async def create_type(request: Request, session: SessionDep, principal: AdminForm) -> Response:
    data = _form_data(await request.form())
    try:
        record = HousingTypeRecord.parse_form(data)
        ref.save_type(session, actor_of(principal), record, new=True)
    except RecordInvalid as exc:
        return _reference_page(
            request,
            principal,
            kind="menukaart",
            rows=ref.list_types(session),
            errors=exc.by_field(),
            values=data,
            status_code=422,
        )
    return back(f"/beheer/menukaart/{record.code}", gedaan="aangemaakt")


@router.get("/beheer/menukaart/{code}", response_class=HTMLResponse)
def type_page(
    request: Request, session: SessionDep, principal: Admin, code: Code, gedaan: str = ""
) -> Response:
    try:
        row = ref.get_type(session, code)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    return _record_page(
        request,
        principal,
        kind="menukaart",
        key=code,
        values=_values(row, TYPE_FORM),
        done=gedaan[:20],
        heading=row.name,
    )


@router.post("/beheer/menukaart/{code}", response_class=HTMLResponse)
async def update_type(
    request: Request, session: SessionDep, principal: AdminForm, code: Code
) -> Response:
    data = {**_form_data(await request.form()), "code": code}  # the code names the row
    try:
        ref.get_type(session, code)
        record = HousingTypeRecord.parse_form(data)
        ref.save_type(session, actor_of(principal), record, new=False)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    except RecordInvalid as exc:
        return _record_page(
            request,
            principal,
            kind="menukaart",
            key=code,
            errors=exc.by_field(),
            values=data,
            status_code=422,
        )
    return back(f"/beheer/menukaart/{code}", gedaan="opgeslagen")


@router.get("/beheer/beleid", response_class=HTMLResponse)
def policies_page(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _reference_page(request, principal, kind="beleid", rows=ref.list_policies(session))


@router.post("/beheer/beleid", response_class=HTMLResponse)
async def create_policy(request: Request, session: SessionDep, principal: AdminForm) -> Response:
    data = _form_data(await request.form())
    try:
        record = PolicyRecord.parse_form(data)
        ref.save_policy(session, actor_of(principal), record)
    except RecordInvalid as exc:
        return _reference_page(
            request,
            principal,
            kind="beleid",
            rows=ref.list_policies(session),
            errors=exc.by_field(),
            values=data,
            status_code=422,
        )
    return back(f"/beheer/beleid/{record.valid_from.isoformat()}", gedaan="aangemaakt")


@router.get("/beheer/beleid/{valid_from}", response_class=HTMLResponse)
def policy_page(
    request: Request, session: SessionDep, principal: Admin, valid_from: date, gedaan: str = ""
) -> Response:
    try:
        row = ref.get_policy(session, valid_from)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    return _record_page(
        request,
        principal,
        kind="beleid",
        key=valid_from.isoformat(),
        values=_values(row, POLICY_FORM),
        done=gedaan[:20],
        heading=nl_date(valid_from),
    )


@router.post("/beheer/beleid/{valid_from}", response_class=HTMLResponse)
async def update_policy(
    request: Request, session: SessionDep, principal: AdminForm, valid_from: date
) -> Response:
    data = _form_data(await request.form())
    try:
        ref.get_policy(session, valid_from)
        record = PolicyRecord.parse_form(data)
        ref.save_policy(session, actor_of(principal), record, valid_from=valid_from)
    except NotFound as exc:
        return not_found(request, principal, str(exc))
    except RecordInvalid as exc:
        return _record_page(
            request,
            principal,
            kind="beleid",
            key=valid_from.isoformat(),
            errors=exc.by_field(),
            values=data,
            status_code=422,
        )
    except Forbidden as exc:  # pragma: no cover - the page gate admits admins only
        return not_found(request, principal, str(exc))
    return back(f"/beheer/beleid/{record.valid_from.isoformat()}", gedaan="opgeslagen")


# --------------------------------------------------------------------------- set a password


def _set_password_page(
    request: Request,
    token: str,
    user: m.User | None,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "set_password.html",
        {
            "title": "Wachtwoord instellen",
            "token": token,
            "user": user,
            "errors": errors or {},
            "min_length": users_svc.MIN_PASSWORD,
        },
        None,
        status_code=status_code if user is not None else 404,
    )


Token = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("/wachtwoord-instellen/{token}", response_class=HTMLResponse)
def set_password_page(request: Request, session: SessionDep, token: Token) -> Response:
    """The page a one-time link leads to (no sign-in: the link is the proof)."""
    return _set_password_page(request, token, users_svc.password_link_user(session, token))


@router.post("/wachtwoord-instellen/{token}", response_class=HTMLResponse)
async def set_password(request: Request, session: SessionDep, token: Token) -> Response:
    form = await request.form()
    password = str(form.get("password") or "")[:200]
    repeated = str(form.get("repeated") or "")[:200]
    user = users_svc.password_link_user(session, token)
    try:
        users_svc.use_password_link(session, token, password, repeated)
    except NotFound:
        return _set_password_page(request, token, None)
    except RecordInvalid as exc:
        return _set_password_page(request, token, user, errors=exc.by_field(), status_code=422)
    return back("/inloggen", gedaan="wachtwoord")
