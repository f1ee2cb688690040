"""The text alternative of a map: a table of what it shows, in a panel beside the map.

Built from the same data as the map (so it cannot disagree with it): areas with their values
(monthly values follow the month slider: the runtime rewrites the cells from ``data-series``),
or the markers and overlays of a young person's map. Every text goes through
``maps.text.html_text``; the panel is a focusable region, so keyboard users can scroll it.
"""

from __future__ import annotations

from collections.abc import Sequence

from maps.colours import MapKey, colour_name, describe, nl_number
from maps.data import Measure, OptionsMapData, SupplyMapData, Value
from maps.text import html_text

PLACES_PREFIX = "places:"


def _num(v: Value, none: str = "geen gegevens") -> str:
    if v is None:
        return none
    return nl_number(float(v), 0 if float(v).is_integer() else 1)


def _cell(measure: Measure, code: str) -> str:
    """One table cell of ``measure`` for area ``code`` (monthly: the first month, with series)."""
    v = measure.values.get(code)
    none = measure.none_label
    if isinstance(v, (list, tuple)):
        series = "|".join(html_text(_num(x, none)) for x in v)
        first = html_text(_num(v[0] if v else None, none))
        return f'<td class="num" data-series="{series}">{first}</td>'
    return f'<td class="num">{html_text(_num(v, none))}</td>'  # type: ignore[arg-type]


def _monthly_head(measure: Measure, month: str, suffix: str = "") -> str:
    """A monthly column's head; the month follows the slider (``stek-month-label``)."""
    extra = f" {html_text(suffix)}" if suffix else ""
    return (
        f'<th scope="col" class="num">{html_text(measure.title)}{extra} '
        f'(<span class="stek-month-label">{html_text(month)}</span>)</th>'
    )


def _by_type(measures: Sequence[Measure], code: str) -> list[tuple[str, str]]:
    """``(woonvorm, places)`` of area ``code``, the types with places only."""
    parts = []
    for m in measures:
        if m.key.startswith(PLACES_PREFIX):
            v = m.values.get(code)
            if isinstance(v, (int, float)) and v:
                parts.append((m.title.removeprefix("Plaatsen "), _num(v)))
    return parts


def _types_table(data: SupplyMapData) -> str:
    """Places per woonvorm, one row per area and type (a column per type would not fit the
    panel): the area's name heads its group of rows."""
    groups = []
    for a in data.areas:
        parts = _by_type(data.measures, a.code)
        name = f"{html_text(a.name)} ({html_text(a.code)})"
        if not parts:
            groups.append(
                f'<tbody><tr><th scope="row">{name}</th><td>geen</td><td class="num">0</td>'
                "</tr></tbody>"
            )
            continue
        rows = [
            (f'<th scope="rowgroup" rowspan="{len(parts)}">{name}</th>' if k == 0 else "")
            + f'<td>{html_text(kind)}</td><td class="num">{html_text(n)}</td>'
            for k, (kind, n) in enumerate(parts)
        ]
        groups.append("<tbody>" + "".join(f"<tr>{r}</tr>" for r in rows) + "</tbody>")
    return (
        '<table class="stek-types"><caption>Plaatsen per woonvorm</caption><thead><tr>'
        '<th scope="col">Gebied</th><th scope="col">Woonvorm</th>'
        '<th scope="col" class="num">Plaatsen</th></tr></thead>'
        f"{''.join(groups)}</table>"
    )


def panel(title: str, hint: str, table: str, attribution: Sequence[str]) -> str:
    """The panel's HTML: heading, the hint (colours as drawn), the table, the sources."""
    source = "".join(f'<p class="source">{html_text(a)}</p>' for a in attribution)
    hint_html = f'<p class="stek-hint">{html_text(hint)}</p>' if hint else ""
    return (
        f'<section class="stek-panel" tabindex="0" role="region" '
        f'aria-label="{html_text("Tabel bij de kaart: " + title)}">'
        f"<h2>Tabel bij de kaart</h2>{hint_html}{table}{source}</section>"
    )


def supply_keys(data: SupplyMapData) -> list[MapKey]:
    keys = []
    if data.options:
        keys.append(MapKey(data.options[0].colour, "Woonplekken (groepen met aantal)", "dot"))
    if data.outlines:
        keys.append(MapKey("#1b1f24", "Gemeentegrenzen", "line"))
    return keys


