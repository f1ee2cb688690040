"""The exact path area by area around a rule-keeping allocation (matcher.regions)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.exact import ExactOutcome, GaveUp, build_linear_model, keeps_pair_rows, solve_exact
from matcher.fixed import check_fixed_pairs
from matcher.flow import solve_flow
from matcher.flownet import flow_input, flow_pairs
from matcher.instance import Instance
from matcher.problem import ConflictingFixedPairs, Round
from matcher.regions import AreaIndex, improve_by_area, option_areas, sub_instance
from matcher.repair import repair, side_violations
from matcher.solve import assignment_of, pairs_of_assignment, solve
from matcher.verifier import verify
from tests.matcher.strategies import (
    assignment_of_codes,
    instance_of,
    make_option,
    make_round,
    make_youth,
    placed_codes,
    rounds,
)

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _start(inst: Instance, drop: list[bool]) -> np.ndarray | None:
    """A rule-keeping allocation short of the optimum: the flow's placements less those of the
    youths ``drop`` marks (fixed youths stay), repaired. None when the fixed pairs cannot hold
    or the repair cannot keep every rule."""
    try:
        check_fixed_pairs(inst)
    except ConflictingFixedPairs:
        return None
    fin, keep = flow_input(inst)
    start = assignment_of(inst, flow_pairs(inst, keep, solve_flow(fin).pair_used))
    fixed = {y for y, _ in inst.fixed}
    for y in range(inst.n_youths):
        if y not in fixed and drop[y % len(drop)]:
            start[y] = -1
    start = repair(inst, start)
    return start if verify(inst.round, placed_codes(inst, start)) == [] else None


def _housing(inst: Instance, assign: np.ndarray) -> int:
    return int(inst.youth_weight[assign >= 0].sum())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(rounds(max_youths=7, max_options=7), rounds(max_youths=7, max_options=7, fixed=True)),
    st.lists(st.booleans(), min_size=1, max_size=7),
    st.data(),
)
def test_an_allocation_of_the_sub_instance_keeps_the_rules_exactly_when_the_round_does(
    rnd: Round, drop: list[bool], data: st.DataObject
) -> None:
    """Splicing any allocation of an area's free youths over its options into the round: the
    sub-instance's own rows and house rules accept it if and only if the round's verifier does,
    and the allocation it came from is one of them (same value)."""
    inst = instance_of(rnd)
    start = _start(inst, drop)
    if start is None or inst.n_options == 0:
        return  # no rule-keeping start to splice into
    max_options = data.draw(st.sampled_from([0, 1, 100]))
    index = AreaIndex.of(inst, option_areas(inst, max_options))
    area = data.draw(st.sampled_from(sorted(set(index.area.tolist()))))
    part = sub_instance(inst, start, area, index)
    sub = part.inst
    if sub.n_pairs == 0:
        return
    lm, _ = build_linear_model(sub, np.arange(sub.n_pairs, dtype=np.int64))
    assert keeps_pair_rows(lm, part.current)
    assert int(sub.pair_value[part.current].sum()) == int(
        inst.pair_value[part.pairs[part.current]].sum()
    )
    for _ in range(12):
        local = np.full(sub.n_youths, -1, dtype=np.int64)
        for y in range(sub.n_youths):
            r = sub.pairs_of(y)
            choice = data.draw(st.integers(-1, len(r) - 1))
            if choice >= 0:
                local[y] = sub.pair_option[r.start + choice]
        used = np.zeros(sub.n_pairs, dtype=bool)
        used[local[sub.pair_youth] == sub.pair_option] = True
        sub_ok = keeps_pair_rows(lm, used) and side_violations(sub, local) == (set(), set())
        spliced = start.copy()
        spliced[part.youths] = -1
        spliced[inst.pair_youth[part.pairs[used]]] = inst.pair_option[part.pairs[used]]
        assert sub_ok == (verify(inst.round, placed_codes(inst, spliced)) == [])


@SLOW
@given(rounds(max_youths=8, max_options=8), st.lists(st.booleans(), min_size=1, max_size=8))
def test_in_a_round_of_one_gemeente_the_areas_reach_the_optimal_housing(
    rnd: Round, drop: list[bool]
) -> None:
    """All options in one gemeente make the round one area: from any rule-keeping start the
    exact path reaches the housing of the round's proven optimum; the result keeps every rule
    and is never worth less than the start."""
    rnd = replace(
        rnd, options=tuple(replace(o, gemeente_code="GM0796", wijk_code=None) for o in rnd.options)
    )
    inst = instance_of(rnd)
    start = _start(inst, drop)
    if start is None:
        return
    touched = np.ones(inst.n_options, dtype=bool)
    better = improve_by_area(inst, start, touched, pair_budget=10**9, seconds=10.0)
    assert verify(inst.round, placed_codes(inst, better.assign)) == []
    value = inst.pair_value[pairs_of_assignment(inst, better.assign)].sum()
    assert value >= inst.pair_value[pairs_of_assignment(inst, start)].sum()
    optimum = solve(rnd, time_limit_s=20)
    if optimum.status == "optimal":
        assert _housing(inst, better.assign) == optimum.objective // inst.housing_scale


def _chain_round() -> Round:
    """J-1 (most urgent) may take U-1 or U-2, J-2 only U-1, both in one gemeente."""
    youths = [
        make_youth("J-1", birth_date=make_youth().birth_date.replace(year=2001)),
        make_youth("J-2"),
    ]
    options = [make_option("U-1"), make_option("U-2", x=150_100.0)]
    return make_round(youths, options, forbidden_pairs=(("J-2", "U-2"),))


def test_a_chain_no_refill_finds_is_found_within_the_area() -> None:
    """J-1 sits in U-1, the only option J-2 has: housing J-2 takes moving J-1 to U-2 first,
    a chain the greedy refill never makes. The area's exact path does; a pair budget too small
    for the area, or an area nobody touched, leaves the allocation as it was."""
    inst = instance_of(_chain_round())
    start = assignment_of_codes(inst, {"J-1": "U-1"})
    touched = np.ones(inst.n_options, dtype=bool)
    better = improve_by_area(inst, start, touched, pair_budget=10**6)
    assert placed_codes(inst, better.assign) == {"J-1": "U-2", "J-2": "U-1"}
    assert (better.looked_at, better.solved, better.gained) == (1, 1, 1)
    assert verify(inst.round, placed_codes(inst, better.assign)) == []
    tight = improve_by_area(inst, start, touched, pair_budget=inst.n_pairs - 1)
    assert np.array_equal(tight.assign, start) and tight.solved == 0
    untouched = improve_by_area(inst, start, np.zeros(inst.n_options, dtype=bool), 10**6)
    assert np.array_equal(untouched.assign, start) and untouched.looked_at == 0


def test_an_area_with_no_housing_to_gain_is_not_solved() -> None:
    """Both youths housed already: the area's flow bound leaves no urgency unit to gain, so the
    exact path never runs there (its preference might still move, which is not worth a solve)."""
    inst = instance_of(_chain_round())
    start = assignment_of_codes(inst, {"J-1": "U-2", "J-2": "U-1"})
    better = improve_by_area(inst, start, np.ones(inst.n_options, dtype=bool), 10**6)
    assert better.solved == 0
    assert np.array_equal(better.assign, start)


def test_large_gemeenten_are_taken_wijk_by_wijk() -> None:
    """A gemeente with more options than ``max_options`` splits by wijk (options without a wijk
    share one area); a smaller one stays whole."""
    options = [
        make_option("A-1", wijk_code="WK079601"),
        make_option("A-2", wijk_code="WK079601"),
        make_option("A-3", wijk_code="WK079602"),
        make_option("A-4", wijk_code=None),
        make_option("B-1", gemeente_code="GM0828", wijk_code="WK082801"),
        make_option("B-2", gemeente_code="GM0828", wijk_code="WK082802"),
    ]
    inst = instance_of(make_round([make_youth()], options))
    code = {c: j for j, c in enumerate(inst.option_codes)}

    def groups(max_options: int) -> set[frozenset[str]]:
        areas = option_areas(inst, max_options)
        return {frozenset(c for c in code if areas[code[c]] == a) for a in set(areas.tolist())}

    assert groups(2) == {
        frozenset({"A-1", "A-2"}),
        frozenset({"A-3"}),
        frozenset({"A-4"}),
        frozenset({"B-1", "B-2"}),
    }
    assert groups(4) == {frozenset({"A-1", "A-2", "A-3", "A-4"}), frozenset({"B-1", "B-2"})}


def test_the_exact_path_stops_when_its_housing_bound_is_not_above_the_callers() -> None:
    inst = instance_of(_chain_round())
    optimum = solve_exact(inst, None, 5.0)
    assert isinstance(optimum, ExactOutcome)
    stopped = solve_exact(inst, None, 5.0, housing_above=optimum.housing)
    assert isinstance(stopped, GaveUp) and stopped.det_time == 0.0
    again = solve_exact(inst, None, 5.0, housing_above=optimum.housing - 1)
    assert isinstance(again, ExactOutcome) and again.value == optimum.value


def test_a_fixed_pair_in_the_area_stays_fixed_in_its_sub_instance() -> None:
    """J-1 accepted into U-1: the sub-instance holds that fixed pair (at its own indices), so
    the chain that would house J-2 is not taken and J-1 keeps U-1."""
    rnd = replace(_chain_round(), fixed_pairs=(("J-1", "U-1"),))
    inst = instance_of(rnd)
    start = assignment_of_codes(inst, {"J-1": "U-1"})
    index = AreaIndex.of(inst, option_areas(inst))
    part = sub_instance(inst, start, 0, index)
    sub = part.inst
    [(y, o)] = sub.fixed
    assert sub.youth_codes[y] == "J-1" and sub.option_codes[o] == "U-1"
    assert sub.pair_youth[sub.fixed_pair_idx[0]] == y
    assert sub.pair_option[sub.fixed_pair_idx[0]] == o
    better = improve_by_area(inst, start, np.ones(inst.n_options, dtype=bool), 10**6)
    assert placed_codes(inst, better.assign) == {"J-1": "U-1"}


def test_a_house_across_two_wijken_stays_in_one_area() -> None:
    """Rooms of one house recorded in two wijken of a large gemeente: both in the area of the
    first, so the house's rules see all its residents."""
    rooms = [
        make_option("F-1", type_code="friends", shared_house_id="H-1", wijk_code="WK079601"),
        make_option("F-2", type_code="friends", shared_house_id="H-1", wijk_code="WK079602"),
        make_option("U-1", wijk_code="WK079602"),
    ]
    inst = instance_of(make_round([make_youth()], rooms))
    areas = option_areas(inst, 0)
    code = {c: j for j, c in enumerate(inst.option_codes)}
    assert areas[code["F-1"]] == areas[code["F-2"]] != areas[code["U-1"]]
