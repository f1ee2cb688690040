"""Fan charts of a supply projection as server-rendered SVG: per scenario the P10–P90 band
shaded and the median as a line, Dutch month names on the axis.

Pure string building (no matplotlib, no script): a chart renders in well under a millisecond,
so a page can carry dozens of them inline. Every text is escaped here, so the result may be put
in a page as it is. Each chart is an ``<svg role="img">`` named by its ``<title>`` and described
by its ``<desc>`` (first and last median and the band at the end, per scenario), so a screen
reader gets the figures a sighted reader takes from the picture; the page links the CSV of the
figures beside it. The PNG version for the API is ``maps.fanchart_png``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

MONTHS_NL = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")

# (band fill, line colour, dash pattern) per fan in a chart: the chosen scenario solid blue,
# the one it is compared with dashed orange, so the two differ by more than colour alone.
STYLES = (("#4c78a8", "#1f3f6e", ""), ("#e6a04a", "#8a4500", "7 4"))
DIFFERENCE_STYLE = ("#9e8fc4", "#3f2d7a", "")
_ID = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class FanSeries:
    """One group's monthly quantiles."""

    months: Sequence[date]
    # None: the month is hidden by small-cell protection (supply.disclosure), a gap in the fan
    p10: Sequence[float | None]
    p50: Sequence[float | None]
    p90: Sequence[float | None]

    def __post_init__(self) -> None:
        n = len(self.months)
        if n == 0:
            raise ValueError("fanchart: geen maanden")
        if not (len(self.p10) == len(self.p50) == len(self.p90) == n):
            raise ValueError("fanchart: p10, p50 en p90 hebben niet evenveel maanden")
        for lo, mid, hi in zip(self.p10, self.p50, self.p90, strict=True):
            if (lo is None) != (mid is None) or (mid is None) != (hi is None):
                raise ValueError("fanchart: een maand is helemaal afgeschermd of helemaal niet")
            if lo is not None and not lo <= mid <= hi:  # type: ignore[operator]
                raise ValueError("fanchart: p10 <= p50 <= p90 geldt niet")

    def shown(self) -> list[int]:
        """The months with figures (not hidden)."""
        return [i for i, v in enumerate(self.p50) if v is not None]

    def runs(self) -> list[list[int]]:
        """The shown months as runs of consecutive months (each drawn as one piece)."""
        out: list[list[int]] = []
        for i in self.shown():
            if out and out[-1][-1] == i - 1:
                out[-1].append(i)
            else:
                out.append([i])
        return out


@dataclass(frozen=True)
class Fan:
    """One scenario's fan in a chart; ``name`` is the legend text (Dutch)."""

    name: str
    series: FanSeries


@dataclass(frozen=True)
class FanChart:
    """A chart: one fan, or two on the same months (a comparison), or a paired difference
    (``difference=True``: the zero line drawn and the desc says "verschil")."""

    chart_id: str
    title: str
    ylabel: str
    fans: tuple[Fan, ...]
    difference: bool = False

    def __post_init__(self) -> None:
        if not _ID.match(self.chart_id):
            raise ValueError(f"fanchart: ongeldige id {self.chart_id!r}")
        if not 1 <= len(self.fans) <= len(STYLES):
            raise ValueError("fanchart: één of twee waaiers per grafiek")
        months = list(self.fans[0].series.months)
        if any(list(f.series.months) != months for f in self.fans[1:]):
            raise ValueError("fanchart: de waaiers hebben niet dezelfde maanden")


def month_label(day: date, with_year: bool = True) -> str:
    """``dec 2026`` (or ``dec``)."""
    name = MONTHS_NL[day.month - 1]
    return f"{name} {day.year}" if with_year else name


def nl_int(value: float) -> str:
    """A whole number with a dot for thousands (``1.250``, ``-3``)."""
    return f"{round(value):,}".replace(",", ".")


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round axis values (1, 2 or 5 times a power of ten) covering ``lo``..``hi``."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0)  # whole people and dwellings
    first = math.floor(lo / step) * step
    last = math.ceil(hi / step) * step
    count = round((last - first) / step)
    return [first + i * step for i in range(count + 1)]


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _month_step(n: int, max_labels: int) -> int:
    for step in (1, 2, 3, 6, 12, 24):
        if math.ceil(n / step) <= max_labels:
            return step
    return 24


def describe(chart: FanChart) -> str:
    """The chart in words (the SVG's ``<desc>``): per fan the median at the start and the end,
    its highest value, and the band at the end."""
    months = list(chart.fans[0].series.months)
    first, last = months[0], months[-1]
    parts = [
        f"{chart.title}. {len(months)} maanden, {month_label(first)} tot en met "
        f"{month_label(last)}."
    ]
    for fan in chart.fans:
        s = fan.series
        shown = s.shown()
        hidden = len(months) - len(shown)
        note = (
            f" {hidden} van de {len(months)} maanden zijn afgeschermd (kleine aantallen)."
            if hidden
            else ""
        )
        if not shown:
            parts.append(f"{fan.name}: alle maanden afgeschermd (kleine aantallen).")
            continue
        a, b = shown[0], shown[-1]
        top = max(shown, key=lambda i: s.p50[i] or 0.0)
        parts.append(
            f"{fan.name}: mediaan {_nl(s.p50[a])} in {month_label(months[a])} en "
            f"{_nl(s.p50[b])} in {month_label(months[b])}, hoogste mediaan {_nl(s.p50[top])} "
            f"in {month_label(months[top])}; in {month_label(months[b])} ligt 8 van de 10 "
            f"simulaties tussen {_nl(s.p10[b])} en {_nl(s.p90[b])}.{note}"
        )
    return " ".join(parts)


