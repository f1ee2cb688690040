"""User and organisation management (admin): create, edit, deactivate, set password, and the
one-time links that let a user set their own password.

Passwords are hashed with argon2; deactivating a user or changing their role revokes their
sign-ins, and deactivating an organisation deactivates its users. An admin cannot lock
themselves out (no self-deactivation or self-demotion). A password link's token is shown once;
only its SHA-256 hash is stored, it expires after ``RESET_LINK_HOURS`` and works once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.security import hash_password
from api.services.rounds import Actor, Forbidden, NotFound, WorkflowError, audit
from matcher.records import OrganisationRecord, RecordInvalid, UserRecord
from store import models as m

# A user of these roles must belong to an organisation of that kind (as in the users import).
ROLE_ORG_KIND = {"gemeente": "gemeente", "corporatie": "corporatie"}
MIN_PASSWORD = 12
MIN_DISTINCT = 5
RESET_LINK_HOURS = 24
# Well-known passwords of 12+ characters (the distinct-character rule catches "aaaaaaaaaaaa").
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "qwertyuiopas",
        "qwerty123456",
        "passwordpassword",
        "password1234",
        "wachtwoord12",
        "wachtwoord123",
        "welkom123456",
        "administrator",
    }
)


def password_problem(password: str, email: str = "") -> str | None:
    """Why ``password`` is too weak (Dutch), or None: at least 12 characters, at least 5
    different ones, not built on the e-mail name or a well-known password."""
    if not password.strip():
        return "het wachtwoord is leeg"
    if len(password) < MIN_PASSWORD:
        return f"een wachtwoord heeft minstens {MIN_PASSWORD} tekens"
    if len(set(password)) < MIN_DISTINCT:
        return f"een wachtwoord heeft minstens {MIN_DISTINCT} verschillende tekens"
    lowered = password.lower()
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        return "een wachtwoord mag niet op het e-mailadres lijken"
    if lowered in COMMON_PASSWORDS:
        return "dit wachtwoord is te bekend; kies een ander"
    return None


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


def _check_password(password: str, email: str = "") -> None:
    problem = password_problem(password, email)
    if problem is not None:
        raise RecordInvalid("user", [("password", f"wachtwoord: {problem}")])


def _revoke_sign_ins(session: Session, user_id: int) -> None:
    session.execute(update(m.AuthToken).where(m.AuthToken.user_id == user_id).values(revoked=True))


class FieldConflict(WorkflowError):
    """A field that is well-formed but clashes with what is stored (an e-mail address in use,
    a role for another kind of organisation): HTTP 409, shown beside ``field`` on a form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _refuse(record: type[UserRecord] | type[OrganisationRecord], field: str, why: str) -> NoReturn:
    raise FieldConflict(field, f"{record.LABELS[field]}: {why}")


def _organisation_for_user(session: Session, code: str, role: str) -> m.Organisation:
    org = session.scalars(select(m.Organisation).where(m.Organisation.code == code)).first()
    if org is None:
        _refuse(UserRecord, "organisation", f"organisatie {code} bestaat niet")
    if not org.active:
        _refuse(UserRecord, "organisation", f"organisatie {code} is gedeactiveerd")
    kind = ROLE_ORG_KIND.get(role)
    if kind is not None and org.kind != kind:
        _refuse(
            UserRecord,
            "role",
            f"rol {role} hoort bij een organisatie van soort {kind}, niet {org.kind}",
        )
    return org


