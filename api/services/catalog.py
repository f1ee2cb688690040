"""Options and contingents, read within the caller's scope (see :mod:`api.services.scope`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from api.services.rounds import Actor, NotFound
from api.services.scope import contingent_filter, option_filter
from store import models as m


def list_options(
    session: Session,
    actor: Actor,
    *,
    gemeente_code: str | None = None,
    type_code: str | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[m.HousingOption], int]:
    """Options in scope, by code, with the total count for paging."""
    where = [option_filter(session, actor)]
    if gemeente_code is not None:
        where.append(m.HousingOption.gemeente_code == gemeente_code)
    if status is not None:
        where.append(m.HousingOption.status == status)
    if type_code is not None:
        where.append(m.HousingOption.type.has(m.HousingType.code == type_code))
    total = int(
        session.scalar(select(func.count()).select_from(m.HousingOption).where(*where)) or 0
    )
    rows = session.scalars(
        select(m.HousingOption)
        .where(*where)
        .order_by(m.HousingOption.code)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def get_option(session: Session, actor: Actor, code: str) -> m.HousingOption:
    option = session.scalars(
        select(m.HousingOption).where(m.HousingOption.code == code, option_filter(session, actor))
    ).first()
    if option is None:
        raise NotFound(f"woning {code} bestaat niet of valt buiten je organisatie")
    return option


def list_contingents(
    session: Session, actor: Actor, *, year: int | None = None
) -> list[tuple[m.Contingent, str, str | None]]:
    """Contingents in scope with corporation code and type code, by key."""
    kind = aliased(m.HousingType)
    stmt = (
        select(m.Contingent, m.Organisation.code, kind.code)
        .join(m.Organisation, m.Contingent.corporation_id == m.Organisation.id)
        .outerjoin(kind, m.Contingent.type_id == kind.id)
        .where(contingent_filter(session, actor))
        .order_by(m.Organisation.code, m.Contingent.gemeente_code, m.Contingent.year, kind.code)
    )
    if year is not None:
        stmt = stmt.where(m.Contingent.year == year)
    return [(c, corp, t) for c, corp, t in session.execute(stmt)]
