"""Users and organisations (``/api/v1/users``, ``/api/v1/organisations``).

Admin manages users (create, role change, deactivate, password); every signed-in user may list
the organisations (reference data), only admin creates them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, actor, utc
from api.services import users as svc
from store import models as m

router = APIRouter(tags=["users"])
T = TypeVar("T")


Role = Literal["admin", "gemeente", "corporatie", "regisseur", "planner", "privacy"]
OrgKind = Literal["gemeente", "corporatie", "zorgaanbieder", "regio"]


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    organisation: str
    active: bool
    created_at: datetime | None


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    role: Role
    organisation: str = Field(min_length=1, max_length=40, description="Organisation code")
    password: str = Field(min_length=svc.MIN_PASSWORD, max_length=200)


class UserUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    organisation: str | None = Field(default=None, min_length=1, max_length=40)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=svc.MIN_PASSWORD, max_length=200)


class PasswordLinkOut(BaseModel):
    path: str = Field(description="One-time path to set a password (shown once)")
    expires_in_hours: int


class OrganisationOut(BaseModel):
    code: str
    name: str
    kind: str
    gemeente_code: str | None
    active: bool


class OrganisationUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None


class OrganisationCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind
    gemeente_code: str | None = Field(default=None, pattern=r"^GM\d{4}$")


def _user_out(user: m.User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        organisation=user.organisation.code,
        active=user.active,
        created_at=utc(user.created_at),
    )


def _org_out(org: m.Organisation) -> OrganisationOut:
    return OrganisationOut(
        code=org.code,
        name=org.name,
        kind=org.kind,
        gemeente_code=org.gemeente_code,
        active=org.active,
    )


UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/users", response_model=list[UserOut], responses=ERRORS)
def list_users(principal: Caller, session: SessionDep) -> list[UserOut]:
    return [_user_out(u) for u in svc.list_users(session, actor(principal))]


@router.post("/users", response_model=UserOut, status_code=201, responses=ERRORS)
def create_user(body: UserCreate, principal: Caller, session: SessionDep) -> UserOut:
    """Create a user with a password (argon2-hashed; at least 12 characters)."""
    user = svc.create_user(session, actor(principal), **body.model_dump())
    return _user_out(user)


@router.get("/users/{user_id}", response_model=UserOut, responses=ERRORS)
def get_user(user_id: UserId, principal: Caller, session: SessionDep) -> UserOut:
    return _user_out(svc.get_user(session, actor(principal), user_id))


@router.patch("/users/{user_id}", response_model=UserOut, responses=ERRORS)
def update_user(
    user_id: UserId, body: UserUpdate, principal: Caller, session: SessionDep
) -> UserOut:
    """Change name, role, active or password; role changes and deactivation sign the user out."""
    user = svc.update_user(
        session, actor(principal), user_id, **body.model_dump(exclude_unset=True)
    )
    return _user_out(user)


@router.post(
    "/users/{user_id}/password-link",
    response_model=PasswordLinkOut,
    status_code=201,
    responses=ERRORS,
)
def password_link(user_id: UserId, principal: Caller, session: SessionDep) -> PasswordLinkOut:
    """A one-time link for the user to set a password (earlier unused links stop working)."""
    token = svc.create_password_link(session, actor(principal), user_id)
    return PasswordLinkOut(
        path=f"/wachtwoord-instellen/{token}", expires_in_hours=svc.RESET_LINK_HOURS
    )


@router.get("/organisations", response_model=list[OrganisationOut], responses=ERRORS)
def list_organisations(principal: Caller, session: SessionDep) -> list[OrganisationOut]:
    return [_org_out(o) for o in svc.list_organisations(session)]


@router.post("/organisations", response_model=OrganisationOut, status_code=201, responses=ERRORS)
def create_organisation(
    body: OrganisationCreate, principal: Caller, session: SessionDep
) -> OrganisationOut:
    return _org_out(svc.create_organisation(session, actor(principal), **body.model_dump()))


OrgCode = Annotated[str, Path(min_length=1, max_length=40)]


@router.patch("/organisations/{code}", response_model=OrganisationOut, responses=ERRORS)
def update_organisation(
    code: OrgCode, body: OrganisationUpdate, principal: Caller, session: SessionDep
) -> OrganisationOut:
    """Rename or (de)activate; deactivating also deactivates the organisation's users."""
    org = svc.update_organisation(
        session,
        actor(principal),
        code,
        **body.model_dump(exclude_unset=True),
    )
    return _org_out(org)
