"""Fan charts of a supply projection as PNG for the API (``/api/v1/supply/fanchart.png``): the
median with its P10–P90 band (matplotlib, Agg backend: no display needed, safe in a web
server's threads). The pages draw SVG instead (``maps.fanchart``), which needs no matplotlib."""

from __future__ import annotations

import io
import threading

import matplotlib
import numpy as np

matplotlib.use("Agg")

from matplotlib.dates import num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from maps.fanchart import MONTHS_NL, FanSeries


def _month_label(value: float, _position: int) -> str:
    day = num2date(value)
    return f"{MONTHS_NL[day.month - 1]} {day.year}"


# pyplot keeps global state; Figure objects without pyplot do not, but font caches are shared.
_LOCK = threading.Lock()


def fanchart(
    series: FanSeries,
    title: str = "",
    ylabel: str = "",
    width_px: int = 900,
    height_px: int = 420,
) -> bytes:
    """PNG bytes: the P10–P90 band shaded, the median as a line."""
    dpi = 100
    with _LOCK:
        fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
        ax = fig.add_subplot()
        x = np.array(series.months, dtype="datetime64[D]")
        # a month hidden by small-cell protection (None) is a gap
        p10, p50, p90 = (
            np.array([np.nan if v is None else v for v in q], np.float64)
            for q in (series.p10, series.p50, series.p90)
        )
        ax.fill_between(x, p10, p90, color="#4c78a8", alpha=0.25, label="P10–P90 (8 van 10)")
        ax.plot(x, p50, color="#1f3f6e", linewidth=2, label="mediaan (P50)")
        ax.set_title(title, fontsize=11)
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=min(0.0, float(np.nanmin(p10, initial=0.0))))
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=9)
        # Dutch month names on the axis ("jan 2027"), not ISO dates
        ax.xaxis.set_major_formatter(FuncFormatter(_month_label))
        ax.set_xlabel("maand")
        fig.autofmt_xdate()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()
