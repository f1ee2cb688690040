"""Places and form data for the intake and stock tests, read from the database (area codes are
never written into a test: the demo region's areas may change)."""

from __future__ import annotations

import json
from typing import Any

import shapely
from pyproj import Transformer
from sqlalchemy import select
from sqlalchemy.orm import Session

from store import models as m
from store.geometry import from_wkb

TO_WGS84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
# A point in the Netherlands far outside Noordoost-Brabant (Groningen city), lat, lon.
FAR_AWAY = (53.2194, 6.5665)


def latlon(x: float, y: float) -> str:
    lon, lat = TO_WGS84.transform(x, y)
    return f"{lat:.6f}, {lon:.6f}"


def inside_point(session: Session, level: str = "wijk") -> tuple[str, float, float]:
    """An area of ``level`` (first by code) with a point well inside it (RD New)."""
    code, geometry = session.execute(
        select(m.Area.code, m.Area.geometry).where(m.Area.level == level).order_by(m.Area.code)
    ).first()  # type: ignore[misc]
    point = from_wkb(geometry).representative_point()
    return code, point.x, point.y


def square_geojson(x: float, y: float, half_m: float) -> dict[str, Any]:
    """A square of ``2 * half_m`` metres around an RD New point, as a WGS84 GeoJSON polygon."""
    ring = [
        (x - half_m, y - half_m),
        (x + half_m, y - half_m),
        (x + half_m, y + half_m),
        (x - half_m, y + half_m),
        (x - half_m, y - half_m),
    ]
    return {"type": "Polygon", "coordinates": [[list(TO_WGS84.transform(a, b)) for a, b in ring]]}


def bowtie_geojson(x: float, y: float, half_m: float) -> dict[str, Any]:
    """A self-intersecting ring (a bow tie) around an RD New point, WGS84."""
    ring = [
        (x - half_m, y - half_m),
        (x + half_m, y + half_m),
        (x + half_m, y - half_m),
        (x - half_m, y + half_m),
        (x - half_m, y - half_m),
    ]
    return {"type": "Polygon", "coordinates": [[list(TO_WGS84.transform(a, b)) for a, b in ring]]}


def options_in(session: Session, polygon_wgs84: dict[str, Any]) -> set[str]:
    """Codes of available options inside a WGS84 GeoJSON polygon (checked in RD New)."""
    to_rd = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True)
    ring = [to_rd.transform(lon, lat) for lon, lat in polygon_wgs84["coordinates"][0]]
    poly = shapely.Polygon(ring)
    rows = session.execute(
        select(m.HousingOption.code, m.HousingOption.x, m.HousingOption.y).where(
            m.HousingOption.status == "available"
        )
    ).all()
    return {code for code, x, y in rows if poly.intersects(shapely.Point(x, y))}


def youth_form(session: Session, csrf: str, **changes: Any) -> dict[str, Any]:
    """A valid intake form: the first gemeente, two types, an anchor inside a wijk."""
    gemeente = session.scalars(
        select(m.Area.name).where(m.Area.level == "gemeente").order_by(m.Area.code)
    ).first()
    gemeente_code = session.scalars(
        select(m.Area.code).where(m.Area.level == "gemeente").order_by(m.Area.code)
    ).first()
    types = list(session.scalars(select(m.HousingType.code).order_by(m.HousingType.code)))
    _, x, y = inside_point(session)
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "birth_date": "2006-05-01",
        "gemeente_code": gemeente_code,
        "income": "1.345,00",
        "household_size": "1",
        "support_need": "1",
        "urgency": "3",
        "care_end_date": "2027-03-01",
        "accepted_types": types[:2],
        "preferred_areas": [f"{gemeente} (gemeente)"],
        "anchor_school": latlon(x, y),
        "no_go_drawing": "",
    }
    data.update(changes)
    return data


def dumps(geojson: dict[str, Any]) -> str:
    return json.dumps(geojson)
