"""Scenarios: validation, semantics, paired comparison and CSV export."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from supply_builders import small_inputs

from supply.projection import ProjectionSettings, project, write_projection_csv
from supply.scenario import (
    AddPlaces,
    ContingentChange,
    InflowFactor,
    Scenario,
    ScenarioError,
    StayShift,
    compare,
    shift_los,
    write_comparison_csv,
)

FAST = ProjectionSettings(runs=30, chunk_size=15, seed=2)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (AddPlaces("GM9999", "kma", 3, "2026-05"), "veld gemeente"),
        (AddPlaces("GM0796", "hotel", 3, "2026-05"), "veld type"),
        (AddPlaces("GM0796", "kma", 3, "2026-05", corporation="CORP-Z"), "veld corporatie"),
        (AddPlaces("GM0796", "kma", -3, "2026-05"), "veld places"),
        (AddPlaces("GM0796", "kma", 3, "mei 2026"), "veld month"),
        (AddPlaces("GM0796", "kma", 3, "2026-13"), "veld month"),
        (ContingentChange("CORP-Z", 5), "veld corporatie"),
        (ContingentChange("CORP-A", 5, gemeente="GM0000"), "veld gemeente"),
        (ContingentChange("CORP-A", -50), "veld delta"),
        (InflowFactor(-1.2), "veld factor"),
        (InflowFactor(1.2, gemeente="GM1234"), "veld gemeente"),
        (StayShift("hotel", -3), "veld type"),
    ],
)
def test_bad_scenario_is_refused_naming_the_field(change: object, field: str) -> None:
    base = small_inputs()
    scenario = Scenario("slecht", (InflowFactor(1.5), change))  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match=field):
        scenario.apply(base)
    assert np.array_equal(base.inflow, small_inputs().inflow)  # nothing applied


def test_add_places_from_month_for_a_corporation() -> None:
    base = small_inputs()
    changed = Scenario("meer", (AddPlaces("GM0828", "friends", 10, "2026-03", "CORP-B"),)).apply(
        base
    )
    assert changed.capacity_added is not None
    assert changed.capacity_added[2, 1, 1, 1] == 10
    assert changed.capacity_added.sum() == 10


def test_add_places_without_corporation_follows_current_places() -> None:
    changed = Scenario("meer", (AddPlaces("GM0796", "kma", 8, "2026-03"),)).apply(small_inputs())
    assert changed.capacity_added is not None
    assert list(changed.capacity_added[2, 0, 0]) == [5, 3]  # current places 5 : 3


def test_contingent_change_every_year() -> None:
    changed = Scenario("x", (ContingentChange("CORP-A", 5, "GM0828"),)).apply(small_inputs())
    assert list(changed.contingent[:, 1, 0]) == [9, 9]


def test_inflow_factor_per_gemeente() -> None:
    base = small_inputs()
    changed = Scenario("x", (InflowFactor(1.2, gemeente="GM0796"),)).apply(base)
    assert np.allclose(changed.inflow[:, 0], base.inflow[:, 0] * 1.2)
    assert np.allclose(changed.inflow[:, 1], base.inflow[:, 1])


@given(st.integers(-30, 12))
@settings(max_examples=30)
def test_stay_shift_keeps_a_distribution_and_moves_the_mean(months: int) -> None:
    base = small_inputs()
    shifted = shift_los(np.asarray(base.los), 1, months)
    assert abs(shifted[1].sum() - 1) < 1e-12
    assert shifted[1, 0] == 0
    d = np.arange(shifted.shape[1])
    mean = shifted[1] @ d
    if months >= 0:
        assert mean == pytest.approx(base.mean_stay()[1] + months)
    else:
        assert mean <= base.mean_stay()[1]
        assert mean >= 1


def test_stay_shift_minus_three() -> None:
    changed = Scenario("kort", (StayShift("kma", -3),)).apply(small_inputs())
    assert changed.mean_stay()[0] == pytest.approx(small_inputs().mean_stay()[0] - 3)


def test_comparison_of_a_scenario_with_itself_is_zero() -> None:
    cmp = compare(small_inputs(), Scenario("zelfde"), FAST)
    for key, st_ in cmp.difference.items():
        for q in (0.1, 0.5, 0.9):
            assert not st_.quantiles[q].any(), key


def test_more_inflow_raises_median_shortfall_with_band() -> None:
    cmp = compare(small_inputs(), Scenario("drukker", (InflowFactor(1.5),)), FAST)
    diff = cmp.median_difference("shortfall", "total")
    band = cmp.difference[("shortfall", "total")]
    assert diff[0, -1] > 0
    assert np.all(band.quantiles[0.1] <= band.quantiles[0.9])
    assert np.all(band.quantiles[0.1] >= 0)  # coupled inflow draws: never fewer arrivals


def test_csv_exports(tmp_path: Path) -> None:
    inputs = small_inputs()
    s = replace(FAST, levels=("total", "gemeente"))
    n = write_projection_csv(project(inputs, s), tmp_path / "p.csv")
    with (tmp_path / "p.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert len(rows) == n > 0
    assert {"output", "level", "cell", "month", "mean", "p10", "p50", "p90"} <= set(rows[0])
    assert rows[0]["month"] == "2026-01"
    cmp = compare(inputs, Scenario("meer", (ContingentChange("CORP-A", 3),)), s)
    m = write_comparison_csv(cmp, tmp_path / "c.csv")
    header = (tmp_path / "c.csv").read_text(encoding="utf-8").splitlines()[0].split(";")
    assert m > 0 and "diff_of_medians" in header and "diff_p90" in header


def test_two_scenarios_side_by_side() -> None:
    from supply.scenario import compare_inputs

    base = small_inputs()
    a = Scenario("a", (InflowFactor(1.2),)).apply(base)
    b = Scenario("b", (InflowFactor(1.2), ContingentChange("CORP-A", 4, "GM0796"))).apply(base)
    cmp = compare_inputs(a, b, FAST, "a", "b")
    assert cmp.scenario_name == "b"
    assert np.all(cmp.difference[("contingent_left", "total")].quantiles[0.9] >= -8)
    with pytest.raises(ScenarioError, match="dezelfde"):
        compare_inputs(base, replace(base, inflow=base.inflow[:12], capacity_added=None), FAST)


def test_comparison_when_a_scenario_brings_a_corporation_to_a_new_gemeente() -> None:
    from test_supply_projection import sparse_inputs

    base = sparse_inputs()
    add = AddPlaces("GM0828", "kma", 4, "2026-01", "CORP-A")
    scenario = Scenario("nieuw", (add, ContingentChange("CORP-A", 3, "GM0828")))
    s = replace(FAST, levels=("gemeente_corporation", "total"))
    cmp = compare(base, scenario, s)
    st_ = cmp.difference[("occupancy", "gemeente_corporation")]
    cell = st_.cell_index("GM0828", "CORP-A")
    assert st_.quantiles[0.5][cell, -1] > 0
    assert np.all(cmp.base[("occupancy", "gemeente_corporation")].quantiles[0.9][cell] == 0)
