"""Importing CBS areas: levels, CRS rules, geometry validity, CBS code structure, upsert."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from import_builders import (
    GEMEENTEN,
    buurten_features,
    feature,
    gemeenten_features,
    seed_areas,
    wijken_features,
    write_geojson,
)
from shapely.geometry import MultiPolygon, Point, Polygon, box
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from store.db import unit_of_work
from store.geometry import from_wkb
from store.importers import ImportFailed, import_areas, import_file
from store.models import Area

Factory = sessionmaker[Session]


def _areas(factory: Factory) -> dict[str, Area]:
    with factory() as session:
        return {a.code: a for a in session.scalars(select(Area))}


def _refused(factory: Factory, path: Path, **kw: object) -> ImportFailed:
    """Import must fail and leave the areas table as it was."""
    before = len(_areas(factory))
    with pytest.raises(ImportFailed) as info, unit_of_work(factory) as session:
        import_areas(session, path, **kw)  # type: ignore[arg-type]
    assert len(_areas(factory)) == before
    return info.value


def test_three_levels_with_parents_and_bbox(session_factory: Factory, tmp_path: Path) -> None:
    with unit_of_work(session_factory) as session:
        seed_areas(session, tmp_path)
    areas = _areas(session_factory)
    assert len(areas) == 9
    buurt = areas["BU07960201"]
    assert (buurt.level, buurt.parent_code, buurt.gemeente_code) == ("buurt", "WK079602", "GM0796")
    assert areas["WK082801"].parent_code == "GM0828"
    assert areas["GM0796"].parent_code is None and areas["GM0796"].synthetic
    assert (buurt.minx, buurt.miny, buurt.maxx, buurt.maxy) == (150000, 400000, 160000, 420000)
    assert from_wkb(buurt.geometry).equals(box(150000, 400000, 160000, 420000))


def test_hole_and_multipolygon_accepted(session_factory: Factory, tmp_path: Path) -> None:
    with_hole = Polygon(
        [(0, 300000), (10000, 300000), (10000, 310000), (0, 310000)],
        [[(2000, 302000), (4000, 302000), (4000, 304000), (2000, 304000)]],
    )
    multi = MultiPolygon([box(20000, 300000, 25000, 305000), box(30000, 300000, 35000, 305000)])
    path = write_geojson(
        tmp_path / "g.geojson",
        [
            feature({"gemeentecode": "GM0001"}, with_hole),
            feature({"gemeentecode": "GM0002"}, multi),
        ],
    )
    with unit_of_work(session_factory) as session:
        report = import_areas(session, path)
    assert (report.inserted, report.updated) == (2, 0)
    areas = _areas(session_factory)
    assert from_wkb(areas["GM0001"].geometry).equals(with_hole)
    assert len(from_wkb(areas["GM0002"].geometry).geoms) == 2
    assert areas["GM0001"].name == "GM0001"  # no name column: the code stands in


def test_self_intersection_is_reported_not_repaired(
    session_factory: Factory, tmp_path: Path
) -> None:
    bowtie = Polygon([(0, 300000), (1000, 301000), (1000, 300000), (0, 301000)])
    path = write_geojson(
        tmp_path / "g.geojson",
        [
            feature({"gemeentecode": "GM0001"}, box(0, 300000, 10, 300010)),
            feature({"gemeentecode": "GM0002"}, bowtie),
            feature({"gemeentecode": "GM0003"}, Point(5, 300005)),
        ],
    )
    error = _refused(session_factory, path)
    assert [(e.row, e.field) for e in error.errors] == [(2, "geometrie"), (3, "geometrie")]
    assert "GM0002" in error.errors[0].message
    assert "Self-intersection[500 300500]" in error.errors[0].message
    assert "Point niet toegestaan" in error.errors[1].message


def test_geopackage_without_crs_refused_unless_given(
    session_factory: Factory, tmp_path: Path
) -> None:
    gdf = gpd.GeoDataFrame(
        {"gemeentecode": ["GM0796"]}, geometry=[box(140000, 400000, 160000, 420000)], crs=None
    )
    path = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(path, driver="GPKG")
    error = _refused(session_factory, path)
    assert "geen coördinatenstelsel" in str(error) and "--crs" in str(error)
    with unit_of_work(session_factory) as session:
        assert import_areas(session, path, crs="EPSG:28992").inserted == 1


def test_geojson_with_rd_coordinates_and_no_crs(session_factory: Factory, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "g.geojson", gemeenten_features(), crs=None)
    error = _refused(session_factory, path)
    assert "geen lengte-/breedtegraden" in str(error) and "--crs EPSG:28992" in str(error)
    with unit_of_work(session_factory) as session:
        assert import_file(session, "areas", path, crs="EPSG:28992").inserted == 2
    assert from_wkb(_areas(session_factory)["GM0796"].geometry).equals(GEMEENTEN[0][2])


def test_crs_contradicting_the_declared_one_is_refused(
    session_factory: Factory, tmp_path: Path
) -> None:
    gdf = gpd.GeoDataFrame(
        {"gemeentecode": ["GM0796"]}, geometry=[box(140000, 400000, 160000, 420000)], crs=28992
    )
    path = tmp_path / "rd.gpkg"
    gdf.to_file(path, driver="GPKG")
    error = _refused(session_factory, path, crs="EPSG:3035")
    assert "verklaart" in str(error)


def test_wgs84_reprojected_to_rd_new(session_factory: Factory, tmp_path: Path) -> None:
    # The RD origin Amersfoort (Onze Lieve Vrouwetoren): lon 5.38720621, lat 52.15517440 is
    # RD (155000, 463000); a transformation without the RDNAPTRANS grid is good to about 1 m.
    lon, lat = 5.38720621, 52.15517440
    triangle = Polygon([(lon, lat), (lon + 0.01, lat), (lon, lat + 0.01)])
    path = write_geojson(
        tmp_path / "wgs.geojson",
        [feature({"GM_CODE": "GM0307", "GM_NAAM": "Amersfoort"}, triangle)],
        crs=None,
    )
    with unit_of_work(session_factory) as session:
        import_areas(session, path)
    area = _areas(session_factory)["GM0307"]
    x, y = shapely.get_coordinates(from_wkb(area.geometry))[0]
    assert abs(x - 155000) < 1 and abs(y - 463000) < 1
    assert area.name == "Amersfoort"
    assert area.minx == pytest.approx(155000, abs=1)


def test_old_cbs_fields_in_a_multilayer_geopackage(
    session_factory: Factory, tmp_path: Path
) -> None:
    path = tmp_path / "wijkenbuurten.gpkg"
    # Written children first: the importer still inserts parents first.
    layers = {
        "buurten": {
            "BU_CODE": ["BU07960101"],
            "BU_NAAM": ["A"],
            "WK_CODE": ["WK079601"],
            "GM_CODE": ["GM0796"],
        },
        "wijken": {"WK_CODE": ["WK079601"], "WK_NAAM": ["Noord"], "GM_CODE": ["GM0796"]},
        "gemeenten": {"GM_CODE": ["GM0796"], "GM_NAAM": ["'s-Hertogenbosch"]},
    }
    for name, columns in layers.items():
        gpd.GeoDataFrame(
            columns, geometry=[box(140000, 400000, 150000, 410000)], crs=28992
        ).to_file(path, layer=name, driver="GPKG")
    # CBS packages also hold attribute-only tables: they are skipped.
    pyogrio.write_dataframe(pd.DataFrame({"bron": ["CBS"]}), path, layer="meta", driver="GPKG")
    with unit_of_work(session_factory) as session:
        report = import_areas(session, path)
    assert report.inserted == 3
    areas = _areas(session_factory)
    assert areas["BU07960101"].name == "A" and areas["BU07960101"].parent_code == "WK079601"
    assert areas["GM0796"].name == "'s-Hertogenbosch"


def test_codes_checked_against_cbs_structure(session_factory: Factory, tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "b.geojson",
        [
            feature({"buurtcode": "BU0796010"}, box(0, 300000, 1, 300001)),  # 7 digits
            feature({"buurtcode": "BU07960101", "gemeentecode": "GM0828"}, box(0, 0, 1, 1)),
            feature({"buurtcode": "BU07960102", "wijkcode": "WK082801"}, box(0, 0, 1, 1)),
            feature({"buurtcode": "WK079601"}, box(0, 0, 1, 1)),
        ],
    )
    error = _refused(session_factory, path)
    messages = [str(e) for e in error.errors]
    assert any("rij 1" in m and "geen geldige CBS-code" in m for m in messages)
    assert any("rij 2" in m and "ligt volgens CBS in GM0796, niet GM0828" in m for m in messages)
    assert any("rij 3" in m and "in WK079601, niet WK082801" in m for m in messages)
    assert any("rij 4" in m and "geen buurtcode" in m for m in messages)


def test_parent_must_exist(session_factory: Factory, tmp_path: Path) -> None:
    error = _refused(session_factory, write_geojson(tmp_path / "w.geojson", wijken_features()))
    assert len(error.errors) == 3
    assert "bovenliggende gemeente GM0796 staat niet in de database" in error.errors[0].message
    # Parent in the same file is enough.
    both = write_geojson(tmp_path / "gw.geojson", gemeenten_features()[:1] + wijken_features()[:2])
    with unit_of_work(session_factory) as session:
        assert import_areas(session, both).inserted == 3


def test_duplicate_codes_reported_once(session_factory: Factory, tmp_path: Path) -> None:
    features = gemeenten_features() + gemeenten_features()[:1]
    error = _refused(session_factory, write_geojson(tmp_path / "g.geojson", features))
    assert [(e.row, e.field) for e in error.errors] == [(1, "code")]
    assert "komt 2 keer voor (rij 1, 3)" in error.errors[0].message


def test_reimport_updates_in_place(session_factory: Factory, tmp_path: Path) -> None:
    with unit_of_work(session_factory) as session:
        seed_areas(session, tmp_path)
    old_id = _areas(session_factory)["BU07960101"].id
    features = buurten_features()
    features[0]["properties"]["buurtnaam"] = "Buurt A nieuw"
    features[0]["geometry"] = shapely.geometry.mapping(box(140000, 400000, 149000, 409000))
    with unit_of_work(session_factory) as session:
        report = import_areas(session, write_geojson(tmp_path / "b2.geojson", features))
    assert (report.inserted, report.updated) == (0, 4)
    area = _areas(session_factory)["BU07960101"]
    assert (area.id, area.name, area.maxx) == (old_id, "Buurt A nieuw", 149000)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Area)) == 9


def test_format_found_by_content_not_suffix(session_factory: Factory, tmp_path: Path) -> None:
    # An upload saved without suffix: still GeoJSON, so --crs may override the WGS84 default.
    path = write_geojson(tmp_path / "upload", gemeenten_features(), crs=None)
    with unit_of_work(session_factory) as session:
        assert import_areas(session, path, crs="EPSG:28992").inserted == 2
