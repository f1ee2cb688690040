"""The compiled kernel against the NumPy reference engine: same numbers for the same seed."""

from __future__ import annotations

import numpy as np
import pytest
from supply_builders import small_inputs

from supply.engine import prepare, simulate_chunk, simulate_chunk_reference
from supply.model import SupplyInputs
from supply.stats import LEVELS, OUTPUTS, aggregate_levels, compiled_level_sums


def _typed_shares(inputs: SupplyInputs) -> SupplyInputs:
    share = np.zeros(inputs.capacity.shape)
    share[:, 0, :] = 0.6
    share[:, 1, :] = 0.4
    return small_inputs(contingent_share=share)


def _sparse() -> SupplyInputs:
    """CORP-A works only in GM0796: GM0828 has one corporation slot in use, GM0796 two."""
    capacity = np.array([[[5, 3], [2, 2]], [[0, 4], [0, 3]]])
    occupancy = np.array([[[4, 2], [1, 1]], [[0, 2], [0, 2]]])
    contingent = np.full((2, 2, 2), 4)
    contingent[:, 1, 0] = 0
    return small_inputs(
        capacity=capacity,
        occupancy=occupancy,
        contingent=contingent,
        contingent_used=np.array([[1, 0], [0, 2]]),
    )


CASES = {
    "a corporation absent from a gemeente": _sparse,
    "shared pool, moving on needs contingent": lambda: small_inputs(),
    "moving on free": lambda: small_inputs(moving_on_uses_contingent=False),
    "per-type pools": lambda: _typed_shares(small_inputs()),
    "tight contingent": lambda: small_inputs(contingent=np.full((2, 2, 2), 1)),
    "one type outside the contingent": lambda: small_inputs(
        uses_contingent=np.array([True, False])
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("mode", ["poisson", "negbin", "deterministic"])
def test_kernel_equals_reference(case: str, mode: str) -> None:
    inputs = CASES[case]()
    prep = prepare(inputs, mode, 2.0 if mode == "negbin" else None)  # type: ignore[arg-type]
    runs = 1 if mode == "deterministic" else 48
    fast = simulate_chunk(
        prep, inputs.waiting, runs, np.random.default_rng(5), np.random.default_rng(6)
    )
    ref = simulate_chunk_reference(
        prep, inputs.waiting, runs, np.random.default_rng(5), np.random.default_rng(6)
    )
    for name in OUTPUTS:
        assert np.array_equal(getattr(fast, name), getattr(ref, name)), name
    # Not a trivial case: people are placed and some wait.
    assert fast.placements.sum() > 0 and fast.waiting.sum() > 0


def test_compiled_level_sums_equal_numpy_sums() -> None:
    inputs = small_inputs()
    prep = prepare(inputs, "poisson", None)
    series = simulate_chunk(
        prep, inputs.waiting, 24, np.random.default_rng(1), np.random.default_rng(2)
    )
    for output in OUTPUTS:
        slow = aggregate_levels(
            getattr(series, output), output, tuple(LEVELS), series.slot_corp, series.n_corp
        )
        fast = compiled_level_sums(series, output, tuple(LEVELS))
        assert slow.keys() == fast.keys()
        for level in slow:
            assert np.array_equal(slow[level], fast[level]), (output, level)
