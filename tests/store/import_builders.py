"""Small synthetic input files for the importer, exporter and repository tests.

A toy region in RD New: two gemeenten (GM0796, GM0828) side by side, three wijken and four
buurten, all axis-aligned rectangles. Everything here is synthetic.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from store.importers import (
    import_areas,
    import_contingents,
    import_housing_types,
    import_options,
    import_organisations,
    import_users,
    import_youths,
)

TODAY = date(2026, 3, 1)
RD_CRS = "urn:ogc:def:crs:EPSG::28992"

GEMEENTEN = [
    ("GM0796", "'s-Hertogenbosch", box(140000, 400000, 160000, 420000)),
    ("GM0828", "Oss", box(160000, 400000, 180000, 420000)),
]
WIJKEN = [
    ("WK079601", "Wijk Noord (synthetisch)", box(140000, 400000, 150000, 420000)),
    ("WK079602", "Wijk Zuid (synthetisch)", box(150000, 400000, 160000, 420000)),
    ("WK082801", "Wijk Oost (synthetisch)", box(160000, 400000, 180000, 420000)),
]
BUURTEN = [
    ("BU07960101", "Buurt A", box(140000, 400000, 150000, 410000)),
    ("BU07960102", "Buurt B", box(140000, 410000, 150000, 420000)),
    ("BU07960201", "Buurt C", box(150000, 400000, 160000, 420000)),
    ("BU08280101", "Buurt D", box(160000, 400000, 180000, 420000)),
]


def feature(props: dict[str, Any], geom: BaseGeometry | dict[str, Any] | None) -> dict[str, Any]:
    geometry = geom if isinstance(geom, dict) or geom is None else mapping(geom)
    return {"type": "Feature", "properties": props, "geometry": geometry}


def write_geojson(path: Path, features: list[dict[str, Any]], crs: str | None = RD_CRS) -> Path:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def gemeenten_features() -> list[dict[str, Any]]:
    return [
        feature({"gemeentecode": c, "gemeentenaam": n, "synthetic": "ja"}, g)
        for c, n, g in GEMEENTEN
    ]


def wijken_features() -> list[dict[str, Any]]:
    return [
        feature({"wijkcode": c, "wijknaam": n, "gemeentecode": "GM" + c[2:6]}, g)
        for c, n, g in WIJKEN
    ]


def buurten_features() -> list[dict[str, Any]]:
    return [
        feature({"buurtcode": c, "buurtnaam": n, "wijkcode": "WK" + c[2:8]}, g)
        for c, n, g in BUURTEN
    ]


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / name
    data = text.encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


ORGANISATIONS = """code;name;kind;gemeentecode;synthetic
GM0796;Gemeente 's-Hertogenbosch;gemeente;GM0796;ja
GM0828;Gemeente Oss;gemeente;GM0828;ja
CORP1;Woonstichting Een (synthetisch);corporatie;;ja
CORP2;Woonstichting Twee (synthetisch);corporatie;;ja
ZORG1;Zorg Eén (synthetisch);zorgaanbieder;;ja
"""

USERS = """email;name;role;organisation;synthetic
regisseur1@example.nl;Regisseur Een;regisseur;ZORG1;ja
regisseur2@example.nl;Regisseur Twee;regisseur;GM0796;ja
planner@example.nl;Planner;planner;GM0796;ja
"""

TYPES = (
    "code;name;min_age;max_age;zelfstandig;provider_contract;persons_min;persons_max;"
    "support_min;support_max;stay_min_months;stay_max_months;uses_contingent;max_age_gap;"
    "description\n"
    "kma;Kamers met Aandacht;18;23;nee;nee;1;1;0;2;12;;ja;;kamer met coach\n"
    "friends;Friends;18;27;ja;nee;2;3;0;1;;;ja;5;samen een woning\n"
    "hf;Housing First;16;23;ja;ja;1;1;2;3;;24;nee;;\n"
)


def table(*rows: str) -> str:
    """CSV text from ``;``-joined lines (kept short for the line-length rule)."""
    return "".join(f"{row}\n" for row in rows)


OPTION_HEADER = (
    "option_id;type;corporatie;x;y;gemeentecode;wijkcode;buurtcode;kale_huur;servicekosten;"
    "capacity;shared_house_id;available_from;synthetic"
)
OPTIONS = table(
    OPTION_HEADER,
    "OPT-001;kma;CORP1;145000;405000;;;;450,50;20;1;;2026-01-01;ja",
    "OPT-002;friends;CORP1;145000,5;415000;GM0796;WK079601;BU07960102;600;0;2;H1;01-02-2026;ja",
    "OPT-003;friends;CORP1;145100;415100;;;;600;0;1;H1;2026-02-01;ja",
    "OPT-004;hf;;170000;410000;;;;500.25;;1;;2026-03-01;ja",
)

YOUTH_HEADER = (
    "youth_code;birth_date;gemeentecode;income;support_need;accepted_types;preferred_areas;"
    "anchors;no_go_codes;no_go_wkt;urgency;care_end_date;waiting_since;companions;conflicts;"
    "regisseur;max_rent;household_size;max_distance_m;support_provider;synthetic"
)
YOUTHS = table(
    YOUTH_HEADER,
    "J-0001;2006-05-01;GM0796;1100,50;1;kma|friends;BU07960101|GM0828;"
    "school@149800,411500|werk@150200.5,410900;WK082801;"
    "POLYGON ((141000 401000, 142000 401000, 142000 402000, 141000 401000));3;2026-06-30;"
    "2025-12-01;J-0002;J-0003;regisseur1@example.nl;650;1;15000;Zorg Eén;ja",
    "J-0002;01-01-2007;GM0796;900;0;friends;;;;;;;;;;;;;;;ja",
    "J-0003;2004-09-15;GM0828;1400;3;hf|kma;;;;;5;;;;;regisseur2@example.nl;;2;;;ja",
)

CONTINGENTS = """corporatie;gemeentecode;year;type;amount;used;synthetic
CORP1;GM0796;2026;;10;2;ja
CORP1;GM0796;2026;kma;3;0;ja
CORP2;GM0828;2026;;5;0;ja
CORP1;GM0796;2025;;8;8;ja
"""


def seed_areas(session: Session, tmp_path: Path) -> None:
    """Gemeenten, wijken and buurten of the toy region."""
    import_areas(session, write_geojson(tmp_path / "gemeenten.geojson", gemeenten_features()))
    import_areas(session, write_geojson(tmp_path / "wijken.geojson", wijken_features()))
    import_areas(session, write_geojson(tmp_path / "buurten.geojson", buurten_features()))


def seed_reference(session: Session, tmp_path: Path) -> None:
    """Areas, organisations, users and types: what options and youths refer to."""
    seed_areas(session, tmp_path)
    import_organisations(session, write(tmp_path, "organisations.csv", ORGANISATIONS))
    import_users(session, write(tmp_path, "users.csv", USERS))
    import_housing_types(session, write(tmp_path, "types.csv", TYPES))


def seed_all(session: Session, tmp_path: Path) -> None:
    """The whole toy region including options, youths and contingents."""
    seed_reference(session, tmp_path)
    import_options(session, write(tmp_path, "options.csv", OPTIONS))
    import_youths(session, write(tmp_path, "youths.csv", YOUTHS), today=TODAY)
    import_contingents(session, write(tmp_path, "contingents.csv", CONTINGENTS))
