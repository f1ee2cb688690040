"""Read side of the store: database rows into matcher domain objects, and simple lookups.

Repositories read (and the importers write); neither commits. Every list comes out in a
deterministic order (by code), so the same database gives the same ``Round``, and the same
round gives the same solver run for a seed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from matcher.problem import (
    Anchor,
    AreaLevel,
    Contingent,
    HousingType,
    Option,
    Policy,
    Round,
    Youth,
)
from store import models as m
from store.geometry import from_wkb

__all__ = [
    "area_geometries",
    "count_by_kind",
    "load_contingents",
    "load_options",
    "load_round",
    "load_types",
    "load_youths",
    "policies",
    "policy_at",
]


def _policy(row: m.PolicyRow) -> Policy:
    return Policy(
        valid_from=row.valid_from,
        kwaliteitskortingsgrens=row.kwaliteitskortingsgrens,
        aftoppingsgrens_1_2=row.aftoppingsgrens_1_2,
        aftoppingsgrens_3plus=row.aftoppingsgrens_3plus,
        maximale_huurgrens=row.maximale_huurgrens,
        young_tenant_min_age=row.young_tenant_min_age,
        young_tenant_max_age=row.young_tenant_max_age,
        servicekosten_in_rekenhuur=row.servicekosten_in_rekenhuur,
        basishuur=row.basishuur,
        share_above_kwaliteitskorting=row.share_above_kwaliteitskorting,
        max_rent_share_of_income=row.max_rent_share_of_income,
        verified=row.verified,
    )


def policies(session: Session) -> list[Policy]:
    """All policy rows, oldest first."""
    return [
        _policy(row)
        for row in session.scalars(select(m.PolicyRow).order_by(m.PolicyRow.valid_from))
    ]


def policy_at(session: Session, day: date) -> Policy:
    """The policy in force on ``day``: the latest ``valid_from`` not after it."""
    row = session.scalars(
        select(m.PolicyRow)
        .where(m.PolicyRow.valid_from <= day)
        .order_by(m.PolicyRow.valid_from.desc())
        .limit(1)
    ).first()
    if row is None:
        raise LookupError(f"geen huurtoeslagbeleid bekend op {day.isoformat()}")
    return _policy(row)


def load_types(session: Session) -> tuple[HousingType, ...]:
    """The whole menukaart, by code."""
    return tuple(
        HousingType(
            code=t.code,
            name=t.name,
            min_age=t.min_age,
            max_age=t.max_age,
            zelfstandig=t.zelfstandig,
            provider_contract=t.provider_contract,
            persons_min=t.persons_min,
            persons_max=t.persons_max,
            support_min=t.support_min,
            support_max=t.support_max,
            stay_min_months=t.stay_min_months,
            stay_max_months=t.stay_max_months,
            uses_contingent=t.uses_contingent,
            max_age_gap=t.max_age_gap,
            description=t.description or "",
        )
        for t in session.scalars(select(m.HousingType).order_by(m.HousingType.code))
    )


def load_options(session: Session, status: str | None = "available") -> tuple[Option, ...]:
    """Options with ``status`` (None: all), by code."""
    o = m.HousingOption
    # Plain columns, not ORM entities: several times faster for tens of thousands of rows.
    stmt = (
        select(
            o.code,
            m.HousingType.code.label("type_code"),
            m.Organisation.code.label("corporation"),
            o.gemeente_code,
            o.wijk_code,
            o.buurt_code,
            o.x,
            o.y,
            o.kale_huur,
            o.servicekosten,
            o.capacity,
            o.shared_house_id,
            o.available_from,
        )
        .join(m.HousingType, o.type_id == m.HousingType.id)
        .outerjoin(m.Organisation, o.corporation_id == m.Organisation.id)
        .order_by(o.code)
    )
    if status is not None:
        stmt = stmt.where(o.status == status)
    return tuple(Option(**row._mapping) for row in session.execute(stmt))


def load_youths(session: Session, status: str | None = "waiting") -> tuple[Youth, ...]:
    """Youths with ``status`` (None: all), by code, with all their lists.

    Companions and conflicts are limited to youths in the same selection: the matcher can only
    act on people in its round.
    """
    y = m.Youth
    stmt = (
        select(
            y.id,
            y.code,
            y.birth_date,
            y.gemeente_code,
            y.income,
            y.support_need,
            y.urgency,
            y.care_end_date,
            y.waiting_since,
            m.User.email,
            y.max_rent,
            y.household_size,
            y.max_distance_m,
        )
        .outerjoin(m.User, y.regisseur_id == m.User.id)
        .order_by(y.code)
    )
    if status is not None:
        stmt = stmt.where(y.status == status)
    rows = session.execute(stmt).all()
    codes = {row.id: row.code for row in rows}

    accepted: dict[int, list[str]] = defaultdict(list)
    for yid, code in session.execute(
        select(m.YouthAcceptedType.youth_id, m.HousingType.code)
        .join(m.HousingType, m.YouthAcceptedType.type_id == m.HousingType.id)
        .order_by(m.YouthAcceptedType.youth_id, m.YouthAcceptedType.rank)
    ):
        accepted[yid].append(code)
    preferred: dict[int, list[str]] = defaultdict(list)
    for yid, code in session.execute(
        select(m.YouthPreferredArea.youth_id, m.YouthPreferredArea.area_code).order_by(
            m.YouthPreferredArea.youth_id, m.YouthPreferredArea.rank
        )
    ):
        preferred[yid].append(code)
    anchors: dict[int, list[Anchor]] = defaultdict(list)
    a = m.YouthAnchor
    for yid, label, x, y_ in session.execute(
        select(a.youth_id, a.label, a.x, a.y).order_by(a.youth_id, a.id)
    ):
        anchors[yid].append(Anchor(label, x, y_))
    no_go_codes: dict[int, list[str]] = defaultdict(list)
    no_go_polygons: dict[int, list[BaseGeometry]] = defaultdict(list)
    n = m.YouthNoGoArea
    for yid, area_code, geometry in session.execute(
        select(n.youth_id, n.area_code, n.geometry).order_by(n.youth_id, n.id)
    ):
        if area_code is not None:
            no_go_codes[yid].append(area_code)
        elif geometry is not None:
            no_go_polygons[yid].append(from_wkb(geometry))
    relations: dict[tuple[int, str], list[str]] = defaultdict(list)
    r = m.YouthRelation
    for yid, other, kind in session.execute(select(r.youth_id, r.other_youth_id, r.kind)):
        if yid in codes and other in codes:
            relations[(yid, kind)].append(codes[other])

    return tuple(
        Youth(
            code=row.code,
            birth_date=row.birth_date,
            gemeente_code=row.gemeente_code,
            income=row.income,
            support_need=row.support_need,
            accepted_types=tuple(accepted[row.id]),
            preferred_areas=tuple(preferred[row.id]),
            anchors=tuple(anchors[row.id]),
            no_go_codes=tuple(no_go_codes[row.id]),
            no_go_polygons=tuple(no_go_polygons[row.id]),
            urgency=row.urgency,
            care_end_date=row.care_end_date,
            waiting_since=row.waiting_since,
            companions=tuple(sorted(relations[(row.id, "companion")])),
            conflicts=tuple(sorted(relations[(row.id, "conflict")])),
            regisseur=row.email,
            max_rent=row.max_rent,
            household_size=row.household_size,
            max_distance_m=row.max_distance_m,
        )
        for row in rows
    )


def load_contingents(session: Session, year: int) -> tuple[Contingent, ...]:
    """Contingents of ``year``, by corporation, gemeente and type."""
    type_alias = aliased(m.HousingType)
    stmt = (
        select(m.Contingent, m.Organisation.code, type_alias.code)
        .join(m.Organisation, m.Contingent.corporation_id == m.Organisation.id)
        .outerjoin(type_alias, m.Contingent.type_id == type_alias.id)
        .where(m.Contingent.year == year)
    )
    items = [
        Contingent(
            corporation=corp,
            gemeente_code=c.gemeente_code,
            year=c.year,
            amount=c.amount,
            type_code=type_code,
            used=c.used,
        )
        for c, corp, type_code in session.execute(stmt)
    ]
    return tuple(sorted(items, key=lambda c: (c.corporation, c.gemeente_code, c.type_code or "")))


def load_round(
    session: Session,
    month: date,
    seed: int = 0,
    fixed_pairs: Iterable[tuple[str, str]] = (),
    forbidden_pairs: Iterable[tuple[str, str]] = (),
) -> Round:
    """The allocation round for ``month`` from the database.

    Waiting youths, available options, the whole menukaart, the contingents of the month's
    year and the policy in force on the first of the month. ``month`` is normalised to its
    first day, which is also the move-in date.
    """
    first = month.replace(day=1)
    return Round(
        month=first,
        move_in=first,
        types=load_types(session),
        options=load_options(session),
        youths=load_youths(session),
        contingents=load_contingents(session, first.year),
        policy=policy_at(session, first),
        fixed_pairs=tuple(sorted(fixed_pairs)),
        forbidden_pairs=tuple(sorted(forbidden_pairs)),
        seed=seed,
        meta={"source": "database"},
    )


def area_geometries(session: Session, level: str) -> dict[str, BaseGeometry]:
    """Geometry (RD New) of every area of ``level`` (gemeente, wijk, buurt), by code."""
    lvl = AreaLevel(level)
    return {
        code: from_wkb(geom)
        for code, geom in session.execute(
            select(m.Area.code, m.Area.geometry)
            .where(m.Area.level == lvl.value)
            .order_by(m.Area.code)
        )
    }


_COUNTED = {
    "areas": m.Area,
    "organisations": m.Organisation,
    "users": m.User,
    "types": m.HousingType,
    "options": m.HousingOption,
    "youths": m.Youth,
    "contingents": m.Contingent,
}


def count_by_kind(session: Session) -> dict[str, int]:
    """Row counts per import kind (``areas``, ``organisations``, ... as in ``import_file``)."""
    return {
        kind: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for kind, model in _COUNTED.items()
    }
