"""folium elements for stek's maps: area layers with precomputed GeoJSON, legend, month slider.

folium's ``GeoJson`` calls a Python style function per feature and embeds one style per feature;
with 14,000 buurten that is slow and large. ``AreaLayer`` embeds one compact FeatureCollection
whose features carry a value (or one value per projection month) and styles them in the browser
from one colour scale. A small runtime (``window.stek``) shared by every layer of a page keeps
the selected month per map, restyles the layers when the month slider moves, and swaps the legend
when another base layer is chosen.

Every constructor here takes plain text and escapes it with ``maps.text.html_text`` (names,
titles, labels, tooltips, popups, layer names): this is the one place text enters a map document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from maps.colours import MapKey
from maps.geo import feature_collection
from maps.text import html_text, html_texts, script_json, script_safe

RUNTIME_JS = """
window.stek = window.stek || (function () {
  var s = {month: {}, layers: {}, legends: {}, labels: {}};
  // every text in a map document arrives HTML-escaped (maps.text.html_text): insert it as HTML
  s.put = function (el, html) { el.innerHTML = html; return el; };
  s.fmt = function (v, none) {
    if (v === null || v === undefined) { return none || "geen gegevens"; }
    return Number(v).toLocaleString("nl-NL", {maximumFractionDigits: 1});
  };
  s.value = function (layer, f) {
    var v = f.properties.v;
    if (Array.isArray(v)) { return v[s.month[layer.stekMap] || 0]; }
    return v;
  };
  s.colour = function (cfg, v) {
    if (v === null || v === undefined) { return cfg.none; }
    for (var i = 0; i < cfg.bins.length; i++) { if (v < cfg.bins[i]) { return cfg.colours[i]; } }
    return cfg.colours[cfg.colours.length - 1];
  };
  s.style = function (layer, f) {
    var cfg = layer.stek;
    if (cfg.fixed) { return cfg.fixed; }
    return {fillColor: s.colour(cfg, s.value(layer, f)), fillOpacity: 0.75,
            color: "#3d434a", weight: cfg.weight, opacity: 0.9};
  };
  s.tip = function (layer, f) {
    var p = f.properties, cfg = layer.stek, div = document.createElement("div");
    div.appendChild(s.put(document.createElement("strong"), p.n));
    if (!cfg.fixed) {
      div.appendChild(document.createElement("br"));
      var label = cfg.title + ": " + s.fmt(s.value(layer, f), cfg.noneLabel);
      if (cfg.monthly && s.labels[layer.stekMap]) {
        label += " (" + s.labels[layer.stekMap][s.month[layer.stekMap] || 0] + ")";
      }
      div.appendChild(s.put(document.createElement("span"), label));
    }
    return div;
  };
  s.register = function (mapName, layer) {
    layer.stekMap = mapName;
    (s.layers[mapName] = s.layers[mapName] || []).push(layer);
  };
  s.setMonth = function (mapName, i) {
    s.month[mapName] = i;
    (s.layers[mapName] || []).forEach(function (l) {
      if (l.stek.monthly) { l.setStyle(function (f) { return s.style(l, f); }); }
    });
    // the table beside the map (maps.table) shows the same month
    document.querySelectorAll("[data-series]").forEach(function (td) {
      td.textContent = td.getAttribute("data-series").split("|")[i];
    });
    if (s.labels[mapName]) {
      document.querySelectorAll(".stek-month-label").forEach(function (el) {
        s.put(el, s.labels[mapName][i]);
      });
    }
  };
  return s;
})();
"""

RUNTIME_CSS = """
.stek-legend, .stek-slider { background: #fff; color: #1b1f24; padding: 8px 10px;
  border: 1px solid #6b7785; border-radius: 4px; font: 14px/1.4 system-ui, sans-serif; }
.stek-legend h2, .stek-slider label { font-size: 14px; font-weight: 700; margin: 0 0 4px;
  display: block; }
.stek-legend ul { list-style: none; margin: 0; padding: 0; }
.stek-legend li { display: flex; align-items: center; gap: 6px; }
.stek-legend .swatch { width: 18px; height: 14px; border: 1px solid #3d434a;
  display: inline-block; }
.stek-slider input { width: 220px; }
.stek-slider output { display: block; font-variant-numeric: tabular-nums; }
.stek-slider input:focus { outline: 3px solid #f0b400; outline-offset: 2px; }
.leaflet-container:focus { outline: 3px solid #f0b400; outline-offset: -3px; }
.leaflet-container a:focus, .leaflet-container input:focus, .leaflet-container label:focus {
  outline: 3px solid #f0b400; outline-offset: 1px; }
.stek-title { background: #fff; padding: 4px 10px; border: 1px solid #6b7785; border-radius: 4px;
  font: 700 15px/1.4 system-ui, sans-serif; color: #1b1f24; max-width: 60vw; margin: 0; }
.stek-legend .dot { width: 14px; height: 14px; border-radius: 50%; border: 1.5px solid #1b1f24;
  display: inline-block; }
.stek-legend .line { width: 18px; height: 0; border-top: 3px solid; display: inline-block; }
.stek-legend .hatch { width: 18px; height: 14px; display: inline-block; border: 2px dashed; }
.stek-label { background: transparent; border: 0; box-shadow: none; }
.stek-labels-off .stek-label { display: none; }
.stek-label span { display: inline-block; transform: translate(-50%, -50%); white-space: nowrap;
  font: 600 13px/1.2 system-ui, sans-serif; color: #1b1f24; padding: 0 3px;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; pointer-events: none; }
.stek-cluster { background: transparent; }
.stek-cluster div { width: 34px; height: 34px; border-radius: 50%; color: #fff;
  border: 2px solid #1b1f24; font: 700 13px/30px system-ui, sans-serif; text-align: center; }
body.stek-doc .leaflet-container { background: #dfe8ee; }
.leaflet-control-attribution { font-size: 12px; color: #1b1f24; background: rgba(255,255,255,.9);
  max-width: 70%; }
.leaflet-control-scale-line { color: #1b1f24; }
body.stek-doc { display: flex; flex-wrap: wrap; align-items: stretch; }
body.stek-doc .folium-map { position: relative !important; left: 0 !important; top: 0 !important;
  width: auto !important; height: 100vh !important; flex: 1 1 560px; min-width: 0; }
body.stek-doc.stek-compare .folium-map { flex: 1 1 320px; }
.stek-panel { flex: 0 1 30rem; height: 100vh; overflow: auto; box-sizing: border-box;
  padding: 8px 12px; font: 14px/1.4 system-ui, sans-serif; color: #1b1f24; background: #fff;
  border-left: 1px solid #6b7785; }
body.stek-compare .stek-panel { flex: 1 1 100%; height: auto; border-left: 0;
  border-top: 1px solid #6b7785; }
.stek-panel:focus { outline: 3px solid #f0b400; outline-offset: -3px; }
.stek-panel h2 { font-size: 15px; margin: 4px 0 6px; }
.stek-panel p { margin: 0 0 8px; }
.stek-panel table { border-collapse: collapse; width: 100%; }
.stek-panel caption { text-align: left; font-weight: 700; padding: 4px 0; }
.stek-panel th, .stek-panel td { border-bottom: 1px solid #c6ccd2; padding: 3px 4px;
  text-align: left; vertical-align: top; }
.stek-panel td.num, .stek-panel th.num { text-align: right; font-variant-numeric: tabular-nums; }
.stek-panel .source { font-size: 12px; margin-top: 8px; }
.stek-panel table + table { margin-top: 12px; }
.stek-panel tbody th[scope=rowgroup] { border-bottom: 1px solid #6b7785; }
"""


def add_runtime(figure: Figure) -> None:
    """Add the shared runtime script and styles to ``figure`` (once, by name)."""
    figure.header.add_child(Element(f"<style>{RUNTIME_CSS}</style>"), name="stek_runtime_css")
    figure.header.add_child(Element(f"<script>{RUNTIME_JS}</script>"), name="stek_runtime_js")


class AreaLayer(Layer):
    """Areas as one compact GeoJSON FeatureCollection (``properties.n`` name, ``.v`` value).

    ``geometries`` are in WGS84, one ``labels`` text (and, for a choropleth, one ``values``
    entry: a number or one per month) each. ``scale`` is ``{"title", "bins", "colours", "none",
    "labels", "monthly"}`` (see ``maps.colours``), or ``fixed`` a Leaflet path style for outline
    and overlay layers.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data }}, {
            interactive: {{ this.interactive_js }},
            onEachFeature: function (feature, layer) {
                {%- if this.interactive %}
                layer.bindTooltip(function () {
                    return stek.tip({{ this.get_name() }}, feature);
                }, {sticky: true});
                {%- endif %}
            }
        });
        {{ this.get_name() }}.stek = {{ this.config }};
        stek.register({{ this.map_name | tojson }}, {{ this.get_name() }});
        {{ this.get_name() }}.setStyle(function (f) {
            return stek.style({{ this.get_name() }}, f);
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        geometries: NDArray[np.object_] | Sequence[BaseGeometry],
        labels: Sequence[str],
        name: str,
        map_name: str,
        values: Sequence[Any] | None = None,
        scale: dict[str, Any] | None = None,
        fixed: dict[str, Any] | None = None,
        overlay: bool = False,
        show: bool = True,
        weight: float = 0.6,
        interactive: bool = True,
        control: bool = True,
    ) -> None:
        super().__init__(name=html_text(name), overlay=overlay, control=control, show=show)
        self._name = "AreaLayer"
        if values is not None and len(values) != len(labels):
            raise ValueError("AreaLayer: evenveel waarden als gebieden nodig")
        props: list[dict[str, Any]] = [{"n": html_text(label)} for label in labels]
        for p, v in zip(props, values or (), strict=False):
            p["v"] = list(v) if isinstance(v, (list, tuple)) else v
        self.data = script_safe(feature_collection(geometries, props))
        self.map_name = map_name
        self.interactive = interactive
        self.interactive_js = "true" if interactive else "false"
        config: dict[str, Any] = dict(scale or {})
        config["weight"] = weight
        if fixed is not None:
            config["fixed"] = fixed
        config["title"] = html_text(config.get("title", name))
        if "labels" in config:
            config["labels"] = html_texts(config["labels"])
        if "noneLabel" in config:
            config["noneLabel"] = html_text(config["noneLabel"])
        self.config = script_json(config)


class Legend(MacroElement):
    """The legend: the colour scale of the active base layer (swapped when another is chosen)
    and a key of the markers and overlays on the map (``keys``: colour, label, shape).

    Placed top right *after* the layer control, so Leaflet stacks it below the control: it can
    never cover it, however far the control unfolds. Also gives the layer control's toggle a
    Dutch name ("Kaartlagen"), as the legend is added after it.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, keys = {{ this.keys }};
            var toggle = map.getContainer().querySelector(".leaflet-control-layers-toggle");
            if (toggle) {
                toggle.title = "Kaartlagen kiezen";
                toggle.setAttribute("aria-label", "Kaartlagen kiezen");
            }
            var legend = L.control({position: "topright"});
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "stek-legend");
                div.setAttribute("role", "region");
                div.setAttribute("aria-label", "Legenda");
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            function item(ul, kind, colour, text) {
                var li = document.createElement("li"), sw = document.createElement("span");
                sw.className = kind;
                if (kind === "hatch" || kind === "line") { sw.style.borderColor = colour; }
                else { sw.style.background = colour; }
                li.appendChild(sw);
                li.appendChild(stek.put(document.createElement("span"), text));
                ul.appendChild(li);
            }
            legend.show = function (cfg) {
                var div = legend.getContainer();
                div.textContent = "";
                var scale = cfg && !cfg.fixed;
                if (!scale && !keys.length) { div.style.display = "none"; return; }
                div.style.display = "";
                if (scale) {
                    div.appendChild(stek.put(document.createElement("h2"), cfg.title));
                    var ul = document.createElement("ul");
                    cfg.labels.forEach(function (text, i) {
                        item(ul, "swatch", cfg.colours[i], text);
                    });
                    item(ul, "swatch", cfg.none, cfg.noneLabel || "geen gegevens");
                    div.appendChild(ul);
                }
                if (keys.length) {
                    if (!scale) {
                        div.appendChild(stek.put(document.createElement("h2"), "Legenda"));
                    }
                    var kl = document.createElement("ul");
                    keys.forEach(function (k) { item(kl, k[2], k[0], k[1]); });
                    div.appendChild(kl);
                }
            };
            legend.addTo(map);
            legend.show({{ this.first }}.stek);
            map.on("baselayerchange", function (e) { legend.show(e.layer.stek); });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, first_layer: AreaLayer, keys: Sequence[MapKey] = ()) -> None:
        super().__init__()
        self._name = "Legend"
        self.first = first_layer.get_name()
        self.keys = script_json([[k.colour, html_text(k.label), k.shape] for k in keys])


class Frame(MacroElement):
    """The map's frame: title (top left, above the zoom buttons, so nothing covers it), zoom
    buttons with Dutch names, a metric scale bar, and the attribution of the boundaries."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, el = map.getContainer();
            var title = L.control({position: "topleft"});
            title.onAdd = function () {
                var t = stek.put(L.DomUtil.create("h1", "stek-title"), {{ this.title | tojson }});
                el.setAttribute("role", "region");
                el.setAttribute("aria-label", t.textContent);
                return t;
            };
            title.addTo(map);
            L.control.zoom({position: "topleft", zoomInTitle: "Inzoomen",
                            zoomOutTitle: "Uitzoomen"}).addTo(map);
            L.control.scale({position: "bottomleft", imperial: false, metric: true}).addTo(map);
            map.attributionControl.setPrefix(false);
            {{ this.attribution }}.forEach(function (a) {
                map.attributionControl.addAttribution(a);
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, attribution: Sequence[str] = ()) -> None:
        super().__init__()
        self._name = "Frame"
        self.title = html_text(title)
        self.attribution = script_json(html_texts(attribution))


class LabelLayer(Layer):
    """Area names as permanent labels (``(lat, lon, text)``), hidden below ``min_zoom``.

    Non-interactive, not focusable: the names are in the table beside the map as well.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup();
        (function () {
            // names above the markers (a cluster must not hide a gemeente's name)
            var map = {{ this._parent.get_name() }};
            if (!map.getPane("stekLabels")) {
                var pane = map.createPane("stekLabels");
                pane.style.zIndex = 640;
                pane.style.pointerEvents = "none";
            }
        })();
        {{ this.points }}.forEach(function (p) {
            var span = stek.put(document.createElement("span"), p[2]);
            L.marker([p[0], p[1]], {
                icon: L.divIcon({className: "stek-label", html: span, iconSize: null}),
                interactive: false, keyboard: false, pane: "stekLabels"
            }).addTo({{ this.get_name() }});
        });
        (function () {
            var map = {{ this._parent.get_name() }};
            function update() {
                map.getContainer().classList.toggle(
                    "stek-labels-off", map.getZoom() < {{ this.min_zoom }});
            }
            map.on("zoomend", update);
            map.whenReady(update);
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, points: Sequence[tuple[float, float, str]], name: str, min_zoom: int = 0
    ) -> None:
        super().__init__(name=html_text(name), overlay=True, control=True, show=True)
        self._name = "LabelLayer"
        self.points = script_json([[p[0], p[1], html_text(p[2])] for p in points])
        self.min_zoom = int(min_zoom)


class MonthSlider(MacroElement):
    """A keyboard-usable range input over the projection months; restyles monthly layers."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var maps = {{ this.maps }}, labels = {{ this.labels }};
            maps.forEach(function (m) { stek.labels[m] = labels; stek.month[m] = 0; });
            var control = L.control({position: "bottomleft"});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", "stek-slider");
                var label = document.createElement("label");
                label.htmlFor = {{ this.input_id | tojson }};
                stek.put(label, {{ this.title | tojson }});
                var input = document.createElement("input");
                input.type = "range"; input.min = 0; input.max = labels.length - 1; input.step = 1;
                input.value = 0; input.id = {{ this.input_id | tojson }};
                input.className = "stek-month";
                var out = document.createElement("output");
                out.htmlFor = input.id; stek.put(out, labels[0]);
                out.setAttribute("aria-live", "polite");
                input.setAttribute("aria-valuetext", out.textContent);
                input.addEventListener("input", function () {
                    var i = parseInt(input.value, 10);
                    stek.put(out, labels[i]);
                    input.setAttribute("aria-valuetext", out.textContent);
                    maps.forEach(function (m) { stek.setMonth(m, i); });
                });
                div.appendChild(label); div.appendChild(input); div.appendChild(out);
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self, labels: Sequence[str], map_names: Sequence[str], title: str = "Prognosemaand"
    ) -> None:
        super().__init__()
        self._name = "MonthSlider"
        self.labels = script_json(html_texts(labels))
        self.maps = script_json(list(map_names))
        self.title = html_text(title)
        self.input_id = f"{self.get_name()}_input"


class SyncViews(MacroElement):
    """Keep two maps at the same centre and zoom (side-by-side scenario comparison)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var a = {{ this.a }}, b = {{ this.b }}, busy = false;
            function follow(src, dst) {
                src.on("move", function () {
                    if (busy) { return; }
                    busy = true;
                    dst.setView(src.getCenter(), src.getZoom(), {animate: false});
                    busy = false;
                });
            }
            follow(a, b); follow(b, a);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, a: str, b: str) -> None:
        super().__init__()
        self._name = "SyncViews"
        self.a = a
        self.b = b


class PointLayer(JSCSSMixin, Layer):
    """Circle markers from one JSON array, optionally clustered (Leaflet.markercluster).

    Each point is ``(lat, lon, colour, tooltip, popup_lines)`` with plain texts; they are
    escaped here (``maps.text``), so a name from an import cannot inject markup.
    """

    # names resolved by maps.assets.localise to the vendored files
    default_js = [("markerclusterjs", "markercluster.js")]  # noqa: RUF012
    default_css = [  # noqa: RUF012
        ("markerclustercss", "MarkerCluster.css"),
        ("markerclusterdefaultcss", "MarkerCluster.Default.css"),
    ]

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {%- if this.cluster %}
        var {{ this.get_name() }} = L.markerClusterGroup({showCoverageOnHover: false,
            iconCreateFunction: function (c) {
                // clusters in the markers' own colour (the plugin's default is green/yellow)
                var d = document.createElement("div");
                d.style.background = {{ this.cluster_colour | tojson }};
                d.textContent = c.getChildCount();
                return L.divIcon({html: d, className: "stek-cluster", iconSize: L.point(34, 34)});
            }});
        {%- else %}
        var {{ this.get_name() }} = L.featureGroup();
        {%- endif %}
        {{ this.points }}.forEach(function (p) {
            var marker = L.circleMarker([p[0], p[1]], {radius: {{ this.radius }}, color: "#1b1f24",
                weight: 1.5, fillColor: p[2], fillOpacity: 0.95});
            marker.bindTooltip(p[3]);
            if (p[4] && p[4].length) {
                var div = document.createElement("div");
                p[4].forEach(function (line, i) {
                    if (i) { div.appendChild(document.createElement("br")); }
                    var el = document.createElement(i ? "span" : "strong");
                    div.appendChild(stek.put(el, line));
                });
                marker.bindPopup(div);
            }
            {{ this.get_name() }}.addLayer(marker);
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        points: Sequence[tuple[float, float, str, str, Sequence[str]]],
        name: str,
        cluster: bool = True,
        radius: float = 7,
        show: bool = True,
    ) -> None:
        super().__init__(name=html_text(name), overlay=True, control=True, show=show)
        self._name = "PointLayer"
        self.points = script_json(
            [[p[0], p[1], p[2], html_text(p[3]), html_texts(p[4])] for p in points]
        )
        self.cluster = cluster
        self.cluster_colour = points[0][2] if points else "#0b5cad"
        self.radius = radius
        if not cluster:
            self.default_js = []
            self.default_css = []