def supply_hint(data: SupplyMapData) -> str:
    scale = "Kies met het lagenmenu rechtsboven wat de kleuren van de gebieden tonen"
    scale += "; de legenda eronder geeft de klassen."
    keys = describe(supply_keys(data))
    return f"{scale} {keys}".strip()


def supply_table(data: SupplyMapData, month: str = "") -> str:
    """Areas as rows: the monthly measures (at ``month``, the slider's first) and places in
    total; then places per woonvorm, an area's types as rows."""
    monthly = [m for m in data.measures if m.monthly]
    total = [m for m in data.measures if m.key == "places"]
    head = '<th scope="col">Gebied</th>' + "".join(_monthly_head(m, month) for m in monthly)
    head += "".join(f'<th scope="col" class="num">{html_text(m.title)}</th>' for m in total)
    typed = any(m.key.startswith(PLACES_PREFIX) for m in data.measures)
    rows = []
    for a in data.areas:
        cells = "".join(_cell(m, a.code) for m in (*monthly, *total))
        rows.append(
            f'<tr><th scope="row">{html_text(a.name)} ({html_text(a.code)})</th>{cells}</tr>'
        )
    caption = html_text(data.title)
    return (
        f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    ) + (_types_table(data) if typed else "")


def compare_table(a: SupplyMapData, b: SupplyMapData, month: str = "") -> str:
    """Areas as rows, each monthly measure for both scenarios side by side."""
    left = {m.key: m for m in a.measures if m.monthly}
    right = {m.key: m for m in b.measures if m.monthly}
    keys = [k for k in left if k in right]
    name_a = a.scenario or "links"
    name_b = b.scenario or "rechts"
    head = '<th scope="col">Gebied</th>'
    for k in keys:
        head += _monthly_head(left[k], month, f"· {name_a}")
        head += _monthly_head(right[k], month, f"· {name_b}")
    rows = []
    for area in a.areas:
        cells = "".join(_cell(left[k], area.code) + _cell(right[k], area.code) for k in keys)
        rows.append(
            f'<tr><th scope="row">{html_text(area.name)} ({html_text(area.code)})</th>{cells}</tr>'
        )
    caption = html_text(f"Scenario's naast elkaar: {name_a} en {name_b}")
    return (
        f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def options_keys(data: OptionsMapData) -> list[MapKey]:
    keys = []
    colours = list(dict.fromkeys(o.colour for o in data.options))
    for c in colours:
        label = (
            "Woonplekken"
            if len(colours) == 1
            else ("Best passende woonplekken" if c == colours[0] else "Overige woonplekken")
        )
        keys.append(MapKey(c, label, "dot"))
    if data.anchors:
        keys.append(MapKey("#f0b400", "Ankerpunten (school, werk, netwerk)", "dot"))
    if data.no_go:
        keys.append(MapKey("#a4000f", "No-go-gebieden", "hatch"))
    return keys


def options_table(data: OptionsMapData) -> str:
    rows = []
    for o in data.options:
        rows.append(
            ("Woonplek", f"{o.type_name} ({o.code})", " · ".join(o.lines[1:]), o.colour, "dot")
        )
    for anchor in data.anchors:
        rows.append(("Ankerpunt", anchor.label, "", "#f0b400", "dot"))
    for ng in data.no_go:
        rows.append(("No-go-gebied", ng.label, "", "#a4000f", "hatch"))
    body = "".join(
        f'<tr><td>{html_text(kind)}</td><th scope="row">{html_text(name)}</th>'
        f"<td>{html_text(details)}</td><td>{html_text(_colour_text(colour, shape))}</td></tr>"
        for kind, name, details, colour, shape in rows
    )
    if not rows:
        body = '<tr><td colspan="4">Geen woonplekken of ankerpunten op deze kaart.</td></tr>'
    return (
        f"<table><caption>{html_text(data.title)}</caption><thead><tr>"
        '<th scope="col">Soort</th><th scope="col">Naam</th><th scope="col">Gegevens</th>'
        '<th scope="col">Op de kaart</th></tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _colour_text(colour: str, shape: str) -> str:
    plain, inflected = colour_name(colour)
    return f"{plain} gestreept vlak" if shape == "hatch" else f"{inflected} stip"
