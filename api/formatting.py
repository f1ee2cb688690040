"""Dutch number and date formatting for pages (``1.234,50``, ``€ 498,20``, ``1 december 2026``)."""

from __future__ import annotations

from datetime import date

MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def nl_number(value: float | int | None, decimals: int = 0) -> str:
    """Format with a dot for thousands and a comma for decimals."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def euro(value: float | None) -> str:
    return "–" if value is None else f"€ {nl_number(value, 2)}"


def nl_date(value: date | None) -> str:
    if value is None:
        return "–"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def nl_month(value: date) -> str:
    return f"{MONTHS[value.month - 1]} {value.year}"
