"""The planner's fan charts in Chromium: inline SVG that draws, each named for a screen reader,
a breakdown picked with the form, a comparison, and the CSV behind a chart downloaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS, Server, login, shot

pytestmark = pytest.mark.browser

NAMES = """() => [...document.querySelectorAll('figure.chart svg')].map(svg => {
  const ids = (svg.getAttribute('aria-labelledby') || '').split(' ');
  const box = svg.getBoundingClientRect();
  return {
    name: ids.map(id => (document.getElementById(id) || {}).textContent || '').join(' '),
    desc: (document.getElementById(svg.getAttribute('aria-describedby')) || {}).textContent,
    width: box.width, height: box.height, paths: svg.querySelectorAll('path').length,
  };
})"""


def _charts_shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#grafieken-kop").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_planner_charts_draw_are_named_and_switch_breakdown(page: Any, server: Server) -> None:
    login(page, server, "planner1@demo.stek.invalid")
    page.goto(f"{server.url}/planner")
    charts = page.evaluate(NAMES)
    assert len(charts) >= 4
    for chart in charts:
        assert chart["name"].startswith(("Tekort", "Contingent over")), chart["name"]
        assert "mediaan" in chart["desc"] and "simulaties" in chart["desc"]
        assert chart["width"] > 250 and chart["height"] > 100
        assert chart["paths"] >= 2  # a band and a median line
    _charts_shot(page, "planner-charts")
    shot(page, "planner-charts-full")

    page.get_by_label("Grafieken", exact=True).select_option("woonvorm")
    page.get_by_role("button", name="Toon grafieken").click()
    page.wait_for_load_state()
    assert "grafieken=woonvorm" in page.url
    captions = page.locator("figure.chart figcaption").all_inner_texts()
    assert any(c.startswith("Tekort") and "Kamers met Aandacht" in c for c in captions)

    with page.expect_download() as info:
        page.locator("figure.chart a", has_text="Cijfers (CSV)").first.click()
    body = Path(info.value.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbfuitkomst;niveau;code;naam;maand;reeks")


def test_planner_charts_compare_two_scenarios(page: Any, server: Server) -> None:
    login(page, server, "planner1@demo.stek.invalid")
    page.goto(f"{server.url}/planner?scenario=instroom-plus-20&vergelijk=base")
    assert page.locator("figure.chart svg [stroke-dasharray]").count() > 0
    assert page.get_by_role("heading", name="Verschil tussen de scenario's").is_visible()
    differences = page.locator("figure.chart figcaption", has_text="Verschil in")
    assert differences.count() == 2
    _charts_shot(page, "planner-charts-compare")
    page.get_by_role("heading", name="Verschil tussen de scenario's").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "planner-charts-difference.png"))


def test_corporation_sees_its_own_contingent_chart(page: Any, server: Server) -> None:
    login(page, server, server.corporation_email)
    page.goto(f"{server.url}/planner")
    captions = page.locator("figure.chart figcaption").all_inner_texts()
    assert captions and all(c.startswith("Contingent over") for c in captions)
    _charts_shot(page, "planner-charts-corporatie")
