"""The national gemeente map in a real browser: all 342 real CBS gemeenten drawn, the
attribution visible, the table beside it, nothing requested from outside localhost (the
``page`` fixture aborts and records every such request) and no axe violation (WCAG 2.0/2.1 A,
AA). The app serves regional maps; this is the map ``stek map supply`` writes for a national
database, built here from the shipped CBS file (standalone: scripts and styles inlined)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.cbs import ATTRIBUTION, N_GEMEENTEN, read_gemeenten
from maps.data import AreaShape, Measure, SupplyMapData
from maps.supply import build_supply_map, render_html
from tests.e2e.conftest import Server, shot

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _national_html() -> str:
    areas = tuple(
        AreaShape(g.code, g.name, "gemeente", g.code, g.geometry) for g in read_gemeenten()
    )
    data = SupplyMapData(
        title="Plaatsen per gemeente (synthetische waarden)",
        level="gemeente",
        areas=areas,
        measures=(
            Measure("places", "Plaatsen totaal", {a.code: i % 17 for i, a in enumerate(areas)}),
        ),
        attribution=(ATTRIBUTION,),
    )
    return render_html(build_supply_map(data), standalone=True)


def test_national_map_draws_every_gemeente_offline_and_passes_axe(
    page: Any, server: Server
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.set_content(_national_html(), wait_until="load")
    page.wait_for_selector(".leaflet-overlay-pane path")
    drawn = page.locator(".leaflet-overlay-pane path.leaflet-interactive").count()
    assert drawn >= N_GEMEENTEN == 342  # islands add parts, never fewer than the gemeenten
    assert page.locator(".stek-panel tbody tr").count() == N_GEMEENTEN
    assert ATTRIBUTION in page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator(".leaflet-control-layers-expanded").count() == 0  # folded
    assert page.locator(".leaflet-control-scale-line").inner_text().endswith(("km", "m"))
    # 342 names would be a wall at the national zoom: labels wait until zoom 9
    assert page.locator(".stek-labels-off").count() == 1
    shot(page, "map-national")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
             .violations.map(v => v.id + ': ' + v.nodes.length)""",
        WCAG_TAGS,
    )
    assert found == []
