"""Supply maps: choropleths per gemeente, wijk or buurt, a month slider, clustered options.

Pure builders: ``SupplyMapData`` in, a folium map (or a two-map figure) out, with every asset
pointing at the app (see ``maps.assets``) and no tile layer: the area polygons are the base.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

import folium
import shapely
from branca.element import Figure

from maps import colours
from maps.assets import STATIC_URL, inline_assets, localise
from maps.data import AreaShape, Measure, OptionPoint, SupplyMapData, Value
from maps.elements import (
    AreaLayer,
    Frame,
    LabelLayer,
    Legend,
    MonthSlider,
    PointLayer,
    SyncViews,
    add_runtime,
)
from maps.geo import (
    DEFAULT_PRECISION,
    DEFAULT_TOLERANCE_M,
    bounds_wgs84,
    point_to_wgs84,
    rd_to_wgs84,
    simplify_rd,
)
from maps.table import compare_table, panel, supply_hint, supply_keys, supply_table

NONCE = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
# folium's Map header sets maximum-scale=1 and user-scalable=no (one per map); people who
# enlarge text need zoom (WCAG 1.4.4), so render_html keeps a single viewport without limits.
FOLIUM_VIEWPORT = re.compile(r"\s*<meta name=\"viewport\"[^>]*>")
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'

MONTHS = (
    "jan",
    "feb",
    "mrt",
    "apr",
    "mei",
    "jun",
    "jul",
    "aug",
    "sep",
    "okt",
    "nov",
    "dec",
)


def month_label(d: date) -> str:
    return f"{MONTHS[d.month - 1]} {d.year}"


# The light base under every map: real gemeente polygons (no tiles), not in the layer control.
BACKGROUND_STYLE = {
    "color": "#a39e93",
    "weight": 0.8,
    "fillColor": "#f4f1ea",
    "fillOpacity": 1.0,
    "interactive": False,
}
# More labels than this are shown only from LABEL_MIN_ZOOM on (a national map at zoom 7 would
# be a wall of names).
MANY_LABELS = 40
LABEL_MIN_ZOOM = 9


def _first_month(data: SupplyMapData) -> str:
    return month_label(data.months[0]) if data.months else ""


def _blank_map(areas: Sequence[AreaShape]) -> folium.Map:
    m = folium.Map(
        location=None,
        tiles=None,
        maxZoom=18,
        minZoom=6,
        control_scale=False,  # Frame adds a metric one (folium's shows miles too)
        zoom_control=False,  # Frame adds it below the title, with Dutch names
        prefer_canvas=False,
        zoom_snap=0.25,  # fit the region closely (whole zoom steps leave it small)
    )
    m.fit_bounds(bounds_wgs84([a.geometry for a in areas]))
    return m


def add_background(
    m: folium.Map, background: Sequence[AreaShape], tolerance_m: float, precision: int
) -> None:
    """The light offline base: real gemeente polygons around the map's areas (no tiles)."""
    if not background:
        return
    geoms = rd_to_wgs84(simplify_rd([a.geometry for a in background], tolerance_m), precision)
    AreaLayer(
        geoms,
        [a.name for a in background],
        name="Achtergrond",
        map_name=m.get_name(),
        fixed=BACKGROUND_STYLE,
        interactive=False,
        control=False,
    ).add_to(m)


def add_labels(m: folium.Map, gemeenten: Sequence[AreaShape]) -> None:
    """Gemeente names as labels at a point inside each gemeente."""
    if not gemeenten:
        return
    inside = shapely.point_on_surface([a.geometry for a in gemeenten])
    points = []
    for a, p in zip(gemeenten, inside, strict=True):
        lat, lon = point_to_wgs84(p.x, p.y)
        points.append((round(lat, 6), round(lon, 6), a.name))
    min_zoom = LABEL_MIN_ZOOM if len(points) > MANY_LABELS else 0
    LabelLayer(points, "Gemeentenamen", min_zoom=min_zoom).add_to(m)


def _area_layer(
    areas: Sequence[AreaShape],
    values: dict[str, Value | Sequence[Value]] | None,
    tolerance_m: float,
    precision: int,
    **layer: Any,
) -> AreaLayer:
    """An ``AreaLayer`` of ``areas`` (labelled ``name (code)``), valued per area code or not."""
    geoms = rd_to_wgs84(simplify_rd([a.geometry for a in areas], tolerance_m), precision)
    labels = [area_label(a) for a in areas]
    per_area = None if values is None else [values.get(a.code) for a in areas]
    return AreaLayer(geoms, labels, values=per_area, **layer)


def area_label(area: AreaShape) -> str:
    return f"{area.name} ({area.code})"


def _flat(measure: Measure) -> list[Value]:
    out: list[Value] = []
    for v in measure.values.values():
        if isinstance(v, (list, tuple)):
            out.extend(v)
        else:
            out.append(v)  # type: ignore[arg-type]
    return out


def _add_options(m: folium.Map, options: Sequence[OptionPoint], name: str) -> None:
    if not options:
        return
    points = []
    for o in options:
        lat, lon = point_to_wgs84(o.x, o.y)
        points.append(
            (round(lat, 6), round(lon, 6), o.colour, f"{o.type_name} ({o.code})", o.lines)
        )
    PointLayer(points, name=name, cluster=True).add_to(m)


