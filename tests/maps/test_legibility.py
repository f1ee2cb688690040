"""Legible maps (issue 16 item 4) and their text alternative (item 3), from the built HTML."""

from __future__ import annotations

import re

import pytest
from shapely.geometry import box

from fixtures.cbs import ATTRIBUTION
from maps.colours import MapKey, describe
from maps.data import Anchor, AreaShape, NoGoShape, OptionPoint, OptionsMapData
from maps.options import build_options_map
from maps.supply import build_compare_map, build_supply_map, render_html


def _load_test_maps():  # type: ignore[no-untyped-def]
    """The fixtures of test_maps.py, loaded by path (tests is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("test_maps.py")
    spec = importlib.util.spec_from_file_location("stek_test_maps_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helpers = _load_test_maps()
areas, external_urls, supply_data = _helpers.areas, _helpers.external_urls, _helpers.supply_data


def _with_frame(data, **extra):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    background = (AreaShape("GM9999", "Buurgemeente", "gemeente", "GM9999", box(0, 0, 1, 1)),)
    return replace(data, attribution=(ATTRIBUTION,), background=background, **extra)


def test_supply_map_controls_are_legible() -> None:
    html = render_html(build_supply_map(_with_frame(supply_data())))
    assert '"collapsed": true' in html  # the layer control stays folded
    assert "imperial: false" in html and "L.control.scale()" not in html  # metric only
    assert 'zoomInTitle: "Inzoomen"' in html
    # the legend is added after the layer control, both top right: Leaflet stacks it below
    assert html.index("L.control.layers(") < html.index('L.control({position: "topright"})')
    assert 'position: "bottomright"' not in html
    assert ATTRIBUTION in html and "addAttribution" in html
    assert "Achtergrond" in html  # the light base of real gemeenten, no tiles
    assert "tileLayer" not in html and external_urls(html) == set()
    assert "user-scalable=no" not in html and "maximum-scale" not in html


def test_gemeente_names_are_labels() -> None:
    html = render_html(build_supply_map(supply_data()))
    for a in areas():
        assert f'"{a.name}"]' in html  # a label point [lat, lon, name]
    assert "stek-label" in html


def test_supply_table_beside_the_map_lists_every_area_and_month_value() -> None:
    html = render_html(build_supply_map(supply_data()))
    panel = html[html.index('<section class="stek-panel"') :]
    assert 'tabindex="0"' in panel and "<caption>" in panel
    for a in areas():
        assert f"{a.name} ({a.code})" in panel
    # the monthly column starts at the first month and carries the series the slider shows
    assert '<span class="stek-month-label">jan 2027</span>' in panel
    assert 'data-series="0|2|4"' in panel
    # places per woonvorm: a table of its own, one row per area and type (it fits the panel)
    types = panel[panel.index("<caption>Plaatsen per woonvorm</caption>") :]
    assert '<td>Kamers met Aandacht</td><td class="num">3</td>' in types
    assert types.count('scope="rowgroup"') + types.count("<td>geen</td>") == len(areas())
    assert panel.index("</section>") < panel.index("</body>")


def test_compare_panel_names_both_scenarios() -> None:
    from dataclasses import replace

    a = replace(supply_data(), scenario="Basis")
    b = replace(supply_data(shift=10), scenario="Instroom +20 %")
    html = render_html(build_compare_map(a, b))
    assert 'class="stek-doc stek-compare"' in html
    assert "Tekort · Basis" in html and "Tekort · Instroom +20 %" in html
    assert html.count('L.DomUtil.create("h1", "stek-title")') == 2  # a title on each map


def test_options_hint_names_the_colours_drawn() -> None:
    data = OptionsMapData(
        title="Woonplekken voor J-1",
        areas=areas(2),
        options=(OptionPoint("OPT-1", "KmA", 151000, 411000, ("KmA", "x")),),
        anchors=(Anchor("school", 151500, 411500),),
        no_go=(NoGoShape("Eigen gebied", box(152000, 410000, 152500, 410500)),),
    )
    html = render_html(build_options_map(data))
    hint = re.search(r'<p class="stek-hint">(.*?)</p>', html)
    assert hint is not None
    assert hint.group(1) == (
        "Woonplekken: blauwe stippen; Ankerpunten (school, werk, netwerk): gele stippen; "
        "No-go-gebieden: rood gestreept."
    )
    # clusters take the markers' colour, not the plugin's green default
    assert 'd.style.background = "#0b5cad"' in html


def test_a_colour_without_a_dutch_name_is_refused() -> None:
    with pytest.raises(ValueError, match="geen Nederlandse naam"):
        describe([MapKey("#00ff00", "Iets")])