def _nl(value: float | None) -> str:
    return "afgeschermd" if value is None else nl_int(value)


def fanchart_svg(chart: FanChart, width: int = 560, height: int = 300) -> str:
    """The chart as an ``<svg>`` element (escaped, no script, no style element)."""
    fans = chart.fans
    months = list(fans[0].series.months)
    n = len(months)
    legend_h = 18 * len(fans)
    left, right, top, bottom = 58, 14, 10 + legend_h, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    lo = min([0.0, *(v for f in fans for v in f.series.p10 if v is not None)])
    hi = max([1.0, *(v for f in fans for v in f.series.p90 if v is not None)])
    ticks = nice_ticks(lo, hi)
    y_lo, y_hi = ticks[0], ticks[-1]

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - y_lo) / (y_hi - y_lo))

    tid, did = f"{chart.chart_id}-titel", f"{chart.chart_id}-beschrijving"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fanchart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{tid}" aria-describedby="{did}" '
        'font-family="sans-serif" font-size="12">',
        f'<title id="{tid}">{escape(chart.title)}</title>',
        f'<desc id="{did}">{escape(describe(chart))}</desc>',
    ]
    # grid and y axis
    for t in ticks:
        yy = y(t)
        colour = "#1a1a1a" if t == 0 and chart.difference else "#d0d0d0"
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" '
            f'stroke="{colour}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="#1a1a1a">'
            f"{nl_int(t)}</text>"
        )
    mid_y = top + plot_h / 2
    out.append(
        f'<text x="14" y="{mid_y:.1f}" text-anchor="middle" fill="#1a1a1a" '
        f'transform="rotate(-90 14 {mid_y:.1f})">{escape(chart.ylabel)}</text>'
    )
    # x axis: month names with the year below
    step = _month_step(n, max(2, plot_w // 62))
    for i in range(0, n, step):
        d = months[i]
        xx = x(i)
        out.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
            'stroke="#1a1a1a"/>'
        )
        out.append(
            f'<text x="{xx:.1f}" y="{top + plot_h + 17}" text-anchor="middle" fill="#1a1a1a">'
            f"{month_label(d, with_year=False)}</text>"
        )
        if step < 12 or i == 0:  # the year under every label (under the first at least)
            out.append(
                f'<text x="{xx:.1f}" y="{top + plot_h + 31}" text-anchor="middle" '
                f'fill="#1a1a1a">{d.year}</text>'
            )
    out.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#1a1a1a"/>'
    )
    # the fans: bands first, then the median lines on top
    styles = [DIFFERENCE_STYLE] if chart.difference else list(STYLES)

    # (months hidden by small-cell protection are gaps: each run of shown months is a piece;
    # a lone month is a short bar and a dot)
    def v(value: float | None) -> float:
        assert value is not None
        return y(value)

    for fan, (band, _line, _dash) in zip(fans, styles, strict=False):
        s = fan.series
        for piece in s.runs():
            if len(piece) == 1:
                i = piece[0]
                out.append(
                    f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{v(s.p10[i]):.1f}" '
                    f'y2="{v(s.p90[i]):.1f}" stroke="{band}" stroke-width="6"/>'
                )
                continue
            upper = " L".join(f"{x(i):.1f},{v(s.p90[i]):.1f}" for i in piece)
            lower = " L".join(f"{x(i):.1f},{v(s.p10[i]):.1f}" for i in reversed(piece))
            out.append(f'<path d="M{upper} L{lower} Z" fill="{band}" fill-opacity="0.35"/>')
    for fan, (_band, line, dash) in zip(fans, styles, strict=False):
        s = fan.series
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        for piece in s.runs():
            if len(piece) == 1:
                i = piece[0]
                out.append(f'<circle cx="{x(i):.1f}" cy="{v(s.p50[i]):.1f}" r="3" fill="{line}"/>')
                continue
            points = " L".join(f"{x(i):.1f},{v(s.p50[i]):.1f}" for i in piece)
            out.append(
                f'<path d="M{points}" fill="none" stroke="{line}" stroke-width="2.5"{dashed}/>'
            )
    # legend: per fan a line (median) and a block (band); a long name is cut to fit (the
    # title and desc keep it whole)
    room = max(8, int((width - left - 46 - 250) / 6.5))
    for k, (fan, (band, line, dash)) in enumerate(zip(fans, styles, strict=False)):
        ly = 12 + 18 * k
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{left}" x2="{left + 22}" y1="{ly}" y2="{ly}" stroke="{line}" '
            f'stroke-width="2.5"{dashed}/>'
            f'<rect x="{left + 26}" y="{ly - 6}" width="14" height="12" fill="{band}" '
            'fill-opacity="0.35"/>'
            f'<text x="{left + 46}" y="{ly + 4}" fill="#1a1a1a">'
            f"{escape(_fit(fan.name, room))}: mediaan en 8 van 10 simulaties</text>"
        )
    out.append("</svg>")
    return "".join(out)