def _populate(
    m: folium.Map,
    data: SupplyMapData,
    scales: dict[str, dict[str, Any]],
    tolerance_m: float,
    precision: int,
    slider_maps: Sequence[str] | None,
) -> None:
    name = m.get_name()
    add_background(m, data.background, tolerance_m, precision)
    first: AreaLayer | None = None
    for i, measure in enumerate(data.measures):
        layer = _area_layer(
            data.areas,
            dict(measure.values),
            tolerance_m,
            precision,
            name=measure.title,
            map_name=name,
            scale=scales[measure.key],
            overlay=False,
            show=i == 0,
        )
        layer.add_to(m)
        first = first or layer
    if first is None:  # no measures: the areas alone
        first = _area_layer(
            data.areas,
            None,
            tolerance_m,
            precision,
            name="Gebieden",
            map_name=name,
            fixed={"color": "#3d434a", "weight": 1, "fillColor": "#eef1f4", "fillOpacity": 0.6},
        )
        first.add_to(m)
    if data.outlines:
        _area_layer(
            data.outlines,
            None,
            tolerance_m,
            precision,
            name="Gemeentegrenzen",
            map_name=name,
            fixed={"color": "#1b1f24", "weight": 2.5, "fill": False},
            overlay=True,
            interactive=False,
        ).add_to(m)
    add_labels(m, data.areas if data.level == "gemeente" else data.outlines)
    _add_options(m, data.options, "Woonplekken")
    Frame(data.title, data.attribution).add_to(m)
    if data.months and slider_maps and any(x.monthly for x in data.measures):
        MonthSlider([month_label(d) for d in data.months], slider_maps).add_to(m)
    # the control first, then the legend: both top right, so Leaflet stacks the legend below
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    Legend(first, supply_keys(data)).add_to(m)


def _scales(datasets: Sequence[SupplyMapData]) -> dict[str, dict[str, Any]]:
    """One colour scale per measure key over every dataset, so side-by-side maps compare."""
    out: dict[str, dict[str, Any]] = {}
    for data in datasets:
        for measure in data.measures:
            same = [x for d in datasets for x in d.measures if x.key == measure.key]
            values = [v for x in same for v in _flat(x)]
            out.setdefault(
                measure.key,
                colours.scale(
                    measure.title,
                    values,
                    measure.higher_is_worse,
                    measure.monthly,
                    measure.none_label,
                ),
            )
    return out


def build_supply_map(
    data: SupplyMapData,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    precision: int = DEFAULT_PRECISION,
    base_url: str = STATIC_URL,
) -> folium.Map:
    """A choropleth map: one base layer per measure, a legend, a month slider, option markers."""
    m = _blank_map(data.areas)
    add_runtime(m.get_root())  # type: ignore[arg-type]
    _populate(m, data, _scales([data]), tolerance_m, precision, [m.get_name()])
    root = m.get_root()
    root.stek_panel = panel(  # type: ignore[attr-defined]
        data.title, supply_hint(data), supply_table(data, _first_month(data)), data.attribution
    )
    localise(root, base_url)
    return m


def build_compare_map(
    a: SupplyMapData,
    b: SupplyMapData,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    precision: int = DEFAULT_PRECISION,
    base_url: str = STATIC_URL,
) -> Figure:
    """Two scenarios side by side: same colour scales, views kept in step, one month slider."""
    figure = Figure()
    add_runtime(figure)
    left = _blank_map(a.areas)
    right = _blank_map(b.areas)
    figure.add_child(left)
    figure.add_child(right)
    scales = _scales([a, b])
    names = [left.get_name(), right.get_name()]
    _populate(left, a, scales, tolerance_m, precision, names)
    _populate(right, b, scales, tolerance_m, precision, None)
    figure.add_child(SyncViews(left.get_name(), right.get_name()))
    # SyncViews is a figure child: its script needs the maps, which render before it
    figure.stek_panel = panel(  # type: ignore[attr-defined]
        "Scenario's naast elkaar",
        supply_hint(a),
        compare_table(a, b, _first_month(a)),
        a.attribution,
    )
    figure.stek_compare = True  # type: ignore[attr-defined]
    localise(figure, base_url)
    return figure


def render_html(
    element: folium.Map | Figure, standalone: bool = False, nonce: str | None = None
) -> str:
    """The page as HTML (``lang="nl"``); ``standalone`` inlines every script and style.

    ``nonce`` (the response's Content-Security-Policy nonce, see ``api.headers``) is set on every
    ``<script>`` and ``<style>`` element of the document, which are all stek's and folium's own:
    texts from data are escaped (``maps.text``), so none can open an element of its own.
    """
    root = element.get_root()
    html = root.render()
    html = html.replace("<html>", '<html lang="nl">', 1)
    # the table beside the map (maps.table) and the flex layout that puts it there
    body = "stek-doc stek-compare" if getattr(root, "stek_compare", False) else "stek-doc"
    html = html.replace("<body>", f'<body class="{body}">', 1)
    stek_panel = getattr(root, "stek_panel", "")
    if stek_panel:
        head, sep, tail = html.rpartition("</body>")
        html = head + stek_panel + "\n" + sep + tail if sep else html
    title = "stek-kaart"
    html = FOLIUM_VIEWPORT.sub("", html)
    html = html.replace("<head>", f"<head>\n    <title>{title}</title>\n    {VIEWPORT}", 1)
    if standalone:
        html = inline_assets(html)
    if nonce is not None:
        if not NONCE.fullmatch(nonce):
            raise ValueError("nonce: alleen letters, cijfers, -, _, + en / (base64)")
        html = re.sub(r"<(script|style)(?=[\s>])", rf'<\1 nonce="{nonce}"', html)
    return html
