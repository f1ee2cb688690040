"""Places for the intake and stock forms: area names for the search lists, the region's
outline, clicks and drawings from the browser (WGS84) into RD New, and which options an area
holds (the preview of what a no-go choice removes).

Maps work in WGS84; everything stored and compared is RD New (``store.geometry``). The region
is the union of the gemeenten in the database, so nothing here knows area codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from maps.geo import feature_collection, rd_to_wgs84, simplify_rd
from store import models as m
from store.geometry import RD_NEW, WGS84, from_wkb

MAX_DRAWN = 20  # polygons in one drawing field
MAX_VERTICES = 2000  # per drawing field


class PlaceError(ValueError):
    """Input from the map that cannot be read; the message is Dutch."""


@lru_cache(maxsize=1)
def _to_rd() -> Transformer:
    return Transformer.from_crs(WGS84, RD_NEW, always_xy=True)


@lru_cache(maxsize=1)
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(RD_NEW, WGS84, always_xy=True)


def lonlat_to_rd(lon: float, lat: float) -> tuple[float, float]:
    """A WGS84 point (longitude, latitude) in RD New metres."""
    x, y = _to_rd().transform(lon, lat)
    return float(x), float(y)


def rd_to_latlon(x: float, y: float) -> tuple[float, float]:
    lon, lat = _to_wgs84().transform(x, y)
    return round(float(lat), 6), round(float(lon), 6)


def parse_latlon(text: str) -> tuple[float, float] | None:
    """``"51.69, 5.30"`` (latitude, longitude; a map click fills it) as RD New metres; empty
    gives None; anything else raises PlaceError."""
    text = text.strip()
    if not text:
        return None
    parts = [p.strip() for p in text.replace(";", ",").split(",")]
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise PlaceError(
            "verwacht breedtegraad, lengtegraad (bijvoorbeeld 51.69, 5.30); klik op de kaart"
        ) from None
    if not (np.isfinite(lat) and np.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise PlaceError("geen geldige coördinaten")
    return lonlat_to_rd(lon, lat)


def looks_like_coordinates(text: str) -> bool:
    """Digits, signs, separators and spaces only: meant as "lat, lon", not a place name."""
    return bool(text.strip()) and all(ch in "0123456789.,;-+ eE" for ch in text.strip())


def area_point(session: Session, code: str) -> tuple[float, float]:
    """A point inside the area (RD New metres): where an anchor named by a place lands. The
    representative point, not the centroid, which a crescent-shaped gemeente may lie outside."""
    geometry = session.scalars(select(m.Area.geometry).where(m.Area.code == code)).one()
    point = from_wkb(geometry).representative_point()
    return float(point.x), float(point.y)


def _polygons(geojson: Any) -> list[dict[str, Any]]:
    """The polygon geometries in a GeoJSON geometry, feature or feature collection."""
    if not isinstance(geojson, dict):
        raise PlaceError("de tekening is geen GeoJSON-object")
    kind = geojson.get("type")
    if kind == "FeatureCollection":
        features = geojson.get("features")
        if not isinstance(features, list):
            raise PlaceError("de tekening heeft geen lijst 'features'")
        return [g for f in features for g in _polygons(f)]
    if kind == "Feature":
        return _polygons(geojson.get("geometry"))
    if kind in ("Polygon", "MultiPolygon"):
        return [geojson]
    raise PlaceError("een no-go-gebied moet een vlak (polygoon) zijn")


def _project_rd(xy: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    x, y = _to_rd().transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([x, y]), 2)


def drawing_to_rd_wkt(text: str) -> list[str]:
    """The polygons drawn on the map (GeoJSON in WGS84) as WKT in RD New, one per polygon.

    Validity is not judged here (``matcher.records`` reports a self-intersecting ring); only what
    cannot be read at all raises PlaceError.
    """
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise PlaceError("de tekening is geen geldige GeoJSON") from None
    found = _polygons(data)
    if len(found) > MAX_DRAWN:
        raise PlaceError(f"te veel getekende gebieden (hoogstens {MAX_DRAWN})")
    out = []
    for geometry in found:
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, ShapelyError):
            raise PlaceError("een getekend gebied heeft geen geldige coördinaten") from None
        coords = shapely.get_coordinates(geom)
        if len(coords) > MAX_VERTICES:
            raise PlaceError(f"een getekend gebied heeft te veel punten (hoogstens {MAX_VERTICES})")
        if not np.isfinite(coords).all():
            raise PlaceError("een getekend gebied heeft een punt zonder eindige coördinaten")
        if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
            raise PlaceError("een getekend gebied heeft een punt buiten lengte- of breedtegraad")
        out.append(shapely.to_wkt(shapely.transform(geom, _project_rd), rounding_precision=2))
    return out


def rd_wkt_to_geojson(wkts: list[str]) -> str:
    """Stored polygons (RD New WKT) as a WGS84 FeatureCollection for the map (edit form)."""
    if not wkts:
        return ""
    geoms = rd_to_wgs84([shapely.from_wkt(w) for w in wkts], precision=6)
    return feature_collection(geoms, [{} for _ in wkts])


@dataclass(frozen=True)
class AreaChoice:
    code: str
    level: str
    name: str
    label: str  # what the search list shows and the form sends back


def area_choices(session: Session) -> list[AreaChoice]:
    """Every area with a unique Dutch label, gemeenten first, then wijken and buurten."""
    rows = session.execute(
        select(m.Area.code, m.Area.level, m.Area.name, m.Area.gemeente_code).order_by(
            m.Area.level, m.Area.name, m.Area.code
        )
    ).all()
    gemeente_names = {code: name for code, level, name, _ in rows if level == "gemeente"}
    order = {"gemeente": 0, "wijk": 1, "buurt": 2}
    choices = []
    seen: set[str] = set()
    for code, level, name, gemeente in sorted(rows, key=lambda r: (order[r[1]], r[2], r[0])):
        if level == "gemeente":
            label = f"{name} (gemeente)"
        else:
            label = f"{name} ({level} in {gemeente_names.get(gemeente, gemeente)})"
        if label in seen:  # two areas of one name and level in one gemeente: add the code
            label = f"{label[:-1]}, {code})"
        seen.add(label)
        choices.append(AreaChoice(code, level, name, label))
    return choices


def resolve_area(text: str, choices: list[AreaChoice]) -> str | None:
    """The area code for what the person typed or picked: a label from the list, a code, or a
    name that only one area has (case-insensitive). None when it names no area."""
    text = text.strip()
    if not text:
        return None
    for c in choices:
        if text == c.label or text == c.code:
            return c.code
    folded = text.casefold()
    named = [c for c in choices if c.name.casefold() == folded or c.label.casefold() == folded]
    return named[0].code if len(named) == 1 else None


def area_label(code: str, choices: list[AreaChoice]) -> str:
    return next((c.label for c in choices if c.code == code), code)


def region_outline(session: Session) -> BaseGeometry | None:
    """The union of the region's gemeenten (RD New), or None without areas."""
    geoms = [
        from_wkb(g)
        for g in session.scalars(select(m.Area.geometry).where(m.Area.level == "gemeente"))
    ]
    return shapely.union_all(geoms) if geoms else None


