"""Geometry as stored: WKB bytes in RD New (EPSG:28992)."""

from __future__ import annotations

import shapely
from shapely.geometry.base import BaseGeometry

RD_NEW = "EPSG:28992"
WGS84 = "EPSG:4326"


def to_wkb(geom: BaseGeometry) -> bytes:
    return bytes(shapely.to_wkb(geom, hex=False))


def from_wkb(data: bytes) -> BaseGeometry:
    return shapely.from_wkb(data)
