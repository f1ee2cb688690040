"""The huurtoeslag figures of ../shared/DOMAIN.md as seed rows for the policy table.

Figures marked "verify" in DOMAIN.md are defaults a gemeente overrides; their rows carry
``verified=False`` and the UI says so. ``basishuur`` (the tenant's own share before toeslag) and
``max_rent_share_of_income`` are stek's working defaults, not official figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from matcher.problem import Policy

_COMMON: dict[str, Any] = {
    "young_tenant_min_age": 18,
    "share_above_kwaliteitskorting": 0.65,
    "max_rent_share_of_income": 0.35,
}

POLICY_ROWS: list[dict[str, Any]] = [
    {
        **_COMMON,
        "valid_from": date(2024, 1, 1),
        "kwaliteitskortingsgrens": 454.47,
        "aftoppingsgrens_1_2": 650.43,
        "aftoppingsgrens_3plus": 697.07,
        "maximale_huurgrens": 879.66,
        "young_tenant_max_age": 22,
        "servicekosten_in_rekenhuur": True,
        "basishuur": 225.0,
        "verified": True,
        "source": "DOMAIN.md 2024; basishuur is a stek default (verify)",
    },
    {
        **_COMMON,
        "valid_from": date(2025, 1, 1),
        "kwaliteitskortingsgrens": 477.20,
        "aftoppingsgrens_1_2": 682.96,
        "aftoppingsgrens_3plus": 731.93,
        "maximale_huurgrens": 900.07,
        "young_tenant_max_age": 22,
        "servicekosten_in_rekenhuur": True,
        "basishuur": 235.0,
        "verified": True,
        "source": "DOMAIN.md 2025; basishuur is a stek default (verify)",
    },
    {
        **_COMMON,
        "valid_from": date(2026, 1, 1),
        "kwaliteitskortingsgrens": 498.20,
        # DOMAIN.md: aftoppingsgrenzen 2026 "verify": the 2025 figures are carried forward.
        "aftoppingsgrens_1_2": 682.96,
        "aftoppingsgrens_3plus": 731.93,
        "maximale_huurgrens": 932.93,
        "young_tenant_max_age": 20,
        "servicekosten_in_rekenhuur": False,
        "basishuur": 245.0,
        "verified": False,
        "source": "DOMAIN.md 2026; aftoppingsgrenzen carried from 2025 and basishuur (verify)",
    },
]


def default_policies() -> list[Policy]:
    """The seed rows as ``Policy`` objects, oldest first."""
    return [Policy(**{k: v for k, v in row.items() if k != "source"}) for row in POLICY_ROWS]


def policy_at(day: date, policies: list[Policy] | None = None) -> Policy:
    """The policy in force on ``day``: the row with the latest ``valid_from`` not after it."""
    rows = sorted(
        policies if policies is not None else default_policies(), key=lambda p: p.valid_from
    )
    in_force = [p for p in rows if p.valid_from <= day]
    if not in_force:
        raise ValueError(f"geen huurtoeslagbeleid bekend op {day.isoformat()}")
    return in_force[-1]
