"""Every text that reaches a map document is HTML-escaped exactly once (issue 13 item 1).

Names from imports — option codes, housing-type names, anchor labels, organisation and area
names, scenario labels — are put in every text field of every map builder; the rendered document
must hold none of them as markup, each of them escaped once (not twice: ``'s-Hertogenbosch``
must not become ``&amp;#39;s-Hertogenbosch``), and no ``</script>`` from data.
"""

from __future__ import annotations

from datetime import date

import pytest
import shapely
from shapely.geometry import box

from maps.data import (
    Anchor,
    AreaShape,
    Measure,
    NoGoShape,
    OptionPoint,
    OptionsMapData,
    SupplyMapData,
)
from maps.options import build_options_map
from maps.supply import build_compare_map, build_supply_map, render_html
from maps.text import html_text, script_json

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
QUOTES = '\'s-Hertogenbosch & "Zorg"'
# each payload as HTML that shows exactly it (written out, not computed by the code under test)
PAYLOADS = {
    IMG: "&lt;img src=x onerror=alert(1)&gt;",
    SCRIPT: "&lt;script&gt;alert(2)&lt;/script&gt;",
    QUOTES: "&#39;s-Hertogenbosch &amp; &#34;Zorg&#34;",
}


def _areas(label: str) -> tuple[AreaShape, ...]:
    return tuple(
        AreaShape(
            f"GM{i:04d}",
            f"{label} {i}",
            "gemeente",
            f"GM{i:04d}",
            box(150000 + 2500 * i, 410000, 152000 + 2500 * i, 412000),
        )
        for i in range(2)
    )


def _supply(text: str) -> SupplyMapData:
    areas = _areas(text)
    return SupplyMapData(
        title=f"Aanbod · {text}",
        level="gemeente",
        areas=areas,
        measures=(
            Measure("shortfall", f"Tekort {text}", {a.code: [1, 2] for a in areas}, True, True),
            Measure("places:x", f"Plaatsen {text}", {a.code: 3 for a in areas}),
        ),
        months=(date(2027, 1, 1), date(2027, 2, 1)),
        options=(OptionPoint(text, text, 151000, 411000, (text, f"{text} · {text}", text)),),
        outlines=_areas(text),
    )


def _options(text: str) -> OptionsMapData:
    return OptionsMapData(
        title=f"Woonplekken voor {text}",
        areas=_areas(text),
        options=(OptionPoint(text, text, 151000, 411000, (text, text)),),
        anchors=(Anchor(text, 151500, 411500),),
        no_go=(NoGoShape(text, box(150500, 410500, 151500, 411500)),),
    )


def _unscript(html: str) -> str:
    """The document with the JSON escapes of ``maps.text.script_safe`` and Jinja's ``tojson``
    undone, so the escaped texts can be looked for."""
    for code, char in (("\\u0026", "&"), ("\\u003c", "<"), ("\\u003e", ">"), ("\\u0027", "'")):
        html = html.replace(code, char)
    return html


def _documents(text: str) -> list[str]:
    return [
        render_html(build_supply_map(_supply(text))),
        render_html(build_compare_map(_supply(text), _supply(text))),
        render_html(build_options_map(_options(text))),
        render_html(build_supply_map(_supply(text)), standalone=True),
    ]


@pytest.mark.parametrize("text", list(PAYLOADS))
def test_no_text_reaches_a_map_as_markup(text: str) -> None:
    escaped = PAYLOADS[text]
    assert html_text(text) == escaped
    for html in _documents(text):
        assert "<img" not in html
        assert "alert(2)</script>" not in html and "<script>alert" not in html
        assert "onerror=alert(1)>" not in html
        # each text is there, escaped once (inside scripts ``&`` is written ``\\u0026``)
        plain = _unscript(html)
        assert escaped in plain
        assert text not in plain  # not as markup, even once the script's JSON is read
        assert "&amp;#39;" not in plain and "&amp;lt;" not in plain and "&amp;amp;" not in plain


def test_every_text_field_is_escaped() -> None:
    """One marker per field, so a field that skips the helper is named."""
    fields = {}
    areas = tuple(
        AreaShape(
            f"GM{i}",
            f"<area{i}>",
            "gemeente",
            f"GM{i}",
            box(150000 + 3000 * i, 410000, 152000 + 3000 * i, 412000),
        )
        for i in range(2)
    )
    data = SupplyMapData(
        title="<maptitle>",
        level="gemeente",
        areas=areas,
        measures=(Measure("m", "<measure>", {"GM0": 1, "GM1": 2}),),
        options=(OptionPoint("<code>", "<type>", 151000, 411000, ("<line1>", "<line2>")),),
        outlines=areas,
    )
    options = OptionsMapData(
        title="<otitle>",
        areas=areas,
        options=(),
        anchors=(Anchor("<anchor>", 151500, 411500),),
        no_go=(NoGoShape("<nogo>", shapely.box(150500, 410500, 151500, 411500)),),
    )
    html = render_html(build_supply_map(data)) + render_html(build_options_map(options))
    for name in (
        "area0",
        "maptitle",
        "measure",
        "code",
        "type",
        "line1",
        "line2",
        "otitle",
        "anchor",
        "nogo",
    ):
        fields[name] = f"&lt;{name}&gt;" in _unscript(html)
        assert f"<{name}>" not in html, name
    assert all(fields.values()), fields


def test_script_json_cannot_end_its_script() -> None:
    text = script_json({"n": "</script><script>alert(3)</script><!--"})
    assert "<" not in text and ">" not in text
    assert '"\\u003c/script\\u003e' in text
