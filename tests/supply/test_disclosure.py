"""Small-cell protection (supply.disclosure): no figure about young people in 1..threshold-1
is shown, and no sum of levels (a whole and its parts) has exactly one hidden entry, so a
hidden figure cannot be given back by subtraction. Property-tested on real projections of
random small regions and on random additive tables."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.settings import Settings, settings_problems
from supply.disclosure import (
    HIDDEN_QUANTILE,
    PEOPLE_OUTPUTS,
    protect_comparison,
    protect_output,
    protect_projection,
    sums,
)
from supply.model import SupplyInputs
from supply.projection import ProjectionSettings, project
from supply.scenario import InflowFactor, Scenario, compare
from supply.stats import LevelStats
from tests.supply.supply_builders import small_inputs

THRESHOLD = 5


def _inputs(seed: int) -> SupplyInputs:
    """The small test region with inflow and waiting lists drawn from ``seed`` (few young
    people per cell, so small figures are common)."""
    rng = np.random.default_rng(seed)
    return small_inputs(
        inflow=rng.uniform(0.0, 2.5, size=(24, 2, 2)),
        waiting=rng.integers(0, 9, size=(2, 2)),
    )


def _table(gemeenten: int, types: int, counts: list[list[int]]) -> dict[str, LevelStats]:
    """Levels total, gemeente, type and gemeente_type of one month, from per-cell counts (one
    run, so every quantile and the mean are the count)."""
    g_codes = [f"GM{i:04d}" for i in range(gemeenten)]
    t_codes = [f"T{j}" for j in range(types)]
    grid = np.array(counts, np.int64)[:gemeenten, :types]

    def level(name: str, cells: list[tuple[str, ...]], values: np.ndarray) -> LevelStats:
        arr = values.reshape(-1, 1).astype(np.int64)
        q = {0.1: arr.copy(), 0.5: arr.copy(), 0.9: arr.copy()}
        return LevelStats("waiting", name, tuple(cells), q, arr.astype(np.float64))

    return {
        "total": level("total", [()], np.array([grid.sum()])),
        "gemeente": level("gemeente", [(g,) for g in g_codes], grid.sum(axis=1)),
        "type": level("type", [(t,) for t in t_codes], grid.sum(axis=0)),
        "gemeente_type": level(
            "gemeente_type", [(g, t) for g in g_codes for t in t_codes], grid.reshape(-1)
        ),
    }


def _check(stats: dict[str, LevelStats], threshold: int) -> None:
    """The two promises, for one output's levels."""
    for lv, s in stats.items():
        assert s.hidden is not None, lv
        for arr in s.quantiles.values():
            shown = arr[~s.hidden]
            assert not np.any((shown > 0) & (shown < threshold)), lv
            assert np.all(arr[s.hidden] == HIDDEN_QUANTILE), lv
        means = s.mean[~s.hidden]
        assert not np.any((means > 0) & (means < threshold)), lv
        assert np.all(np.isnan(s.mean[s.hidden])), lv
    months = next(iter(stats.values())).mean.shape[1]
    for whole, parts in sums(stats):
        for mi in range(months):
            hidden = sum(bool(stats[lv].hidden[ci, mi]) for lv, ci in (whole, *parts))  # type: ignore[index]
            assert hidden != 1, (whole, parts, mi)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 4),
    st.lists(st.lists(st.integers(0, 12), min_size=4, max_size=4), min_size=5, max_size=5),
    st.integers(2, 8),
)
def test_random_tables_keep_both_promises(
    gemeenten: int, types: int, counts: list[list[int]], threshold: int
) -> None:
    stats = _table(gemeenten, types, counts)
    protected = protect_output(stats, threshold)
    _check(protected, threshold)
    # nothing is hidden that needs no hiding: a table without small figures stays whole
    if all(c == 0 or c >= threshold for row in counts[:gemeenten] for c in row[:types]):
        totals = [s.quantiles[0.5] for s in stats.values()]
        if all(not np.any((t > 0) & (t < threshold)) for t in totals):
            assert all(not s.hidden.any() for s in protected.values())  # type: ignore[union-attr]


def test_one_small_gemeente_takes_a_second_one_with_it() -> None:
    """Gemeenten 12, 3 and 9: the 3 is hidden, and so is the 9 (else 24 - 12 - 9 = 3)."""
    stats = protect_output(_table(3, 1, [[12], [3], [9]]), THRESHOLD)
    gemeente = stats["gemeente"]
    assert gemeente.hidden is not None
    assert gemeente.hidden[:, 0].tolist() == [False, True, True]
    assert stats["total"].quantiles[0.5][0, 0] == 24  # the total stays
    assert gemeente.quantiles[0.5][:, 0].tolist() == [12, HIDDEN_QUANTILE, HIDDEN_QUANTILE]


def _rows_ok(rows: list[dict[str, Any]], threshold: int) -> None:
    for row in rows:
        if row["output"] not in PEOPLE_OUTPUTS:
            continue
        for key, value in row.items():
            if key in ("output", "level", "cell", "month", "hidden") or value is None:
                continue
            assert not (0 < value < threshold), row
            assert not (isinstance(value, float) and math.isnan(value)), row


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(2, 8))
def test_no_projection_row_reveals_a_small_count(seed: int, threshold: int) -> None:
    inputs = _inputs(seed)
    raw = project(inputs, ProjectionSettings(runs=40, seed=seed))
    protected = protect_projection(raw, threshold)
    _rows_ok(list(protected.rows()), threshold)
    by_output: dict[str, dict[str, LevelStats]] = {}
    for (output, level), s in protected.stats.items():
        by_output.setdefault(output, {})[level] = s
    for output, levels in by_output.items():
        if output in PEOPLE_OUTPUTS:
            _check(levels, threshold)
        else:  # places are not people: left as they are
            assert all(s.hidden is None for s in levels.values())


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000))
def test_comparison_rows_hide_where_either_side_is_hidden(seed: int) -> None:
    inputs = _inputs(seed)
    scenario = Scenario(name="meer", changes=(InflowFactor(1.4),))
    raw = compare(inputs, scenario, ProjectionSettings(runs=30, seed=seed))
    protected = protect_comparison(raw, THRESHOLD)
    rows = list(protected.rows())
    for row in rows:
        if row["output"] in PEOPLE_OUTPUTS and not row["hidden"]:
            assert not (0 < row["base_p50"] < THRESHOLD), row
            assert not (0 < row["scenario_p50"] < THRESHOLD), row
    for key, d in protected.difference.items():
        b, s = protected.base[key].hidden, protected.scenario[key].hidden
        if b is not None and s is not None:
            assert d.hidden is not None and np.array_equal(d.hidden, b | s)


@pytest.mark.parametrize("value", ["1", "0", "-5", "vijf", "2.5", "101", ""])
def test_a_bad_threshold_stops_start_up_with_a_clear_message(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEK_SMALL_CELL_THRESHOLD", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = settings_problems(caught.value)
    assert "STEK_SMALL_CELL_THRESHOLD" in message and "2 tot en met 100" in message
    monkeypatch.setenv("STEK_SMALL_CELL_THRESHOLD", "10")
    assert Settings().small_cell_threshold == 10
