"""Aggregate overviews for the landing, planner and admin pages (no personal data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import models as m


@dataclass(frozen=True)
class Counts:
    gemeenten: int
    wijken: int
    buurten: int
    organisations: int
    users: int
    housing_types: int
    options: int
    places: int
    youths_waiting: int
    contingents: int

    @property
    def empty(self) -> bool:
        return self.gemeenten == 0 and self.options == 0 and self.youths_waiting == 0


def counts(session: Session) -> Counts:
    def n(stmt: object) -> int:
        return int(session.scalar(stmt) or 0)  # type: ignore[call-overload]

    def areas(level: str) -> int:
        return n(select(func.count()).select_from(m.Area).where(m.Area.level == level))

    return Counts(
        gemeenten=areas("gemeente"),
        wijken=areas("wijk"),
        buurten=areas("buurt"),
        organisations=n(select(func.count()).select_from(m.Organisation)),
        users=n(select(func.count()).select_from(m.User)),
        housing_types=n(select(func.count()).select_from(m.HousingType)),
        options=n(
            select(func.count())
            .select_from(m.HousingOption)
            .where(m.HousingOption.status == "available")
        ),
        places=n(
            select(func.coalesce(func.sum(m.HousingOption.capacity), 0)).where(
                m.HousingOption.status == "available"
            )
        ),
        youths_waiting=n(
            select(func.count()).select_from(m.Youth).where(m.Youth.status == "waiting")
        ),
        contingents=n(select(func.count()).select_from(m.Contingent)),
    )


@dataclass
class GemeenteSupply:
    code: str
    name: str
    places_by_type: dict[str, int] = field(default_factory=dict)
    waiting: int = 0
    contingent_amount: int = 0
    contingent_used: int = 0

    @property
    def contingent_left(self) -> int:
        return max(0, self.contingent_amount - self.contingent_used)

    @property
    def places(self) -> int:
        return sum(self.places_by_type.values())


def supply_by_gemeente(session: Session, year: int) -> tuple[list[str], list[GemeenteSupply]]:
    """Places per housing type, waiting youths and contingent per gemeente (aggregates only)."""
    rows = {
        code: GemeenteSupply(code, name)
        for code, name in session.execute(
            select(m.Area.code, m.Area.name).where(m.Area.level == "gemeente").order_by(m.Area.name)
        )
    }
    type_names = list(session.scalars(select(m.HousingType.name).order_by(m.HousingType.code)))
    places = session.execute(
        select(
            m.HousingOption.gemeente_code, m.HousingType.name, func.sum(m.HousingOption.capacity)
        )
        .join(m.HousingType, m.HousingOption.type_id == m.HousingType.id)
        .where(m.HousingOption.status == "available")
        .group_by(m.HousingOption.gemeente_code, m.HousingType.name)
    )
    for code, type_name, total in places:
        if code in rows:
            rows[code].places_by_type[type_name] = int(total or 0)
    waiting = session.execute(
        select(m.Youth.gemeente_code, func.count())
        .where(m.Youth.status == "waiting")
        .group_by(m.Youth.gemeente_code)
    )
    for code, total in waiting:
        if code in rows:
            rows[code].waiting = int(total)
    contingents = session.execute(
        select(
            m.Contingent.gemeente_code, func.sum(m.Contingent.amount), func.sum(m.Contingent.used)
        )
        .where(m.Contingent.year == year)
        .group_by(m.Contingent.gemeente_code)
    )
    for code, amount, used in contingents:
        if code in rows:
            rows[code].contingent_amount = int(amount or 0)
            rows[code].contingent_used = int(used or 0)
    return type_names, list(rows.values())


def policies(session: Session) -> list[m.PolicyRow]:
    return list(session.scalars(select(m.PolicyRow).order_by(m.PolicyRow.valid_from)))


def housing_types(session: Session) -> list[m.HousingType]:
    return list(
        session.scalars(select(m.HousingType).order_by(m.HousingType.min_age, m.HousingType.code))
    )


def rounds(session: Session) -> list[m.AllocationRound]:
    return list(session.scalars(select(m.AllocationRound).order_by(m.AllocationRound.month.desc())))


def current_year(today: date | None = None) -> int:
    return (today or date.today()).year
