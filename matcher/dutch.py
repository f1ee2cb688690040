"""Dutch text for the matcher's sentences: dates, money, distances, percentages and plurals.

One place for how the core writes a figure into a Dutch sentence, shared by the eligibility
rules (``matcher.rules``), the affordability reasons (``matcher.policy``), the explanations
(``matcher.explain``) and the suggestions (``matcher.suggest``). The core imports nothing from
the adapters, so pages keep their own formatting in ``api/formatting.py`` (``1 december 2026``,
``–`` for a missing value); the sentences here use the short forms the reasons have always used.
"""

from __future__ import annotations

from datetime import date

__all__ = ["counted", "euro", "km", "percent", "short_date"]


def short_date(d: date) -> str:
    """A date as in a reason: ``1-12-2026`` (day-month-year, no leading zeros)."""
    return f"{d.day}-{d.month}-{d.year}"


def km(metres: float) -> str:
    """A distance in kilometres with one decimal and a decimal comma: ``3,4 km``."""
    return f"{metres / 1000:.1f} km".replace(".", ",")


def euro(amount: float) -> str:
    """An amount in Dutch notation: ``€ 1.345,50`` (``-€ 5,00`` below zero)."""
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):,.2f}".split(".")
    return f"{sign}€ {whole.replace(',', '.')},{cents}"


def percent(share: float) -> str:
    """A share as a Dutch percentage: 0.35 -> ``35 %``, 0.325 -> ``32,5 %``."""
    text = f"{share * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} %"


def counted(count: int, one: str, many: str) -> str:
    """A count with its noun in the right number: ``1 woning``, ``3 woningen``, ``0 woningen``."""
    return f"{count} {one if count == 1 else many}"
