"""inputs_from_records: the projection starts from what the records hold now."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from matcher.problem import Contingent, HousingType, Option, Youth
from supply.inputs import PROVIDER, ForecastRow, inputs_from_records
from supply.model import SupplyInputError
from supply.projection import ProjectionSettings, simulate

KMA = HousingType("kma", "Kamers met Aandacht", 18, 23, False, False, 1, 1, 1, 2, 12, 24)
FRIENDS = HousingType("friends", "Friends", 18, 27, True, False, 2, 3, 0, 1, 12, 36)
MENTOR = HousingType(
    "mentorhuis", "Mentorhuis", 16, 23, False, True, 1, 1, 1, 3, 6, 24, uses_contingent=False
)


def option(code: str, type_code: str, corp: str | None, gm: str, cap: int = 1) -> Option:
    return Option(code, type_code, corp, gm, None, None, 0.0, 0.0, 450.0, 0.0, capacity=cap)


def youth(code: str, gm: str, types: tuple[str, ...]) -> Youth:
    return Youth(code, date(2007, 5, 1), gm, 1200.0, 1, types)


def records() -> dict[str, object]:
    return {
        "start": "2026-03",
        "months": 24,
        "types": (KMA, FRIENDS, MENTOR),
        "options": (
            option("O1", "kma", "WC1", "GM0796", 2),
            option("O2", "kma", "WC2", "GM0796"),
            option("O3", "friends", "WC1", "GM0828", 3),
            option("O4", "mentorhuis", None, "GM0828"),
        ),
        "youths": (
            youth("J1", "GM0796", ("kma", "friends")),
            youth("J2", "GM0796", ("kma",)),
            youth("J3", "GM0828", ("friends", "kma")),
        ),
        "contingents": (
            Contingent("WC1", "GM0796", 2026, 6, used=2),
            Contingent("WC2", "GM0796", 2026, 3, type_code="kma"),
            Contingent("WC1", "GM0828", 2026, 4),
        ),
        "forecast": (
            ForecastRow(date(2026, 3, 1), "GM0796", "kma", 0.8),
            ForecastRow(date(2026, 4, 1), "GM0828", "friends", 0.5),
            ForecastRow(date(2030, 4, 1), "GM0828", "friends", 9.0),  # beyond the horizon
        ),
        "occupied": ("O1",),
    }


def test_inputs_from_records_shapes_and_counts() -> None:
    inputs = inputs_from_records(**records())  # type: ignore[arg-type]
    assert inputs.gemeenten == ("GM0796", "GM0828")
    assert inputs.corporations == (PROVIDER, "WC1", "WC2")
    assert inputs.start == date(2026, 3, 1)
    assert inputs.waiting.tolist() == [[2, 0, 0], [0, 1, 0]]
    assert inputs.capacity[0, 0].tolist() == [0, 2, 1]
    assert inputs.occupancy[0, 0].tolist() == [0, 2, 0]
    assert inputs.capacity[1, 2, 0] == 1  # provider-owned mentorhuis
    assert inputs.inflow.sum() == pytest.approx(1.3)
    assert inputs.contingent[0, 0].tolist() == [0, 6, 3]
    assert inputs.contingent[1, 0].tolist() == [0, 6, 3]  # 2027 repeats 2026
    assert inputs.contingent_used[0].tolist() == [0, 2, 0]
    assert inputs.mean_stay()[0] == pytest.approx(18)
    assert inputs.contingent_share is not None
    assert inputs.contingent_share[0, :, 2].tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_projection_runs_from_records() -> None:
    inputs = inputs_from_records(**records())  # type: ignore[arg-type]
    series = simulate(inputs, ProjectionSettings(runs=8, chunk_size=8))
    assert series["occupancy"].shape == (8, 24, 2, 3, 3)


def test_unknown_type_of_youth_is_refused() -> None:
    data = records()
    data["youths"] = (youth("J9", "GM0796", ("hotel",)),)
    with pytest.raises(SupplyInputError, match="J9"):
        inputs_from_records(**data)  # type: ignore[arg-type]


def test_type_without_stay_needs_a_distribution() -> None:
    data = records()
    bare = HousingType("bw", "BW light", 18, 26, False, False, 1, 6, 1, 2)
    data["types"] = (KMA, FRIENDS, MENTOR, bare)
    with pytest.raises(SupplyInputError, match=r"los\[bw\]"):
        inputs_from_records(**data)  # type: ignore[arg-type]
    los = np.zeros(25)
    los[[6, 24]] = 0.5
    inputs = inputs_from_records(**data, los={"bw": los})  # type: ignore[arg-type]
    assert inputs.mean_stay()[3] == pytest.approx(15)