def create_user(
    session: Session,
    actor: Actor,
    *,
    email: str,
    name: str,
    role: str,
    organisation: str,
    password: str | None = None,
) -> m.User:
    """Create a user; without ``password`` the user sets one through a one-time link
    (:func:`create_password_link`). Raises RecordInvalid naming the field."""
    _admin_only(actor)
    record = UserRecord.parse(
        {"email": email, "name": name, "role": role, "organisation": organisation}
    )
    if session.scalar(
        select(func.count()).select_from(m.User).where(func.lower(m.User.email) == record.email)
    ):
        _refuse(UserRecord, "email", f"er is al een gebruiker met e-mailadres {record.email}")
    org = _organisation_for_user(session, record.organisation, record.role)
    if password is not None:
        _check_password(password, record.email)
    user = m.User(
        email=record.email,
        name=record.name,
        role=record.role,
        organisation_id=org.id,
        password_hash=hash_password(password) if password is not None else None,
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
        {"email": record.email, "role": record.role, "organisation": org.code},
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
    organisation: str | None = None,
) -> m.User:
    """Change a user; role or organisation changes, a new password and deactivation end the
    user's sign-ins. Raises RecordInvalid naming the field."""
    user = get_user(session, actor, user_id)
    record = UserRecord.parse(
        {
            "email": user.email,
            "name": name if name is not None else user.name,
            "role": role if role is not None else user.role,
            "organisation": organisation if organisation is not None else user.organisation.code,
            "active": active if active is not None else user.active,
        }
    )
    changes: dict[str, object] = {}
    if user.id == actor.user_id and (not record.active or record.role != "admin"):
        raise WorkflowError("je kunt jezelf niet deactiveren of je beheerrol afnemen")
    org = user.organisation
    if record.organisation != org.code or record.role != user.role:
        org = _organisation_for_user(session, record.organisation, record.role)
    if password is not None:
        _check_password(password, user.email)
    if record.name != user.name:
        changes["name"] = {"from": user.name, "to": record.name}
        user.name = record.name
    if record.role != user.role:
        changes["role"] = {"from": user.role, "to": record.role}
        user.role = record.role
    if org.id != user.organisation_id:
        changes["organisation"] = {"from": user.organisation.code, "to": org.code}
        user.organisation_id = org.id
        user.organisation = org
    if record.active != user.active:
        changes["active"] = {"from": user.active, "to": record.active}
        user.active = record.active
    if password is not None:
        user.password_hash = hash_password(password)
        changes["password"] = "gewijzigd"
    if (
        "role" in changes
        or "organisation" in changes
        or changes.get("active", {}) == {"from": True, "to": False}
        or "password" in changes
    ):
        _revoke_sign_ins(session, user.id)
    if changes:
        audit(session, actor, "user.update", "user", user.id, changes)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_password_link(
    session: Session, actor: Actor, user_id: int, now: datetime | None = None
) -> str:
    """A one-time token for the user to set a password (shown to the admin once; only its
    hash is stored). Earlier unused links of the user stop working."""
    user = get_user(session, actor, user_id)
    if not user.active:
        raise WorkflowError("een gedeactiveerde gebruiker krijgt geen wachtwoordlink")
    now = now or datetime.now(UTC)
    session.execute(
        update(m.PasswordReset)
        .where(m.PasswordReset.user_id == user.id, m.PasswordReset.used_at.is_(None))
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        m.PasswordReset(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_by_id=actor.user_id,
            created_at=now,
            expires_at=now + timedelta(hours=RESET_LINK_HOURS),
        )
    )
    audit(session, actor, "user.password_link", "user", user.id, {"hours": RESET_LINK_HOURS})
    return token


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def password_link_user(session: Session, token: str, now: datetime | None = None) -> m.User | None:
    """The active user a valid (unused, unexpired) link is for, else None."""
    if not token or len(token) > 100:
        return None
    link = session.scalars(
        select(m.PasswordReset).where(m.PasswordReset.token_hash == _token_hash(token))
    ).first()
    now = now or datetime.now(UTC)
    if link is None or link.used_at is not None or _aware(link.expires_at) <= now:
        return None
    return link.user if link.user.active else None


