"""The regisseur's map: candidate options, the young person's anchors and no-go areas.

The no-go overlay is drawn only when the data carries it; the service gives it to the youth's own
regisseur alone (no-go areas are the most sensitive data stek holds).
"""

from __future__ import annotations

import folium

from maps.assets import STATIC_URL, localise
from maps.data import OptionsMapData
from maps.elements import AreaLayer, Legend, PointLayer, Title, add_runtime
from maps.geo import (
    DEFAULT_PRECISION,
    DEFAULT_TOLERANCE_M,
    bounds_wgs84,
    point_to_wgs84,
    rd_to_wgs84,
    simplify_rd,
)
from maps.supply import _add_options, area_label

NO_GO_STYLE = {
    "color": "#a4000f",
    "weight": 2.5,
    "dashArray": "6 4",
    "fillColor": "#a4000f",
    "fillOpacity": 0.35,
}


def build_options_map(
    data: OptionsMapData,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    precision: int = DEFAULT_PRECISION,
    base_url: str = STATIC_URL,
) -> folium.Map:
    """Gemeenten as the base, options clustered, anchors as markers, no-go areas hatched red."""
    m = folium.Map(location=None, tiles=None, control_scale=True, maxZoom=18, minZoom=6)
    add_runtime(m.get_root())  # type: ignore[arg-type]
    name = m.get_name()
    geoms = rd_to_wgs84(simplify_rd([a.geometry for a in data.areas], tolerance_m), precision)
    base = AreaLayer(
        geoms,
        [area_label(a) for a in data.areas],
        name="Gemeenten",
        map_name=name,
        fixed={"color": "#3d434a", "weight": 1.2, "fillColor": "#eef1f4", "fillOpacity": 0.7},
    )
    base.add_to(m)
    if data.no_go:
        ng = rd_to_wgs84(simplify_rd([n.geometry for n in data.no_go], 5.0), precision)
        AreaLayer(
            ng,
            [f"No-go: {n.label}" for n in data.no_go],
            name="No-go-gebieden",
            map_name=name,
            fixed=NO_GO_STYLE,
            overlay=True,
        ).add_to(m)
    _add_options(m, data.options, "Woonplekken")
    if data.anchors:
        anchors = []
        for a in data.anchors:
            lat, lon = point_to_wgs84(a.x, a.y)
            anchors.append((round(lat, 6), round(lon, 6), "#f0b400", a.label, (a.label,)))
        PointLayer(anchors, "Ankerpunten (school, werk, netwerk)", cluster=False, radius=9).add_to(
            m
        )
    Legend(base).add_to(m)
    Title(data.title).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    pts = [a.geometry for a in data.areas]
    m.fit_bounds(bounds_wgs84(pts))
    if data.options or data.anchors:
        import shapely

        coords = [(o.x, o.y) for o in data.options] + [(a.x, a.y) for a in data.anchors]
        hull = shapely.buffer(shapely.multipoints(coords), 1500.0)
        m.fit_bounds(bounds_wgs84([hull]))
    localise(m.get_root(), base_url)
    return m
