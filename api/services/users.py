"""User and organisation management (admin): create, change role, deactivate, set password.

Passwords are hashed with argon2; deactivating a user or changing their role revokes their
sign-ins. An admin cannot lock themselves out (no self-deactivation or self-demotion).
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.security import hash_password
from api.services.rounds import Actor, Forbidden, NotFound, WorkflowError, audit
from store import models as m

# A user of these roles must belong to an organisation of that kind (as in the users import).
ROLE_ORG_KIND = {"gemeente": "gemeente", "corporatie": "corporatie"}
MIN_PASSWORD = 12


def _admin_only(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden("alleen beheer beheert gebruikers en organisaties")


def list_users(session: Session, actor: Actor) -> list[m.User]:
    _admin_only(actor)
    return list(session.scalars(select(m.User).order_by(m.User.email)))


def get_user(session: Session, actor: Actor, user_id: int) -> m.User:
    _admin_only(actor)
    user = session.get(m.User, user_id)
    if user is None:
        raise NotFound(f"gebruiker {user_id} bestaat niet")
    return user


def _organisation(session: Session, code: str) -> m.Organisation:
    org = session.scalars(select(m.Organisation).where(m.Organisation.code == code)).first()
    if org is None:
        raise NotFound(f"organisatie {code} bestaat niet")
    return org


def _check_role(role: str, org: m.Organisation) -> None:
    kind = ROLE_ORG_KIND.get(role)
    if kind is not None and org.kind != kind:
        raise WorkflowError(
            f"rol {role} hoort bij een organisatie van soort {kind}, niet {org.kind}"
        )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise WorkflowError(f"een wachtwoord heeft minstens {MIN_PASSWORD} tekens")


def _revoke_sign_ins(session: Session, user_id: int) -> None:
    session.execute(update(m.AuthToken).where(m.AuthToken.user_id == user_id).values(revoked=True))


def create_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    name: str,
    role: str,
    organisation: str,
    password: str,
) -> m.User:
    _admin_only(actor)
    email = email.strip().lower()
    if session.scalar(
        select(func.count()).select_from(m.User).where(func.lower(m.User.email) == email)
    ):
        raise WorkflowError(f"er is al een gebruiker met e-mailadres {email}")
    org = _organisation(session, organisation)
    _check_role(role, org)
    _check_password(password)
    user = m.User(
        email=email,
        name=name,
        role=role,
        organisation_id=org.id,
        password_hash=hash_password(password),
        active=True,
    )
    session.add(user)
    session.flush()
    audit(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        {"email": email, "role": role, "organisation": org.code},
    )
    return user


def update_user(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    name: str | None = None,
    role: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> m.User:
    """Change a user; role changes and deactivation end the user's sign-ins."""
    user = get_user(session, actor, user_id)
    changes: dict[str, object] = {}
    if user.id == actor.user_id and (active is False or (role is not None and role != "admin")):
        raise WorkflowError("je kunt jezelf niet deactiveren of je beheerrol afnemen")
    if name is not None and name != user.name:
        changes["name"] = {"from": user.name, "to": name}
        user.name = name
    if role is not None and role != user.role:
        _check_role(role, user.organisation)
        changes["role"] = {"from": user.role, "to": role}
        user.role = role
    if active is not None and active != user.active:
        changes["active"] = {"from": user.active, "to": active}
        user.active = active
    if password is not None:
        _check_password(password)
        user.password_hash = hash_password(password)
        changes["password"] = "gewijzigd"
    if (
        "role" in changes
        or changes.get("active", {}) == {"from": True, "to": False}
        or "password" in changes
    ):
        _revoke_sign_ins(session, user.id)
    if changes:
        audit(session, actor, "user.update", "user", user.id, changes)
    return user


def list_organisations(session: Session) -> list[m.Organisation]:
    """Organisations are reference data: every signed-in user may list them."""
    return list(session.scalars(select(m.Organisation).order_by(m.Organisation.code)))


def create_organisation(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: str,
    gemeente_code: str | None,
) -> m.Organisation:
    _admin_only(actor)
    if session.scalars(select(m.Organisation).where(m.Organisation.code == code)).first():
        raise WorkflowError(f"organisatie {code} bestaat al")
    if (kind == "gemeente") != (gemeente_code is not None):
        raise WorkflowError("een gemeente heeft een gemeentecode, een andere organisatie geen")
    if (
        gemeente_code is not None
        and session.scalars(
            select(m.Area).where(m.Area.code == gemeente_code, m.Area.level == "gemeente")
        ).first()
        is None
    ):
        raise WorkflowError(f"gemeentecode {gemeente_code} is onbekend")
    org = m.Organisation(code=code, name=name, kind=kind, gemeente_code=gemeente_code)
    session.add(org)
    session.flush()
    audit(session, actor, "organisation.create", "organisation", org.code, {"kind": kind})
    return org
