"""Small synthetic supply inputs for tests (not real figures)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from supply.model import PipelineProject, SupplyInputs, los_uniform

GEMEENTEN = ("GM0796", "GM0828")
TYPES = ("kma", "friends")
CORPS = ("CORP-A", "CORP-B")


def small_inputs(**overrides: Any) -> SupplyInputs:
    """Two gemeenten x two types x two corporations, 24 months, tight supply."""
    n_g, n_t, n_c, months = len(GEMEENTEN), len(TYPES), len(CORPS), 24
    los = np.stack([los_uniform(6, 12, 25), los_uniform(3, 18, 25)])
    base: dict[str, Any] = {
        "start": date(2026, 1, 1),
        "gemeenten": GEMEENTEN,
        "types": TYPES,
        "corporations": CORPS,
        "inflow": np.full((months, n_g, n_t), 1.2),
        "waiting": np.array([[4, 2], [1, 3]]),
        "capacity": np.array([[[5, 3], [2, 2]], [[4, 0], [1, 3]]]),
        "occupancy": np.array([[[4, 2], [1, 1]], [[2, 0], [1, 2]]]),
        "turnover": np.full((n_g, n_t, n_c), 0.05),
        "los": los,
        "contingent": np.full((2, n_g, n_c), 4),
        "contingent_used": np.array([[1, 0], [0, 2]]),
        "uses_contingent": np.array([True, True]),
        "moving_on": np.array([True, False]),
        "pipeline": (
            PipelineProject("GM0796", "kma", "CORP-B", date(2026, 6, 1), 4, 0.5, (0.5, 0.5)),
        ),
        "moving_on_uses_contingent": True,
    }
    base.update(overrides)
    return SupplyInputs(**base)
