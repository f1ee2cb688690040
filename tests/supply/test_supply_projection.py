"""Behaviour of the stock-flow projection: Little's law, conservation, seeds, sums, monotonicity."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from supply_builders import small_inputs

from store.csvio import spreadsheet_safe
from supply.engine import prepare, simulate_chunk
from supply.model import SupplyInputs, los_uniform
from supply.projection import ProjectionSettings, project, simulate, write_rows_csv
from supply.stats import Histogram, aggregate_levels

FAST = ProjectionSettings(runs=40, chunk_size=16, seed=3)


def ample(inputs: SupplyInputs, months: int, rate: float) -> SupplyInputs:
    """Constant inflow, empty start, far more places and contingent than needed."""
    g, t, c = inputs.shape
    return replace(
        inputs,
        inflow=np.full((months, g, t), rate),
        waiting=np.zeros((g, t), np.int64),
        capacity=np.full((g, t, c), 500),
        occupancy=np.zeros((g, t, c), np.int64),
        turnover=np.zeros((g, t, c)),
        contingent=np.full((months // 12 + 1, g, c), 10_000),
        contingent_used=np.zeros((g, c), np.int64),
        capacity_added=None,
        pipeline=(),
    )


@pytest.mark.parametrize("rate", [0.3, 1.0, 2.7])
def test_littles_law_in_deterministic_steady_state(rate: float) -> None:
    los = np.stack([los_uniform(6, 12, 25), los_uniform(3, 24, 25)])
    inputs = ample(small_inputs(los=los), 96, rate)
    series = simulate(inputs, ProjectionSettings(mode="deterministic"))
    occupancy = series["occupancy"][0].sum(axis=3)  # (M, G, T)
    steady = occupancy[-36:].mean(axis=0)
    expected = rate * inputs.mean_stay()[None, :]
    assert np.all(np.abs(steady - expected) / expected < 0.02)
    assert series["waiting"][0, -1].sum() == 0  # ample supply: nobody waits


def check_conservation(inputs: SupplyInputs, s: ProjectionSettings) -> None:
    series = simulate(inputs, s)
    occ, placed, out = series["occupancy"], series["placements"], series["move_outs"]
    previous = np.concatenate(
        [np.broadcast_to(inputs.occupancy, occ[:, :1].shape), occ[:, :-1]], axis=1
    )
    assert np.array_equal(previous + placed - out, occ)
    waiting = series["waiting"]
    before = np.concatenate(
        [np.broadcast_to(inputs.waiting, waiting[:, :1].shape), waiting[:, :-1]], axis=1
    )
    assert np.array_equal(before + series["inflow"] - placed.sum(axis=4), waiting)
    assert np.all(occ >= 0) and np.all(waiting >= 0) and np.all(out >= 0)
    assert np.all(series["contingent_left"] >= 0)


@pytest.mark.parametrize("mode", ["deterministic", "poisson", "negbin"])
@pytest.mark.parametrize("moving_on", [True, False])
def test_stock_conservation_every_month(mode: str, moving_on: bool) -> None:
    inputs = small_inputs(moving_on_uses_contingent=moving_on)
    check_conservation(inputs, replace(FAST, mode=mode, dispersion=1.5))  # type: ignore[arg-type]


def test_conservation_with_per_type_contingent_shares() -> None:
    share = np.zeros((2, 2, 2))
    share[:, 0], share[:, 1] = 0.7, 0.3
    check_conservation(small_inputs(contingent_share=share), FAST)


def test_occupancy_never_exceeds_capacity() -> None:
    inputs = small_inputs()
    series = simulate(inputs, FAST)
    pipeline_most = sum(p.places for p in inputs.pipeline)
    assert np.all(series["occupancy"] <= inputs.capacity[None, None] + pipeline_most)


def test_contingent_is_never_overspent_and_resets_in_january() -> None:
    inputs = small_inputs()
    series = simulate(inputs, FAST)
    used = series["contingent_used"]  # (R, M, G, C)
    assert np.all(used[:, :12] <= inputs.contingent[0][None, None])
    assert np.all(used[:, 12:] <= inputs.contingent[1][None, None])
    assert np.all(np.diff(used[:, :12], axis=1) >= 0)  # within a year it only grows


def test_same_seed_same_output_other_seed_differs() -> None:
    inputs = small_inputs()
    a = simulate(inputs, FAST)
    b = simulate(inputs, FAST)
    c = simulate(inputs, replace(FAST, seed=4))
    for name in a.arrays:
        assert np.array_equal(a[name], b[name])
    assert not np.array_equal(a["inflow"], c["inflow"])


def test_workers_do_not_change_results() -> None:
    inputs = small_inputs()
    one = project(inputs, FAST).get("shortfall", "gemeente_type")
    two = project(inputs, replace(FAST, workers=2)).get("shortfall", "gemeente_type")
    for q in one.quantiles:
        assert np.array_equal(one.quantiles[q], two.quantiles[q])


def test_processes_give_the_same_result_as_one_thread() -> None:
    inputs = small_inputs()
    s = replace(FAST, levels=("total", "gemeente_corporation"))
    one = project(inputs, s)
    many = project(inputs, replace(s, workers=2, parallel="processes"))
    assert many.runs == one.runs == FAST.runs
    for key, st_ in one.stats.items():
        for q in st_.quantiles:
            assert np.array_equal(st_.quantiles[q], many.stats[key].quantiles[q]), key
        assert np.allclose(st_.mean, many.stats[key].mean)


def test_group_sums_equal_total_per_run() -> None:
    inputs = small_inputs()
    prep = prepare(inputs, "poisson", None)
    rng = np.random.default_rng(5)
    chunk = simulate_chunk(prep, inputs.waiting, 30, rng, rng)
    levels = ("total", "gemeente", "type", "corporation", "gemeente_corporation", "group")
    for output in ("occupancy", "placements", "move_outs"):
        sums = aggregate_levels(getattr(chunk, output), output, levels)
        for level in levels[1:]:
            assert np.array_equal(sums[level].sum(axis=0), sums["total"][0]), (output, level)
    waiting = aggregate_levels(chunk.waiting, "waiting", ("total", "gemeente_type"))
    assert np.array_equal(waiting["gemeente_type"].sum(axis=0), waiting["total"][0])


def test_total_quantiles_come_from_per_run_totals() -> None:
    inputs = small_inputs()
    s = ProjectionSettings(runs=60, chunk_size=25, seed=9, levels=("total", "group"))
    series = simulate(inputs, s)
    stats = project(inputs, s)
    totals = series["shortfall"].sum(axis=(2, 3))  # (R, M)
    for q in (0.1, 0.5, 0.9):
        expected = np.quantile(totals, q, axis=0, method="inverted_cdf")
        assert np.array_equal(stats.get("shortfall", "total").quantiles[q][0], expected)
    occupancy = series["occupancy"].reshape(60, inputs.months, -1)
    group = stats.get("occupancy", "group")
    expected = np.quantile(occupancy, 0.9, axis=0, method="inverted_cdf").T
    assert np.array_equal(group.quantiles[0.9], expected)
    assert np.allclose(group.mean, occupancy.mean(axis=0).T)


@given(st.lists(st.integers(-5, 40), min_size=1, max_size=80), st.integers(1, 4))
@settings(max_examples=40, deadline=None)
def test_histogram_quantiles_match_numpy(values: list[int], pieces: int) -> None:
    data = np.array(values, np.int64)
    hist = Histogram(1, 1)
    for part in np.array_split(data, pieces):
        hist.add(part[None, None, :])
    q = hist.quantiles((0.1, 0.5, 0.9))[:, 0, 0]
    assert list(q) == [int(np.quantile(data, p, method="inverted_cdf")) for p in (0.1, 0.5, 0.9)]


def more_supply(inputs: SupplyInputs, places: int, contingent: int, cell: int) -> SupplyInputs:
    g, t, c = divmod(cell, 4)[0] % 2, divmod(cell, 2)[0] % 2, cell % 2
    cap = np.array(inputs.capacity, copy=True)
    occ = inputs.occupancy
    cap[g, t, c] += places
    cont = np.array(inputs.contingent, copy=True)
    cont[:, g, c] += contingent
    return replace(inputs, capacity=cap, occupancy=occ, contingent=cont)


def per_type_pools() -> np.ndarray:
    share = np.zeros((2, 2, 2))
    share[:, 0], share[:, 1] = 0.5, 0.5
    return share


@given(st.integers(0, 6), st.integers(0, 6), st.integers(0, 7), st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_more_supply_never_raises_shortfall_per_run_and_cell(
    places: int, contingent: int, cell: int, seed: int
) -> None:
    """Holds per run (common random numbers) when each type has its own contingent pool and
    leavers need no contingent; docs/supply-model.md explains why shared pools and moving on
    can make more supply in one group cost shortfall elsewhere."""
    base = small_inputs(moving_on_uses_contingent=False, contingent_share=per_type_pools())
    more = more_supply(base, places, contingent, cell)
    s = ProjectionSettings(runs=12, chunk_size=12, seed=seed)
    a = simulate(base, s)["shortfall"]
    b = simulate(more, s)["shortfall"]
    assert np.all(b <= a)


@given(st.integers(0, 6), st.integers(0, 7), st.integers(0, 2**16))
@settings(max_examples=20, deadline=None)
def test_more_supply_never_raises_median_shortfall(places: int, cell: int, seed: int) -> None:
    base = small_inputs(moving_on_uses_contingent=False, contingent_share=per_type_pools())
    more = more_supply(base, places, places, cell)
    s = ProjectionSettings(runs=30, chunk_size=30, seed=seed, levels=("total", "gemeente_type"))
    for level in ("total", "gemeente_type"):
        a = project(base, s).get("shortfall", level).quantiles[0.5]
        b = project(more, s).get("shortfall", level).quantiles[0.5]
        assert np.all(b <= a), level


def test_shared_pool_can_make_more_places_cost_shortfall_elsewhere() -> None:
    """Documented non-monotonicity: extra places at a corporation with a small shared
    contingent draw demand away from a corporation whose contingent then lapses unused."""
    base = small_inputs(moving_on_uses_contingent=False)
    found = False
    for seed in range(15):
        for cell in range(8):
            more = more_supply(base, 3, 0, cell)
            s = ProjectionSettings(runs=10, chunk_size=10, seed=seed)
            a = simulate(base, s)["shortfall"].sum(axis=(2, 3))
            b = simulate(more, s)["shortfall"].sum(axis=(2, 3))
            found = found or bool(np.any(b > a))
    assert found


def sparse_inputs() -> SupplyInputs:
    """Three corporations; each gemeente has only some of them (as in real regions)."""
    base = small_inputs()
    cap = np.zeros((2, 2, 3), np.int64)
    cap[0, :, 0], cap[0, :, 2], cap[1, :, 1] = (4, 2), (1, 3), (5, 2)
    occ = cap // 2
    cont = np.zeros((2, 2, 3), np.int64)
    cont[:, 0, 0], cont[:, 0, 2], cont[:, 1, 1] = 3, 2, 4
    return replace(
        base,
        corporations=("CORP-A", "CORP-B", "CORP-C"),
        capacity=cap,
        occupancy=occ,
        turnover=np.full(cap.shape, 0.05),
        contingent=cont,
        contingent_used=np.zeros((2, 3), np.int64),
        capacity_added=None,
        pipeline=(),
    )


def test_corporation_slots_change_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    import supply.engine as engine

    inputs = sparse_inputs()
    assert engine.corporation_slots(inputs).shape == (2, 2)  # 2 slots instead of 3
    s = ProjectionSettings(runs=20, chunk_size=10, seed=11, levels=("total", "group"))
    packed = simulate(inputs, s)
    packed_stats = project(inputs, s)
    dense_slots = np.tile(np.arange(3)[:, None], (1, 2))
    monkeypatch.setattr(engine, "corporation_slots", lambda _inputs: dense_slots)
    dense = simulate(inputs, s)
    dense_stats = project(inputs, s)
    for name in packed.arrays:
        assert np.array_equal(packed[name], dense[name]), name
    for key, st_ in packed_stats.stats.items():
        assert np.array_equal(st_.quantiles[0.5], dense_stats.stats[key].quantiles[0.5]), key
    assert not packed["occupancy"][:, :, 1, :, 0].any()  # CORP-A has nothing in GM0828
    check_conservation(inputs, s)


def test_projection_csv_cells_pass_the_adapters_guard(tmp_path: Path) -> None:
    """Cells hold names from imported files: the CLI passes the spreadsheet-formula guard."""
    rows = [{"cell": "=HYPERLINK('x')", "p50": -5.0}, {"cell": "Oss", "p50": 3.0}]
    write_rows_csv(rows, tmp_path / "raw.csv")
    write_rows_csv(rows, tmp_path / "safe.csv", spreadsheet_safe)
    assert "\n=HYPERLINK" in (tmp_path / "raw.csv").read_text(encoding="utf-8")
    safe = (tmp_path / "safe.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in safe and ";-5.0" in safe  # numbers are not text: left alone
