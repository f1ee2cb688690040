"""The regisseur's map: candidate options, the young person's anchors and no-go areas.

The no-go overlay is drawn only when the data carries it; the service gives it to the youth's own
regisseur alone (no-go areas are the most sensitive data stek holds).
"""

from __future__ import annotations

import folium
import shapely

from maps import colours
from maps.assets import STATIC_URL, localise
from maps.colours import describe
from maps.data import OptionsMapData
from maps.elements import AreaLayer, Frame, Legend, PointLayer, add_runtime
from maps.geo import (
    DEFAULT_PRECISION,
    DEFAULT_TOLERANCE_M,
    bounds_wgs84,
    point_to_wgs84,
    rd_to_wgs84,
    simplify_rd,
)
from maps.supply import _add_options, add_background, add_labels, area_label
from maps.table import options_keys, options_table, panel

NO_GO_STYLE = {
    "color": colours.NO_GO,
    "weight": 2.5,
    "dashArray": "6 4",
    "fillColor": colours.NO_GO,
    "fillOpacity": 0.35,
}


def build_options_map(
    data: OptionsMapData,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    precision: int = DEFAULT_PRECISION,
    base_url: str = STATIC_URL,
) -> folium.Map:
    """Gemeenten as the base, options clustered, anchors as markers, no-go areas hatched red."""
    m = folium.Map(
        location=None,
        tiles=None,
        control_scale=False,
        zoom_control=False,
        maxZoom=18,
        minZoom=6,
        zoom_snap=0.25,
    )
    add_runtime(m.get_root())  # type: ignore[arg-type]
    name = m.get_name()
    add_background(m, data.background, tolerance_m, precision)
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
            anchors.append((round(lat, 6), round(lon, 6), colours.ANCHOR, a.label, (a.label,)))
        PointLayer(anchors, "Ankerpunten (school, werk, netwerk)", cluster=False, radius=9).add_to(
            m
        )
    add_labels(m, data.areas)
    Frame(data.title, data.attribution).add_to(m)
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    keys = options_keys(data)
    Legend(base, keys).add_to(m)
    m.get_root().stek_panel = panel(  # type: ignore[attr-defined]
        data.title, describe(keys), options_table(data), data.attribution
    )
    pts = [a.geometry for a in data.areas]
    m.fit_bounds(bounds_wgs84(pts))
    if data.options or data.anchors:
        coords = [(o.x, o.y) for o in data.options] + [(a.x, a.y) for a in data.anchors]
        hull = shapely.buffer(shapely.multipoints(coords), 1500.0)
        m.fit_bounds(bounds_wgs84([hull]))
    localise(m.get_root(), base_url)
    return m
