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
    stmt = (
        select(m.HousingOption, m.HousingType.code, m.Organisation.code)
        .join(m.HousingType, m.HousingOption.type_id == m.HousingType.id)
        .outerjoin(m.Organisation, m.HousingOption.corporation_id == m.Organisation.id)
        .order_by(m.HousingOption.code)
    )
    if status is not None:
        stmt = stmt.where(m.HousingOption.status == status)
    return tuple(
        Option(
            code=o.code,
            type_code=type_code,
            corporation=corp,
            gemeente_code=o.gemeente_code,
            wijk_code=o.wijk_code,
            buurt_code=o.buurt_code,
            x=o.x,
            y=o.y,
            kale_huur=o.kale_huur,
            servicekosten=o.servicekosten,
            capacity=o.capacity,
            shared_house_id=o.shared_house_id,
            available_from=o.available_from,
        )
        for o, type_code, corp in session.execute(stmt)
    )


def load_youths(session: Session, status: str | None = "waiting") -> tuple[Youth, ...]:
    """Youths with ``status`` (None: all), by code, with all their lists.

    Companions and conflicts are limited to youths in the same selection: the matcher can only
    act on people in its round.
    """
    stmt = (
        select(m.Youth, m.User.email)
        .outerjoin(m.User, m.Youth.regisseur_id == m.User.id)
        .order_by(m.Youth.code)
    )
    if status is not None:
        stmt = stmt.where(m.Youth.status == status)
    rows = session.execute(stmt).all()
    ids = {y.id for y, _ in rows}
    codes = {y.id: y.code for y, _ in rows}

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
    for a in session.scalars(
        select(m.YouthAnchor).order_by(m.YouthAnchor.youth_id, m.YouthAnchor.id)
    ):
        anchors[a.youth_id].append(Anchor(a.label, a.x, a.y))
    no_go_codes: dict[int, list[str]] = defaultdict(list)
    no_go_polygons: dict[int, list[BaseGeometry]] = defaultdict(list)
    for n in session.scalars(
        select(m.YouthNoGoArea).order_by(m.YouthNoGoArea.youth_id, m.YouthNoGoArea.id)
    ):
        if n.area_code is not None:
            no_go_codes[n.youth_id].append(n.area_code)
        elif n.geometry is not None:
            no_go_polygons[n.youth_id].append(from_wkb(n.geometry))
    relations: dict[tuple[int, str], list[str]] = defaultdict(list)
    for r in session.scalars(select(m.YouthRelation)):
        if r.youth_id in ids and r.other_youth_id in ids:
            relations[(r.youth_id, r.kind)].append(codes[r.other_youth_id])

    return tuple(
        Youth(
            code=y.code,
            birth_date=y.birth_date,
            gemeente_code=y.gemeente_code,
            income=y.income,
            support_need=y.support_need,
            accepted_types=tuple(accepted[y.id]),
            preferred_areas=tuple(preferred[y.id]),
            anchors=tuple(anchors[y.id]),
            no_go_codes=tuple(no_go_codes[y.id]),
            no_go_polygons=tuple(no_go_polygons[y.id]),
            urgency=y.urgency,
            care_end_date=y.care_end_date,
            waiting_since=y.waiting_since,
            companions=tuple(sorted(relations[(y.id, "companion")])),
            conflicts=tuple(sorted(relations[(y.id, "conflict")])),
            regisseur=email,
            max_rent=y.max_rent,
            household_size=y.household_size,
            max_distance_m=y.max_distance_m,
        )
        for y, email in rows
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