def locate(session: Session, x: float, y: float) -> dict[str, str | None] | None:
    """The gemeente, wijk and buurt a point lies in (boundary counts; ties: lowest code); None
    when no gemeente holds it. A finer level without an area there stays None."""
    point = shapely.Point(x, y)
    found: dict[str, str | None] = {"gemeente": None, "wijk": None, "buurt": None}
    for level in ("gemeente", "wijk", "buurt"):
        where = [
            m.Area.level == level,
            m.Area.minx <= x,
            m.Area.maxx >= x,
            m.Area.miny <= y,
            m.Area.maxy >= y,
        ]
        if level != "gemeente" and found["gemeente"] is not None:
            where.append(m.Area.gemeente_code == found["gemeente"])
        for code, geometry in session.execute(
            select(m.Area.code, m.Area.geometry).where(*where).order_by(m.Area.code)
        ):
            if from_wkb(geometry).intersects(point):
                found[level] = code
                break
        if level == "gemeente" and found["gemeente"] is None:
            return None
    return found


def area_names(session: Session, codes: list[str | None]) -> dict[str, str]:
    wanted = [c for c in codes if c]
    if not wanted:
        return {}
    return dict(
        session.execute(select(m.Area.code, m.Area.name).where(m.Area.code.in_(wanted))).all()
    )


def map_areas_geojson(session: Session) -> str:
    """Gemeenten and wijken as one WGS84 FeatureCollection for the form maps (base layer)."""
    rows = session.execute(
        select(m.Area.code, m.Area.level, m.Area.name, m.Area.geometry)
        .where(m.Area.level.in_(("gemeente", "wijk")))
        .order_by(m.Area.level, m.Area.code)
    ).all()
    if not rows:
        return '{"type":"FeatureCollection","features":[]}'
    geoms = rd_to_wgs84(simplify_rd([from_wkb(r.geometry) for r in rows], 25.0), precision=5)
    return feature_collection(geoms, [{"level": r.level, "name": r.name} for r in rows])


def options_inside(
    session: Session, area: BaseGeometry | str, type_codes: list[str] | None = None
) -> tuple[int, int]:
    """How many available options lie in ``area`` (a polygon in RD New or an area code), and
    how many available options there are in all; both limited to ``type_codes`` when given."""
    o = m.HousingOption
    stmt = select(o.x, o.y, o.gemeente_code, o.wijk_code, o.buurt_code).where(
        o.status == "available"
    )
    if type_codes:
        stmt = stmt.join(m.HousingType, o.type_id == m.HousingType.id).where(
            m.HousingType.code.in_(type_codes)
        )
    rows = session.execute(stmt).all()
    if isinstance(area, str):
        inside = sum(1 for r in rows if area in (r.gemeente_code, r.wijk_code, r.buurt_code))
    elif rows:
        xs = np.array([r.x for r in rows], dtype=float)
        ys = np.array([r.y for r in rows], dtype=float)
        inside = int(shapely.intersects_xy(area, xs, ys).sum())
    else:
        inside = 0
    return inside, len(rows)
