"""Exporters: database contents back out in the formats of docs/file-formats.md.

Exports are canonical (semicolon, ISO dates, decimal point, ``ja``/``nee``, rows ordered by their
key, lists in their stored order), so exporting, importing into a fresh database and exporting
again gives byte-identical files. Text that a spreadsheet would run as a formula gets a leading
``'`` (:func:`store.csvio.spreadsheet_safe`), which the importers take off again (decision 21).
Status columns (``waiting``/``placed``, ``available``/...) are not part of the import formats and
are therefore not exported.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import shapely
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from matcher.problem import AreaLevel
from store.csvio import (
    HEADERS,
    format_bool,
    format_date,
    format_decimal,
    format_int,
    format_list,
    write_table,
)
from store.geometry import RD_NEW, from_wkb
from store.models import (
    Area,
    Contingent,
    HousingOption,
    HousingType,
    Organisation,
    User,
    Youth,
    YouthAcceptedType,
    YouthAnchor,
    YouthNoGoArea,
    YouthPreferredArea,
    YouthRelation,
)

__all__ = ["EXPORT_KINDS", "HEADERS", "export_areas_geojson", "export_csv", "export_rows"]

EXPORT_KINDS = tuple(HEADERS)

Rows = list[list[str]]


def _organisations(session: Session, **_: Any) -> Rows:
    return [
        [o.code, o.name, o.kind, o.gemeente_code or "", format_bool(o.synthetic)]
        for o in session.scalars(select(Organisation).order_by(Organisation.code))
    ]


def _users(session: Session, **_: Any) -> Rows:
    stmt = (
        select(User.email, User.name, User.role, Organisation.code, User.synthetic)
        .join(Organisation, User.organisation_id == Organisation.id)
        .order_by(User.email)
    )
    return [[e, n, r, o, format_bool(s)] for e, n, r, o, s in session.execute(stmt)]


def _types(session: Session, **_: Any) -> Rows:
    return [
        [
            t.code,
            t.name,
            format_int(t.min_age),
            format_int(t.max_age),
            format_bool(t.zelfstandig),
            format_bool(t.provider_contract),
            format_int(t.persons_min),
            format_int(t.persons_max),
            format_int(t.support_min),
            format_int(t.support_max),
            format_int(t.stay_min_months),
            format_int(t.stay_max_months),
            format_bool(t.uses_contingent),
            format_int(t.max_age_gap),
            t.description or "",
        ]
        for t in session.scalars(select(HousingType).order_by(HousingType.code))
    ]


def _options(session: Session, **_: Any) -> Rows:
    stmt = (
        select(HousingOption, HousingType.code, Organisation.code)
        .join(HousingType, HousingOption.type_id == HousingType.id)
        .outerjoin(Organisation, HousingOption.corporation_id == Organisation.id)
        .order_by(HousingOption.code)
    )
    return [
        [
            o.code,
            type_code,
            corp or "",
            format_decimal(o.x),
            format_decimal(o.y),
            o.gemeente_code,
            o.wijk_code or "",
            o.buurt_code or "",
            format_decimal(o.kale_huur),
            format_decimal(o.servicekosten),
            format_int(o.capacity),
            o.shared_house_id or "",
            format_date(o.available_from),
            format_bool(o.synthetic),
        ]
        for o, type_code, corp in session.execute(stmt)
    ]


def _no_go_wkt(geometries: list[bytes]) -> str:
    if not geometries:
        return ""
    shapes = [from_wkb(g) for g in geometries]
    # The import format holds one (multi)polygon; several stored shapes are exported as one.
    geom = shapes[0] if len(shapes) == 1 else shapely.union_all(shapes)
    return str(shapely.to_wkt(geom, rounding_precision=-1, trim=True))


def _youths(
    session: Session, *, include_no_go: bool = True, include_case_details: bool = True, **_: Any
) -> Rows:
    """Youth rows in import format; without ``include_case_details`` the case columns are blank.

    The case columns (income, max_rent, anchors, no-go areas, companions, conflicts) belong to
    the youth's regisseur; they are then not even loaded.
    """
    if not include_case_details:
        include_no_go = False
    accepted: dict[int, list[str]] = defaultdict(list)
    for yid, code in session.execute(
        select(YouthAcceptedType.youth_id, HousingType.code)
        .join(HousingType, YouthAcceptedType.type_id == HousingType.id)
        .order_by(YouthAcceptedType.youth_id, YouthAcceptedType.rank)
    ):
        accepted[yid].append(code)
    preferred: dict[int, list[str]] = defaultdict(list)
    for yid, code in session.execute(
        select(YouthPreferredArea.youth_id, YouthPreferredArea.area_code).order_by(
            YouthPreferredArea.youth_id, YouthPreferredArea.rank
        )
    ):
        preferred[yid].append(code)
    anchors: dict[int, list[str]] = defaultdict(list)
    if include_case_details:
        for yid, label, x, y in session.execute(
            select(YouthAnchor.youth_id, YouthAnchor.label, YouthAnchor.x, YouthAnchor.y).order_by(
                YouthAnchor.youth_id, YouthAnchor.id
            )
        ):
            anchors[yid].append(f"{label}@{format_decimal(x)},{format_decimal(y)}")
    no_go_codes: dict[int, list[str]] = defaultdict(list)
    no_go_geoms: dict[int, list[bytes]] = defaultdict(list)
    if include_no_go:
        for yid, area_code, geom in session.execute(
            select(
                YouthNoGoArea.youth_id, YouthNoGoArea.area_code, YouthNoGoArea.geometry
            ).order_by(YouthNoGoArea.youth_id, YouthNoGoArea.id)
        ):
            if area_code is not None:
                no_go_codes[yid].append(area_code)
            elif geom is not None:
                no_go_geoms[yid].append(geom)
    other = aliased(Youth)
    relations: dict[tuple[int, str], list[str]] = defaultdict(list)
    if include_case_details:
        for yid, kind, code in session.execute(
            select(YouthRelation.youth_id, YouthRelation.kind, other.code)
            .join(other, YouthRelation.other_youth_id == other.id)
            .order_by(YouthRelation.youth_id, other.code)
        ):
            relations[(yid, kind)].append(code)
    stmt = (
        select(Youth, User.email)
        .outerjoin(User, Youth.regisseur_id == User.id)
        .order_by(Youth.code)
    )
    return [
        [
            y.code,
            format_date(y.birth_date),
            y.gemeente_code,
            format_decimal(y.income) if include_case_details else "",
            format_int(y.support_need),
            format_list(accepted[y.id]),
            format_list(preferred[y.id]),
            format_list(anchors[y.id]),
            format_list(no_go_codes[y.id]),
            _no_go_wkt(no_go_geoms[y.id]),
            format_int(y.urgency),
            format_date(y.care_end_date),
            format_date(y.waiting_since),
            format_list(relations[(y.id, "companion")]),
            format_list(relations[(y.id, "conflict")]),
            email or "",
            format_decimal(y.max_rent) if include_case_details else "",
            format_int(y.household_size),
            format_decimal(y.max_distance_m),
            y.support_provider or "",
            format_bool(y.synthetic),
        ]
        for y, email in session.execute(stmt)
    ]


def _contingents(session: Session, **_: Any) -> Rows:
    stmt = (
        select(Contingent, Organisation.code, HousingType.code)
        .join(Organisation, Contingent.corporation_id == Organisation.id)
        .outerjoin(HousingType, Contingent.type_id == HousingType.id)
    )
    rows = [
        [
            corp,
            c.gemeente_code,
            format_int(c.year),
            type_code or "",
            format_int(c.amount),
            format_int(c.used),
            format_bool(c.synthetic),
        ]
        for c, corp, type_code in session.execute(stmt)
    ]
    return sorted(rows, key=lambda r: (r[0], r[1], int(r[2]), r[3]))


_EXPORTERS: dict[str, Callable[..., Rows]] = {
    "organisations": _organisations,
    "users": _users,
    "types": _types,
    "options": _options,
    "youths": _youths,
    "contingents": _contingents,
}


def export_rows(
    session: Session,
    kind: str,
    *,
    include_no_go: bool = True,
    include_case_details: bool = True,
) -> Rows:
    """The rows of ``kind`` (one of :data:`EXPORT_KINDS`) in import format, as plain text cells
    (not yet guarded for spreadsheets: the CSV writer does that); see :func:`export_csv`."""
    exporter = _EXPORTERS.get(kind)
    if exporter is None:
        raise ValueError(f"onbekende soort export {kind!r} (kies uit {', '.join(EXPORT_KINDS)})")
    return exporter(session, include_no_go=include_no_go, include_case_details=include_case_details)


def export_csv(
    session: Session,
    kind: str,
    path: str | Path,
    *,
    include_no_go: bool = True,
    include_case_details: bool = True,
) -> int:
    """Write all rows of ``kind`` (one of :data:`EXPORT_KINDS`) as CSV; returns the row count.

    A youths export holds no-go areas, the most sensitive data in stek: only an operator's full
    backup (the CLI) should pass ``include_no_go=True``; otherwise those columns stay empty.
    ``include_case_details=False`` also blanks the rest of the case that only the youth's
    regisseur sees (income, max_rent, anchors, companions, conflicts): the admin view's columns.
    """
    rows = export_rows(
        session, kind, include_no_go=include_no_go, include_case_details=include_case_details
    )
    write_table(path, HEADERS[kind], rows)
    return len(rows)


_AREA_FIELDS = {
    AreaLevel.GEMEENTE: ("gemeentecode", "gemeentenaam"),
    AreaLevel.WIJK: ("wijkcode", "wijknaam"),
    AreaLevel.BUURT: ("buurtcode", "buurtnaam"),
}


def export_areas_geojson(session: Session, level: str, path: str | Path, crs: str = RD_NEW) -> int:
    """Write the areas of one level as GeoJSON in ``crs``; returns the feature count.

    RD New output carries a ``crs`` member (``urn:ogc:def:crs:EPSG::28992``) as the fixture files
    do; WGS84 output has none, as RFC 7946 prescribes.
    """
    lvl = AreaLevel(level)
    target = pyproj.CRS.from_user_input(crs)
    epsg = target.to_epsg()
    if epsg is None:
        raise ValueError(f"coördinatenstelsel {crs!r} heeft geen EPSG-code")
    transform: Callable[[Any], Any] | None = None
    if epsg != 28992:
        transformer = pyproj.Transformer.from_crs(RD_NEW, target, always_xy=True)

        def transform(coords: Any) -> Any:
            x, y = transformer.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

    code_field, name_field = _AREA_FIELDS[lvl]
    features = []
    for area in session.scalars(select(Area).where(Area.level == lvl.value).order_by(Area.code)):
        geom = from_wkb(area.geometry)
        if transform is not None:
            geom = shapely.transform(geom, transform)
        props: dict[str, Any] = {code_field: area.code, name_field: area.name}
        if lvl == AreaLevel.BUURT:
            props["wijkcode"] = area.parent_code
        if lvl != AreaLevel.GEMEENTE:
            props["gemeentecode"] = area.gemeente_code
        props["synthetic"] = area.synthetic
        features.append(
            json.dumps(
                {"type": "Feature", "properties": props, "geometry": mapping(geom)},
                ensure_ascii=False,
            )
        )
    head: dict[str, Any] = {"type": "FeatureCollection", "name": f"{lvl.value}en"}
    if lvl == AreaLevel.GEMEENTE:
        head["name"] = "gemeenten"
    if epsg != 4326:
        head["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    text = json.dumps(head, ensure_ascii=False)[:-1]
    body = ",\n".join(features)
    Path(path).write_text(f'{text}, "features": [\n{body}\n]}}\n', encoding="utf-8")
    return len(features)
