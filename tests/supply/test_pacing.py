"""Pacing annual contingents: budgets, dual prices, and the hindsight bound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.flow import FlowInput
from matcher.problem import Contingent
from supply.pacing import YearProblem, budget_targets, hindsight, paced_contingents, run_year

I32 = np.int32


def flow(
    pairs: list[tuple[int, int, int]],
    n_youths: int,
    option_contingent: list[int],
    contingent_left: list[int],
    option_capacity: list[int] | None = None,
) -> FlowInput:
    n_o = len(option_contingent)
    return FlowInput(
        n_youths=n_youths,
        pair_youth=np.array([p[0] for p in pairs], I32),
        pair_option=np.array([p[1] for p in pairs], I32),
        pair_value=np.array([p[2] for p in pairs], np.int64),
        option_capacity=np.array(option_capacity or [1] * n_o, np.int64),
        option_house=np.full(n_o, -1, I32),
        house_capacity=np.zeros(0, np.int64),
        house_contingent=np.zeros(0, I32),
        house_gemeente=np.zeros(0, I32),
        option_contingent=np.array(option_contingent, I32),
        option_gemeente=np.zeros(n_o, I32),
        contingent_left=np.array(contingent_left, np.int64),
        contingent_gemeente=np.zeros(len(contingent_left), I32),
        gemeente_cap=np.array([-1], np.int64),
    )


def test_budget_targets_follow_the_weights_and_end_at_the_amount() -> None:
    targets = budget_targets(np.array([12, 5, 0]), None, 12)
    assert targets[:, 0].tolist() == list(range(1, 13))
    assert np.all(np.diff(targets, axis=0) >= 0)
    assert targets[-1].tolist() == [12, 5, 0]
    late = budget_targets(np.array([10]), [0] * 6 + [1] * 6, 12)
    assert late[5, 0] == 0 and late[-1, 0] == 10
    with pytest.raises(ValueError, match="weights"):
        budget_targets(np.array([1]), [-1.0] * 12, 12)


def burn_case() -> YearProblem:
    """One contingent unit. A (value 10) is here in January; six people worth 100 each come
    from April to September, each for an own place; past years show many of them. All places
    are free from January and use the same contingent."""
    pairs = [(0, 0, 10)] + [(y, y, 100) for y in range(1, 7)]
    pairs += [(y, 1 + y % 6, 100) for y in range(7, 19)]
    f = flow(pairs, 19, option_contingent=[0] * 7, contingent_left=[1])
    youth_month = np.array([0, 3, 4, 5, 6, 7, 8] + [-1] * 12)
    return YearProblem(f, youth_month, np.zeros(7, np.int64))


def test_greedy_burns_the_contingent_early_and_pacing_keeps_it() -> None:
    problem = burn_case()
    assert hindsight(problem).value == 100
    greedy = run_year(problem, "greedy")
    assert greedy.value == 10 and greedy.contingent_used_by_month[0] == 1
    paced = run_year(problem, "dual", samples=4, seed=1)
    assert paced.value == 100
    assert paced.contingent_used_by_month[0] == 0 and paced.contingent_used_by_month.sum() == 1


def test_budget_pacing_spreads_use_over_the_year() -> None:
    pairs = [(y, y, 50) for y in range(12)]
    f = flow(pairs, 12, option_contingent=[0] * 12, contingent_left=[6])
    # Everybody is here in January: greedy uses all six units at once, budget pacing follows
    # its cumulative targets (half a unit a month, rounded).
    problem = YearProblem(f, np.zeros(12, np.int64), np.zeros(12, np.int64))
    assert run_year(problem, "greedy").contingent_used_by_month.tolist() == [6] + [0] * 11
    budget = run_year(problem, "budget").contingent_used_by_month
    assert np.array_equal(np.cumsum(budget), budget_targets(np.array([6]), None, 12)[:, 0])
    assert budget.max() == 1 and budget.sum() == 6


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    policy=st.sampled_from(["greedy", "budget", "dual", "stochastic"]),
    patience=st.sampled_from([None, 0, 1, 3]),
)
def test_hindsight_is_an_upper_bound(seed: int, policy: str, patience: int | None) -> None:
    rng = np.random.default_rng(seed)
    n_y, n_o, n_k = 14, 8, 2
    pairs = [
        (y, o, int(rng.integers(1, 100)))
        for y in range(n_y)
        for o in range(n_o)
        if rng.random() < 0.35
    ]
    if not pairs:
        return
    f = flow(
        pairs,
        n_y,
        option_contingent=rng.integers(-1, n_k, n_o).tolist(),
        contingent_left=rng.integers(0, 4, n_k).tolist(),
    )
    youth_month = np.where(rng.random(n_y) < 0.4, -1, rng.integers(0, 12, n_y))
    problem = YearProblem(f, youth_month, rng.integers(0, 12, n_o), patience=patience)
    best = hindsight(problem)
    outcome = run_year(problem, policy, samples=2, seed=seed)  # type: ignore[arg-type]
    assert outcome.value <= best.value
    assert outcome.contingent_unused >= 0
    assert outcome.contingent_used_by_month.sum() <= f.contingent_left.sum()


@pytest.mark.parametrize("policy", ["dual", "stochastic"])
def test_both_pacers_keep_the_contingent(policy: str) -> None:
    paced = run_year(burn_case(), policy, samples=4, seed=1)  # type: ignore[arg-type]
    assert paced.value == 100 and paced.contingent_used_by_month[0] == 0


def patience_case(patience: int | None) -> YearProblem:
    """A arrives in January; six people like B come from June to November. One place, free
    from January, worth 10 to A and 100 to each of the others (one contingent unit)."""
    pairs = [(0, 0, 10)] + [(y, 0, 100) for y in range(1, 15)]
    f = flow(pairs, 15, option_contingent=[0], contingent_left=[1])
    youth_month = np.array([0, 5, 6, 7, 8, 9, 10] + [-1] * 8)
    return YearProblem(f, youth_month, np.zeros(1, np.int64), patience=patience)


def test_patience_ends_a_wait_and_bounds_hindsight_the_same_way() -> None:
    # A place free from March cannot go to someone who arrived in January and waits 1 month.
    pairs = [(0, 0, 10)]
    f = flow(pairs, 1, option_contingent=[-1], contingent_left=[])
    late_place = np.array([2])
    assert hindsight(YearProblem(f, np.array([0]), late_place, patience=1)).value == 0
    assert hindsight(YearProblem(f, np.array([0]), late_place, patience=2)).value == 10
    for policy in ("greedy", "budget", "dual", "stochastic"):
        short = run_year(YearProblem(f, np.array([0]), late_place, patience=1), policy)  # type: ignore[arg-type]
        assert short.value == 0 and short.placements == 0
    # Pacing still keeps the place for B when waiting for B costs nothing but A's chance.
    for patience in (None, 0, 2):
        assert hindsight(patience_case(patience)).value == 100
        for policy in ("dual", "stochastic"):
            paced = run_year(patience_case(patience), policy, samples=4, seed=3)  # type: ignore[arg-type]
            assert paced.value == 100


def test_negative_patience_is_refused() -> None:
    f = flow([(0, 0, 10)], 1, option_contingent=[-1], contingent_left=[])
    with pytest.raises(ValueError, match="patience"):
        YearProblem(f, np.array([0]), np.array([0]), patience=-1)


def test_a_youth_in_the_last_month_is_placed_when_nobody_else_wants_the_place() -> None:
    """Pacing must not price someone out of a place nobody in any future wants."""
    pairs = [(0, 0, 10)] + [(y, 1, 100) for y in range(1, 10)]
    f = flow(pairs, 10, option_contingent=[0, 0], contingent_left=[5])
    youth_month = np.array([0, 4, 6] + [-1] * 7)
    problem = YearProblem(f, youth_month, np.zeros(2, np.int64), patience=0)
    assert hindsight(problem).value == 110
    for policy in ("dual", "stochastic"):
        outcome = run_year(problem, policy, samples=4, seed=5)  # type: ignore[arg-type]
        assert outcome.value == 110, policy


def test_paced_contingents_give_each_month_its_share_of_the_year() -> None:
    plain = Contingent("WC-A", "GM0796", 2026, 12)
    late = Contingent("WC-B", "GM0797", 2026, 12, used=2)
    ahead = Contingent("WC-C", "GM0796", 2026, 12, used=5)
    # Uniform: one unit a month, what earlier months left rolls over.
    assert [c.month_budget for c in paced_contingents([plain, ahead], 3)] == [3, 0]
    assert paced_contingents([plain], 3)[0].left == 3
    # GM0797 expects its care leavers in the second half of the year only.
    weights = {"GM0797": [0.0] * 6 + [1.0] * 6}
    assert paced_contingents([late], 6, weights)[0].month_budget == 0
    assert paced_contingents([late], 9, weights)[0].month_budget == 4
    assert paced_contingents([late], 12, weights)[0].month_budget == 10
    # Gemeenten without weights, or nobody expected all year, are uniform.
    assert paced_contingents([plain], 6, weights)[0].month_budget == 6
    assert paced_contingents([plain], 6, {"GM0796": [0.0] * 12})[0].month_budget == 6


def test_paced_contingents_refuse_bad_months_and_weights() -> None:
    c = Contingent("WC-A", "GM0796", 2026, 12)
    with pytest.raises(ValueError, match="month"):
        paced_contingents([c], 13)
    with pytest.raises(ValueError, match="GM0796"):
        paced_contingents([c], 2, {"GM0796": [1.0] * 11})
    with pytest.raises(ValueError, match="GM0796"):
        paced_contingents([c], 2, {"GM0796": [-1.0] * 12})
    with pytest.raises(ValueError, match="GM0796"):
        paced_contingents([c], 2, {"GM0796": [1.0] * 11 + [float("nan")]})
