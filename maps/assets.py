"""Offline assets: every script and style a map needs comes from the app, never from a CDN.

folium takes asset URLs from the class attributes ``default_js`` / ``default_css`` of the map and
each plugin. :func:`localise` walks a finished figure and points every asset it knows at the
vendored copy under ``api/static/vendor`` (Leaflet 1.9.4 and Leaflet.markercluster 1.5.3 from npm,
with their licences); assets the maps do not use (jQuery, Bootstrap, Font Awesome,
awesome-markers) are dropped. An asset it does not know is an error, so a new plugin cannot
quietly pull a CDN URL into a page.

Two ways to ship: ``base_url="/static/vendor"`` for pages the app serves, or :func:`inline_assets`
for a standalone file (``stek map supply``): scripts and styles are copied into the HTML, the
Leaflet control images become data: URLs, and the file opens anywhere without a network.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from branca.element import Element

VENDOR_DIR = Path(__file__).resolve().parent.parent / "api" / "static" / "vendor"
STATIC_URL = "/static/vendor"

# folium asset name -> path under VENDOR_DIR (None: not needed by stek's maps, dropped)
ASSETS: dict[str, str | None] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
    "jquery": None,
    "bootstrap": None,
    "awesome_markers": None,
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
}


class UnknownAsset(LookupError):
    """A map element asks for a script or style stek has not vendored."""


def _walk(element: Element) -> list[Element]:
    found = [element]
    for child in list(element._children.values()):
        found.extend(_walk(child))
    return found


def _local(pairs: list[tuple[str, str]], base_url: str, owner: str) -> list[tuple[str, str]]:
    out = []
    for name, url in pairs:
        if url.startswith(base_url + "/"):
            out.append((name, url))
            continue
        if name not in ASSETS:
            raise UnknownAsset(f"{owner}: asset {name!r} ({url}) is niet lokaal beschikbaar")
        path = ASSETS[name]
        if path is not None:
            out.append((name, f"{base_url}/{path}"))
    return out


def localise(root: Element, base_url: str = STATIC_URL) -> Element:
    """Point every asset of ``root`` and its children at ``base_url`` (in place)."""
    for element in _walk(root):
        js = getattr(element, "default_js", None)
        css = getattr(element, "default_css", None)
        owner = type(element).__name__
        if js:
            element.default_js = _local(list(js), base_url, owner)  # type: ignore[attr-defined]
        if css:
            element.default_css = _local(list(css), base_url, owner)  # type: ignore[attr-defined]
    return root


def _data_url(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def inline_assets(html: str, base_url: str = STATIC_URL, vendor_dir: Path = VENDOR_DIR) -> str:
    """Replace scripts and stylesheets under ``base_url`` by their content (a standalone file)."""
    prefix = re.escape(base_url.rstrip("/") + "/")

    def file_for(rel: str) -> Path:
        path = (vendor_dir / rel).resolve()
        if vendor_dir.resolve() not in path.parents or not path.is_file():
            raise UnknownAsset(f"{rel} staat niet in {vendor_dir}")
        return path

    def script(match: re.Match[str]) -> str:
        code = file_for(match.group(1)).read_text(encoding="utf-8")
        return "<script>" + code.replace("</script", "<\\/script") + "</script>"

    def style(match: re.Match[str]) -> str:
        path = file_for(match.group(1))
        css = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
        # images referenced by the stylesheet (Leaflet's layer and marker icons) become data: URLs
        css = re.sub(
            r"url\((images/[\w.-]+\.png)\)",
            lambda m: f"url({_data_url(path.parent / m.group(1))})",
            css,
        )
        return "<style>" + css + "</style>"

    html = re.sub(rf'<script src="{prefix}([^"]+)"></script>', script, html)
    return re.sub(rf'<link rel="stylesheet" href="{prefix}([^"]+)"/>', style, html)