def use_password_link(
    session: Session, token: str, password: str, repeated: str, now: datetime | None = None
) -> m.User:
    """Set the password through a one-time link (then spent) and end the user's sign-ins.
    NotFound for an unknown, used or expired link; RecordInvalid for a weak password."""
    now = now or datetime.now(UTC)
    user = password_link_user(session, token, now)
    if user is None:
        raise NotFound("deze link is onbekend, verlopen of al gebruikt; vraag beheer om een nieuwe")
    _check_password(password, user.email)
    if password != repeated:
        raise RecordInvalid(
            "user", [("repeated", "wachtwoord herhalen: de twee wachtwoorden verschillen")]
        )
    session.execute(
        update(m.PasswordReset)
        .where(m.PasswordReset.token_hash == _token_hash(token))
        .values(used_at=now)
    )
    user.password_hash = hash_password(password)
    _revoke_sign_ins(session, user.id)
    audit(
        session,
        Actor(user.id, user.organisation_id, user.role),
        "user.password_set",
        "user",
        user.id,
    )
    return user


def list_organisations(session: Session) -> list[m.Organisation]:
    """Organisations are reference data: every signed-in user may list them."""
    return list(session.scalars(select(m.Organisation).order_by(m.Organisation.code)))


def get_organisation(session: Session, actor: Actor, code: str) -> m.Organisation:
    _admin_only(actor)
    org = session.scalars(select(m.Organisation).where(m.Organisation.code == code)).first()
    if org is None:
        raise NotFound(f"organisatie {code} bestaat niet")
    return org


def _known_gemeente(session: Session, code: str | None) -> None:
    if code is not None and (
        session.scalars(
            select(m.Area).where(m.Area.code == code, m.Area.level == "gemeente")
        ).first()
        is None
    ):
        _refuse(OrganisationRecord, "gemeente_code", f"gemeentecode {code} is onbekend")


def create_organisation(
    session: Session,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: str,
    gemeente_code: str | None,
) -> m.Organisation:
    """Create an organisation; RecordInvalid names the field."""
    _admin_only(actor)
    record = OrganisationRecord.parse(
        {"code": code, "name": name, "kind": kind, "gemeente_code": gemeente_code}
    )
    if session.scalars(select(m.Organisation).where(m.Organisation.code == record.code)).first():
        _refuse(OrganisationRecord, "code", f"organisatie {record.code} bestaat al")
    _known_gemeente(session, record.gemeente_code)
    org = m.Organisation(
        code=record.code,
        name=record.name,
        kind=record.kind,
        gemeente_code=record.gemeente_code,
        active=True,
    )
    session.add(org)
    session.flush()
    audit(session, actor, "organisation.create", "organisation", org.code, {"kind": record.kind})
    return org


def update_organisation(
    session: Session,
    actor: Actor,
    code: str,
    *,
    name: str | None = None,
    active: bool | None = None,
) -> m.Organisation:
    """Rename, deactivate or reactivate an organisation. Deactivating it deactivates its users
    and ends their sign-ins (reactivating it leaves them deactivated: reactivate each user)."""
    org = get_organisation(session, actor, code)
    record = OrganisationRecord.parse(
        {
            "code": org.code,
            "name": name if name is not None else org.name,
            "kind": org.kind,
            "gemeente_code": org.gemeente_code,
            "active": active if active is not None else org.active,
        }
    )
    changes: dict[str, object] = {}
    if record.name != org.name:
        changes["name"] = {"from": org.name, "to": record.name}
        org.name = record.name
    if record.active != org.active:
        if not record.active and actor.organisation_id == org.id:
            raise WorkflowError("je kunt je eigen organisatie niet deactiveren")
        changes["active"] = {"from": org.active, "to": record.active}
        org.active = record.active
        if not record.active:
            users = list(
                session.scalars(
                    select(m.User).where(m.User.organisation_id == org.id, m.User.active)
                )
            )
            for user in users:
                user.active = False
                _revoke_sign_ins(session, user.id)
            changes["users_deactivated"] = sorted(u.email for u in users)
    if changes:
        audit(session, actor, "organisation.update", "organisation", org.code, changes)
    return org
