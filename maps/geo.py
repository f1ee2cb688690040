"""Geometry for web maps: simplify in RD New (metres), then project to WGS84 as compact GeoJSON.

Simplification runs per polygon with Douglas-Peucker; a polygon it would collapse or make invalid
is simplified again with the topology-preserving variant, so none disappears. Shared boundaries
between neighbours are simplified independently and may show slivers of up to the tolerance at
high zoom (fine for a choropleth, not for measuring). Coordinates are rounded to ``precision``
decimals of a degree (5 = about 1 m).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from store.geometry import RD_NEW, WGS84

DEFAULT_TOLERANCE_M = 25.0
DEFAULT_PRECISION = 5


class GeometryError(ValueError):
    """A geometry the map cannot draw (empty or invalid); the message names the area."""


@lru_cache(maxsize=1)
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(RD_NEW, WGS84, always_xy=True)


def simplify_rd(geoms: Sequence[BaseGeometry], tolerance_m: float) -> NDArray[np.object_]:
    """Simplify RD New geometries with a tolerance in metres (0 keeps them as they are)."""
    if tolerance_m < 0:
        raise ValueError("tolerance_m: een tolerantie is nul of meer meter")
    arr = np.asarray(list(geoms), dtype=object)
    if tolerance_m == 0 or arr.size == 0:
        return arr
    # Plain Douglas-Peucker is ~20x faster than the topology-preserving variant; redo only the
    # polygons it collapsed or made invalid with the careful one.
    out = np.asarray(shapely.simplify(arr, tolerance_m, preserve_topology=False), dtype=object)
    bad = shapely.is_empty(out) | ~shapely.is_valid(out)
    if bad.any():
        out[bad] = shapely.simplify(arr[bad], tolerance_m, preserve_topology=True)
    return out


def rd_to_wgs84(
    geoms: Sequence[BaseGeometry] | NDArray[np.object_], precision: int = DEFAULT_PRECISION
) -> NDArray[np.object_]:
    """Project RD New geometries to WGS84 (lon, lat), rounded to ``precision`` decimals."""
    arr = np.asarray(list(geoms) if not isinstance(geoms, np.ndarray) else geoms, dtype=object)
    if arr.size == 0:
        return arr
    transformer = _to_wgs84()

    def project(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = transformer.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), precision)

    return np.asarray(shapely.transform(arr, project), dtype=object)


def point_to_wgs84(x: float, y: float) -> tuple[float, float]:
    """One RD New point as (lat, lon) for folium."""
    lon, lat = _to_wgs84().transform(x, y)
    return float(lat), float(lon)


def check_geometries(codes: Sequence[str], geoms: Sequence[BaseGeometry]) -> None:
    """Refuse empty or invalid geometries by area code (reported, never silently repaired)."""
    arr = np.asarray(list(geoms), dtype=object)
    if arr.size == 0:
        return
    bad = np.flatnonzero(shapely.is_empty(arr) | ~shapely.is_valid(arr))
    if bad.size:
        names = ", ".join(codes[i] for i in bad[:5])
        more = f" en nog {bad.size - 5}" if bad.size > 5 else ""
        raise GeometryError(f"ongeldige of lege geometrie voor {names}{more}")


def feature_collection(
    geoms_wgs84: NDArray[np.object_] | Sequence[BaseGeometry],
    properties: Sequence[Mapping[str, Any]],
) -> str:
    """A GeoJSON FeatureCollection as a compact string (geometry already in WGS84)."""
    arr = np.asarray(list(geoms_wgs84) if not isinstance(geoms_wgs84, np.ndarray) else geoms_wgs84)
    if len(arr) != len(properties):
        raise ValueError("feature_collection: evenveel geometrieën als eigenschappen nodig")
    geometry_json = shapely.to_geojson(arr) if arr.size else np.array([], dtype=object)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    parts = [
        f'{{"type":"Feature","properties":{dumps(dict(p))},"geometry":{g}}}'
        for p, g in zip(properties, geometry_json, strict=True)
    ]
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def bounds_wgs84(geoms_rd: Sequence[BaseGeometry]) -> list[list[float]]:
    """[[south, west], [north, east]] of RD New geometries, for ``fit_bounds``."""
    arr = np.asarray(list(geoms_rd), dtype=object)
    if arr.size == 0:
        return [[50.75, 3.3], [53.6, 7.25]]  # the Netherlands
    minx, miny, maxx, maxy = shapely.total_bounds(arr)
    lon, lat = _to_wgs84().transform([minx, maxx], [miny, maxy])
    return [[float(lat[0]), float(lon[0])], [float(lat[1]), float(lon[1])]]
