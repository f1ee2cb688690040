"""Reading the audit log (it is append-only; there is no service that changes it).

Admin and the privacy officer (role ``privacy``, functionaris gegevensbescherming) read
everything. Gemeente staff read the entries made by their own organisation and every entry about
a youth of their gemeente, whoever made it: that answers "who looked at our young people's data".
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from api.services.rounds import Actor, Forbidden, audit
from api.services.scope import own_gemeente
from store import models as m
from store.csvio import SafeCsvWriter

READ_ROLES = ("admin", "gemeente", "privacy")
READ_ALL = ("admin", "privacy")
CSV_HEADER = ["id", "at", "user", "organisation", "action", "entity", "entity_id", "detail"]


def _scope(session: Session, actor: Actor) -> ColumnElement[bool]:
    if actor.role in READ_ALL:
        return true()
    if actor.role != "gemeente":
        raise Forbidden("alleen beheer, de gemeente en de privacyfunctionaris lezen het auditlog")
    gemeente = own_gemeente(session, actor)
    youths_here = select(m.Youth.code).where(m.Youth.gemeente_code == gemeente)
    return or_(
        m.AuditEntry.organisation_id == actor.organisation_id,
        and_(m.AuditEntry.entity == "youth", m.AuditEntry.entity_id.in_(youths_here)),
    )


def _query(
    session: Session,
    actor: Actor,
    action: str | None,
    entity: str | None,
    entity_id: str | None,
    since: datetime | None,
    until: datetime | None,
    user_email: str | None = None,
) -> Any:
    stmt = (
        select(m.AuditEntry, m.User.email, m.Organisation.code)
        .outerjoin(m.User, m.AuditEntry.user_id == m.User.id)
        .outerjoin(m.Organisation, m.AuditEntry.organisation_id == m.Organisation.id)
        .where(_scope(session, actor))
    )
    if user_email is not None:
        stmt = stmt.where(func.lower(m.User.email) == user_email.strip().lower())
    if action is not None:
        stmt = stmt.where(m.AuditEntry.action == action)
    if entity is not None:
        stmt = stmt.where(m.AuditEntry.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(m.AuditEntry.entity_id == entity_id)
    if since is not None:
        stmt = stmt.where(m.AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(m.AuditEntry.at < until)
    return stmt


def read_entries(
    session: Session,
    actor: Actor,
    *,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    user_email: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Any], int]:
    """Entries in scope, newest first, with the user's e-mail and organisation code."""
    stmt = _query(session, actor, action, entity, entity_id, since, until, user_email)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.execute(stmt.order_by(m.AuditEntry.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def export_entries(
    session: Session,
    actor: Actor,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    user_email: str | None = None,
) -> str:
    """The entries in scope as CSV (oldest first); the export itself is audited, with its
    filters."""
    stmt = _query(session, actor, action, entity, entity_id, since, until, user_email).order_by(
        m.AuditEntry.id
    )
    out = io.StringIO(newline="")
    writer = SafeCsvWriter(out)  # cells guarded against spreadsheet formulas
    writer.writerow(CSV_HEADER)
    count = 0
    for entry, email, org in session.execute(stmt):
        writer.writerow(
            [
                entry.id,
                entry.at.isoformat(),
                email or "",
                org or "",
                entry.action,
                entry.entity,
                entry.entity_id or "",
                json.dumps(entry.detail, ensure_ascii=False, sort_keys=True)
                if entry.detail
                else "",
            ]
        )
        count += 1
    filters = {
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "user": user_email,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
    detail: dict[str, Any] = {"rows": count}
    if any(filters.values()):
        detail["filters"] = {k: v for k, v in filters.items() if v}
    audit(session, actor, "audit.export", "audit", None, detail)
    return out.getvalue()


def filter_values(session: Session, actor: Actor) -> tuple[list[str], list[str]]:
    """The actions and entities that occur in the entries in scope (for the filter lists)."""
    scope = _scope(session, actor)
    actions = session.scalars(
        select(m.AuditEntry.action).where(scope).distinct().order_by(m.AuditEntry.action)
    ).all()
    entities = session.scalars(
        select(m.AuditEntry.entity).where(scope).distinct().order_by(m.AuditEntry.entity)
    ).all()
    return list(actions), list(entities)
