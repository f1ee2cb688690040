"""Reading youths: scoped lists, audited detail reads, aggregates for planners.

Every read of one youth's details writes an audit entry (who, when, organisation, which youth and
which view), in the same transaction as the read; a list read writes one entry with the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from api.services.rounds import Actor, Forbidden, NotFound, audit
from api.services.scope import own_gemeente, youth_filter
from store import models as m

AGE_BANDS = ("16-17", "18-20", "21-22", "23-27")


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_band(birth: date, on: date) -> str:
    """The pseudonymised age: one of :data:`AGE_BANDS` (younger than 16 counts as 16-17)."""
    age = age_on(birth, on)
    if age < 18:
        return "16-17"
    if age <= 20:
        return "18-20"
    if age <= 22:
        return "21-22"
    return "23-27"


def view_for(actor: Actor) -> str:
    """Which response schema this actor's reads of a youth use."""
    return "regisseur" if actor.role == "regisseur" else "gemeente"


def list_youths(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[m.Youth], int]:
    """The youths ``actor`` may see (by code) and how many there are in all."""
    where = [youth_filter(session, actor)]
    if status is not None:
        where.append(m.Youth.status == status)
    total = int(session.scalar(select(func.count()).select_from(m.Youth).where(*where)) or 0)
    rows = list(
        session.scalars(
            select(m.Youth).where(*where).order_by(m.Youth.code).limit(limit).offset(offset)
        )
    )
    audit(
        session,
        actor,
        "youth.list",
        "youth",
        None,
        {"count": len(rows), "total": total, "status": status, "offset": offset},
    )
    return rows, total


def read_youth(session: Session, actor: Actor, code: str) -> m.Youth:
    """One youth's details, audited. Out of scope looks the same as unknown (404)."""
    stmt = (
        select(m.Youth)
        .where(m.Youth.code == code, youth_filter(session, actor))
        .options(
            selectinload(m.Youth.accepted_types).selectinload(m.YouthAcceptedType.type),
            selectinload(m.Youth.preferred_areas),
            selectinload(m.Youth.anchors),
            selectinload(m.Youth.no_go_areas),
            selectinload(m.Youth.relations).selectinload(m.YouthRelation.other),
        )
    )
    youth = session.scalars(stmt).first()
    if youth is None:
        raise NotFound(f"jongere {code} bestaat niet of valt buiten je caseload")
    audit(session, actor, "youth.read", "youth", youth.code, {"view": view_for(actor)})
    return youth


@dataclass(frozen=True)
class YouthCount:
    gemeente_code: str
    status: str
    age_band: str
    count: int


def aggregates(session: Session, actor: Actor, today: date) -> list[YouthCount]:
    """Youth counts per gemeente × status × age band; a gemeente sees its own gemeente."""
    if actor.role not in ("admin", "planner", "gemeente"):
        raise Forbidden("deze rol mag geen overzichten van jongeren inzien")
    stmt = select(m.Youth.gemeente_code, m.Youth.status, m.Youth.birth_date)
    if actor.role == "gemeente":
        stmt = stmt.where(m.Youth.gemeente_code == own_gemeente(session, actor))
    counts: dict[tuple[str, str, str], int] = {}
    for gemeente, status, birth in session.execute(stmt):
        key = (gemeente, status, age_band(birth, today))
        counts[key] = counts.get(key, 0) + 1
    return [YouthCount(g, s, b, n) for (g, s, b), n in sorted(counts.items())]
