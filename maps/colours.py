"""Colour scales for choropleths: class breaks from the data, ColorBrewer palettes, Dutch labels.

Palettes are ColorBrewer sequential schemes (5 classes); the darkest classes keep at least 3:1
contrast against the white background, and the legend always carries the numbers as text, so
colour is never the only cue.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def nl_number(value: float, decimals: int = 0) -> str:
    """Dutch number format (dot for thousands, comma for decimals), as ``api.formatting``."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


# Marker and overlay colours, each with the Dutch name the hint under a map uses: the hint is
# generated from the keys a map actually draws (``describe``), never written by hand.
OPTION = "#0b5cad"
OPTION_OTHER = "#6b7785"
ANCHOR = "#f0b400"
NO_GO = "#a4000f"
BORDER = "#1b1f24"
COLOUR_NAMES = {
    OPTION: ("blauw", "blauwe"),
    OPTION_OTHER: ("grijs", "grijze"),
    ANCHOR: ("geel", "gele"),
    NO_GO: ("rood", "rode"),
    BORDER: ("zwart", "zwarte"),
}
SHAPE_WORDS = {"dot": "stippen", "line": "lijnen", "hatch": "gestreept"}


@dataclass(frozen=True)
class MapKey:
    """One entry of a map's key: what a colour means (``shape``: dot, line or hatch)."""

    colour: str
    label: str
    shape: str = "dot"


def colour_name(colour: str) -> tuple[str, str]:
    """The Dutch name of a map colour (plain and inflected); an unnamed colour is refused."""
    try:
        return COLOUR_NAMES[colour.lower()]
    except KeyError:
        raise ValueError(f"kleur {colour} heeft geen Nederlandse naam in maps.colours") from None


def describe(keys: Sequence[MapKey]) -> str:
    """The hint under a map, from the colours it draws: "Woonplekken: blauwe stippen; ..."."""
    parts = []
    for k in keys:
        plain, inflected = colour_name(k.colour)
        what = f"{plain} gestreept" if k.shape == "hatch" else f"{inflected} {SHAPE_WORDS[k.shape]}"
        parts.append(f"{k.label}: {what}")
    return "; ".join(parts) + "." if parts else ""


BLUES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
REDS = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
NONE = "#d9d9d9"


def _nice(x: float) -> float:
    if x <= 0:
        return 0.0
    exp = 10 ** math.floor(math.log10(x))
    for step in (1, 2, 2.5, 5, 10):
        if x <= step * exp:
            return step * exp
    return 10 * exp


def class_breaks(values: Iterable[float | None], classes: int = 5) -> list[float]:
    """Upper-exclusive breaks (``classes - 1`` of them) on round numbers from 0 to the maximum."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    top = max(finite, default=0.0)
    if top <= 0:
        return [1.0 * (i + 1) for i in range(classes - 1)]
    step = _nice(top / classes)
    if step < 1 and all(float(v).is_integer() for v in finite):
        step = 1.0
    return [step * (i + 1) for i in range(classes - 1)]


def labels_for(breaks: list[float]) -> list[str]:
    """``minder dan 2``, ``2 tot 4``, ..., ``8 of meer`` (Dutch number format)."""

    def f(x: float) -> str:
        return nl_number(x, 0 if float(x).is_integer() else 1)

    out = [f"minder dan {f(breaks[0])}"]
    out += [f"{f(a)} tot {f(b)}" for a, b in itertools.pairwise(breaks)]
    out.append(f"{f(breaks[-1])} of meer")
    return out


def scale(
    title: str,
    values: Iterable[float | None],
    higher_is_worse: bool,
    monthly: bool,
    none_label: str = "geen gegevens",
) -> dict[str, Any]:
    """The browser-side colour scale of one measure (see ``maps.elements.AreaLayer``)."""
    breaks = class_breaks(values)
    colours = REDS if higher_is_worse else BLUES
    return {
        "title": title,
        "bins": breaks,
        "colours": list(colours),
        "none": NONE,
        "noneLabel": none_label,
        "labels": labels_for(breaks),
        "monthly": monthly,
    }
