"""Input validation and the small integer helpers of the engine."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from supply_builders import small_inputs

from supply.engine import count_cdf_table, prefix_sum, split_proportional
from supply.model import PipelineProject, SupplyInputError, month_at, parse_month


def test_negative_waiting_is_refused_naming_the_field() -> None:
    with pytest.raises(SupplyInputError, match="waiting: negatief"):
        small_inputs(waiting=np.array([[4, -1], [1, 3]]))


def test_negative_capacity_is_refused() -> None:
    cap = np.array([[[5, 3], [2, 2]], [[4, 0], [1, -3]]])
    with pytest.raises(SupplyInputError, match="capacity: negatief"):
        small_inputs(capacity=cap)


def test_occupancy_above_capacity_is_refused() -> None:
    occ = np.array([[[6, 2], [1, 1]], [[2, 0], [1, 2]]])
    with pytest.raises(SupplyInputError, match="occupancy"):
        small_inputs(occupancy=occ)


def test_fractional_counts_are_refused() -> None:
    with pytest.raises(SupplyInputError, match="hele aantallen"):
        small_inputs(waiting=np.array([[4.5, 1], [1, 3]]))


@given(st.floats(min_value=1e-8, max_value=0.5))
@settings(max_examples=25, deadline=None)
def test_los_not_summing_to_one_is_refused(excess: float) -> None:
    los = np.array(small_inputs().los, copy=True)
    los[1, 5] += excess
    with pytest.raises(SupplyInputError, match=r"los\[friends\].*niet tot 1"):
        small_inputs(los=los)


def test_los_within_tolerance_is_accepted() -> None:
    los = np.array(small_inputs().los, copy=True)
    los[0, 7] += 5e-10
    assert small_inputs(los=los).los[0, 7] == los[0, 7]


def test_zero_month_stay_is_refused() -> None:
    los = np.array(small_inputs().los, copy=True)
    los[0, 0], los[0, 6] = 0.1, los[0, 6] - 0.1
    with pytest.raises(SupplyInputError, match="0 maanden"):
        small_inputs(los=los)


def test_pipeline_with_unknown_corporation_is_refused() -> None:
    project = PipelineProject("GM0796", "kma", "CORP-X", date(2026, 6, 1), 4)
    with pytest.raises(SupplyInputError, match="onbekende corporatie 'CORP-X'"):
        small_inputs(pipeline=(project,))


def test_inputs_are_read_only() -> None:
    inputs = small_inputs()
    with pytest.raises(ValueError):
        inputs.capacity[0, 0, 0] = 99


def test_months() -> None:
    assert parse_month("2027-03", "m") == date(2027, 3, 1)
    assert month_at(date(2026, 11, 1), 3) == date(2027, 2, 1)
    with pytest.raises(SupplyInputError, match="ongeldige maand"):
        parse_month("2027-13", "m")


@given(st.lists(st.integers(0, 50), min_size=1, max_size=12))
def test_prefix_sum_matches_cumsum(values: list[int]) -> None:
    a = np.array(values, np.int32)[:, None]
    assert np.array_equal(prefix_sum(a, 0)[:, 0], np.cumsum(values))
    assert np.array_equal(prefix_sum(a.T.copy(), 1)[0], np.cumsum(values))


@given(
    st.lists(st.integers(0, 300), min_size=1, max_size=11),
    st.floats(0, 1),
    st.sampled_from([np.float32, np.float64]),
)
def test_split_is_whole_exact_and_within_weights(
    weights: list[int], share: float, dtype: type[np.floating]
) -> None:
    w = np.array(weights, np.int32)[:, None]
    total = np.array([int(share * w.sum())], np.int32)
    eps = 0.5 / max(int(w.sum()), 1) if dtype is np.float32 else 1e-9
    parts = split_proportional(total, w, 0, dtype, eps)[:, 0]
    assert parts.sum() == total[0]
    assert np.all(parts >= 0)
    assert np.all(parts <= w[:, 0])


@given(st.floats(0.05, 8.0), st.sampled_from(["poisson", "negbin"]))
def test_count_table_is_a_cdf(mean: float, mode: str) -> None:
    table, k = count_cdf_table(np.array([mean]), mode, 2.0)  # type: ignore[arg-type]
    assert np.all(np.diff(table[:, 0]) >= 0)
    assert 1 - table[-1, 0] < 1e-11
    pmf = np.diff(table[:, 0], prepend=0)
    assert abs(pmf @ np.arange(k) - mean) < 1e-6 * max(1, mean)
