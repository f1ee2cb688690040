"""The SVG fan chart: accessible (title, desc with the figures), Dutch months, escaped text, a
dashed second scenario, a zero line for a difference, and refusal of inconsistent input."""

from __future__ import annotations

import re
from datetime import date
from xml.etree import ElementTree

import pytest

from maps.fanchart import Fan, FanChart, FanSeries, describe, fanchart_svg, nice_ticks
from supply.model import month_at

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = [month_at(date(2026, 12, 1), i) for i in range(24)]


def _series(offset: int = 0) -> FanSeries:
    p50 = [10 + offset + i for i in range(24)]
    return FanSeries(MONTHS, [v - 3 for v in p50], p50, [v + 4 for v in p50])


def test_svg_is_named_described_and_dutch() -> None:
    chart = FanChart(
        "tekort-total-0", "Tekort: hele regio", "aantal jongeren", (Fan("basis", _series()),)
    )
    svg = fanchart_svg(chart)
    root = ElementTree.fromstring(svg)  # well-formed XML
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "tekort-total-0-titel"
    assert root.find(f"{SVG}title").text == "Tekort: hele regio"  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "mediaan 10 in dec 2026 en 33 in nov 2028" in desc
    assert "tussen 30 en 37" in desc
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"dec", "jun", "2027"} <= set(texts)
    assert not {"Dec", "Jun", "2026-12"} & set(texts)
    assert "aantal jongeren" in texts
    assert "<script" not in svg and "style=" not in svg


def test_text_is_escaped_and_two_scenarios_differ_by_more_than_colour() -> None:
    hostile = '<script>alert("x")</script> & co'
    chart = FanChart(
        "vergelijk-1", f"Tekort: {hostile}", "y", (Fan(hostile, _series()), Fan("b", _series(5)))
    )
    svg = fanchart_svg(chart)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    ElementTree.fromstring(svg)
    paths = re.findall(r'<path d="M[^"]*" fill="none"[^>]*>', svg)
    assert len(paths) == 2
    assert "stroke-dasharray" not in paths[0] and 'stroke-dasharray="7 4"' in paths[1]


def test_difference_chart_draws_a_zero_line_below_positive_values() -> None:
    lo = FanSeries(MONTHS, [-5] * 24, [-1] * 24, [4] * 24)
    svg = fanchart_svg(FanChart("verschil-0", "Verschil", "verschil", (Fan("v", lo),), True))
    assert 'stroke="#1a1a1a" stroke-width="1"' in svg  # the zero grid line, dark
    assert ">-5</text>" in svg or ">-6</text>" in svg or ">-10</text>" in svg


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="ongeldige id"):
        FanChart('x" onload="alert(1)', "t", "y", (Fan("a", _series()),))
    with pytest.raises(ValueError, match="één of twee"):
        FanChart("x", "t", "y", ())
    with pytest.raises(ValueError, match="dezelfde maanden"):
        short = FanSeries(MONTHS[:3], [1, 1, 1], [2, 2, 2], [3, 3, 3])
        FanChart("x", "t", "y", (Fan("a", _series()), Fan("b", short)))
    with pytest.raises(ValueError, match="p10 <= p50 <= p90"):
        FanSeries(MONTHS[:1], [3], [2], [4])


def test_ticks_are_round_and_cover_the_range() -> None:
    assert nice_ticks(0, 470) == [0, 100, 200, 300, 400, 500]
    assert nice_ticks(-110, 5) == [-150, -100, -50, 0, 50]
    assert nice_ticks(0, 0) == [0, 1]
    assert describe(FanChart("a", "T", "y", (Fan("a", _series()),))).startswith("T. 24 maanden")
