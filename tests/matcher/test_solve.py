"""The solver against brute force, an independent CP-SAT formulation, the greedy and itself.

Every solve runs the independent verifier (``solve`` raises ``SolverBug`` on a violation), so
each hypothesis example below also checks that the verifier accepts the result.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from matcher.flow import solve_flow
from matcher.flownet import flow_input
from matcher.greedy import greedy
from matcher.instance import build_instance
from matcher.problem import ConflictingFixedPairs, Contingent, Round
from matcher.result import REASON_CODES
from matcher.rules import screen
from matcher.scoring import pair_values
from matcher.solve import canonical_round, solve
from matcher.verifier import verify
from tests.matcher.strategies import (
    make_option,
    make_round,
    make_type,
    make_youth,
    placed_codes,
    rounds,
)

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _values(rnd: Round) -> tuple[Round, dict[tuple[str, str], int]]:
    canon = canonical_round(rnd)
    sc = screen(canon)
    pv = pair_values(canon, sc)
    value = {
        (canon.youths[y].code, canon.options[o].code): int(v)
        for y, o, v in zip(
            sc.youth_idx.tolist(), sc.option_idx.tolist(), pv.value.tolist(), strict=True
        )
    }
    return canon, value


def brute_force(rnd: Round) -> int:
    """Best total value over every assignment the verifier accepts (tiny rounds only)."""
    canon, value = _values(rnd)
    choices: list[list[str | None]] = []
    for y in canon.youths:
        choices.append([None, *[o for (yc, o) in value if yc == y.code]])
    best = 0
    for combo in itertools.product(*choices):
        assignment = {y.code: o for y, o in zip(canon.youths, combo, strict=True) if o is not None}
        total = sum(value[(y, o)] for y, o in assignment.items())
        if total > best and not verify(canon, assignment):
            best = total
    return best


def independent_cpsat(rnd: Round) -> int:
    """Plain CP-SAT over all eligible pairs: capacity, contingents, gemeente caps (no houses)."""
    from matcher.rules import contingent_of

    canon, value = _values(rnd)
    model = cp_model.CpModel()
    x = {p: model.new_bool_var(f"{p}") for p in value}
    options = {o.code: o for o in canon.options}
    for y in canon.youths:
        model.add_at_most_one(v for (yc, _), v in x.items() if yc == y.code)
    for o in canon.options:
        model.add(sum(v for (_, oc), v in x.items() if oc == o.code) <= o.capacity)
    for k, c in enumerate(canon.contingents):
        model.add(
            sum(v for (_, oc), v in x.items() if contingent_of(canon, options[oc]) == k) <= c.left
        )
    for g, cap in canon.gemeente_caps:
        model.add(sum(v for (_, oc), v in x.items() if options[oc].gemeente_code == g) <= cap)
    model.maximize(sum(value[p] * v for p, v in x.items()))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    assert solver.solve(model) == cp_model.OPTIMAL
    return round(solver.objective_value)


@FAST
@given(rounds(max_youths=4, max_options=4, shared=True))
def test_objective_equals_brute_force_with_side_rules(rnd: Round) -> None:
    result = solve(rnd, time_limit_s=10)
    assert result.status == "optimal"
    assert result.objective == brute_force(rnd)
    assert result.bound == result.objective and result.gap == 0.0
    assert result.flow_bound >= result.objective  # the flow is a relaxation


@FAST
@given(rounds(max_youths=7, max_options=7, shared=False))
def test_without_side_rules_the_flow_is_optimal_and_matches_cpsat(rnd: Round) -> None:
    result = solve(rnd, time_limit_s=10)
    assert result.method == "flow"
    assert result.status == "optimal"
    assert result.objective == independent_cpsat(rnd)


@FAST
@given(rounds(max_youths=7, max_options=7, shared=True))
def test_every_unmatched_youth_has_a_reason_and_results_verify(rnd: Round) -> None:
    result = solve(rnd, time_limit_s=10)
    assert not verify(canonical_round(rnd), result.assignment)
    youths = {y.code for y in rnd.youths}
    assert set(result.unmatched) == youths - set(result.assignment)
    for code, why in result.unmatched.items():
        assert why.youth == code and why.reason in REASON_CODES and why.message
        if why.reason == "no_eligible_option":
            assert why.figures["eligible"] == 0
        else:
            assert why.figures["eligible"] > 0
    assert result.housed == len(result.assignment)
    assert sum(result.contingent_use.values()) <= result.housed


@FAST
@given(rounds(max_youths=7, max_options=7, shared=True))
def test_urgency_weighted_housing_never_below_greedy(rnd: Round) -> None:
    """Housing dominates the objective, so an optimal result houses at least greedy's weight."""
    result = solve(rnd, time_limit_s=10)
    canon = canonical_round(rnd)
    sc = screen(canon)
    pv = pair_values(canon, sc)
    inst = build_instance(
        canon, sc.youth_idx, sc.option_idx, pv.value, pv.urgency, sc.option_contingent
    )
    g = greedy(inst)
    assert not verify(canon, placed_codes(inst, g))
    weight = {y.code: int(pv.urgency[i]) for i, y in enumerate(canon.youths)}
    ours = sum(weight[y] for y in result.assignment)
    theirs = sum(int(pv.urgency[y]) for y in np.nonzero(g >= 0)[0].tolist())
    assert result.status == "optimal"
    assert ours >= theirs


@FAST
@given(rounds(max_youths=7, max_options=7, shared=True))
def test_housed_count_never_below_greedy_when_urgency_is_equal(rnd: Round) -> None:
    same = replace(
        rnd,
        youths=tuple(
            replace(y, urgency=3, care_end_date=None, waiting_since=None) for y in rnd.youths
        ),
    )
    result = solve(same, time_limit_s=10)
    canon = canonical_round(same)
    sc = screen(canon)
    pv = pair_values(canon, sc)
    inst = build_instance(
        canon, sc.youth_idx, sc.option_idx, pv.value, pv.urgency, sc.option_contingent
    )
    assert result.housed >= int((greedy(inst) >= 0).sum())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=7, max_options=7, shared=True), st.randoms(use_true_random=False))
def test_deterministic_and_independent_of_input_order(rnd: Round, rng: random.Random) -> None:
    first = solve(rnd, time_limit_s=10, seed=5).to_json()
    assert solve(rnd, time_limit_s=10, seed=5).to_json() == first
    youths, options, contingents = list(rnd.youths), list(rnd.options), list(rnd.contingents)
    rng.shuffle(youths)
    rng.shuffle(options)
    rng.shuffle(contingents)
    shuffled = replace(
        rnd, youths=tuple(youths), options=tuple(options), contingents=tuple(contingents)
    )
    assert solve(shuffled, time_limit_s=10, seed=5).to_json() == first


def _pick_fixed(rnd: Round, data: st.DataObject) -> Round:
    _, value = _values(rnd)
    if not value:
        return rnd
    pairs = sorted(value)
    fixed = data.draw(st.lists(st.sampled_from(pairs), max_size=2, unique_by=lambda p: p[0]))
    return replace(rnd, fixed_pairs=tuple(fixed))


@FAST
@given(rounds(max_youths=6, max_options=6, shared=True, forbidden=True), st.data())
def test_fixed_pairs_kept_and_forbidden_pairs_avoided(rnd: Round, data: st.DataObject) -> None:
    rnd = _pick_fixed(rnd, data)
    try:
        result = solve(rnd, time_limit_s=10)
    except ConflictingFixedPairs as exc:
        assert exc.pairs and set(exc.pairs) <= set(rnd.fixed_pairs)
        return
    for y, o in rnd.fixed_pairs:
        assert result.assignment[y] == o
    for y, o in rnd.forbidden_pairs:
        assert result.assignment.get(y) != o


def test_fixed_pair_twice_for_one_youth_names_both() -> None:
    rnd = make_round(
        [make_youth("J-1")],
        [make_option("O-1"), make_option("O-2", x=150_100.0)],
        fixed_pairs=(("J-1", "O-1"), ("J-1", "O-2")),
    )
    with pytest.raises(ConflictingFixedPairs) as err:
        solve(rnd)
    assert err.value.pairs == (("J-1", "O-1"), ("J-1", "O-2"))
    assert "J-1->O-1" in str(err.value) and "J-1->O-2" in str(err.value)


def test_fixed_pairs_over_capacity_are_named() -> None:
    rnd = make_round(
        [make_youth("J-1"), make_youth("J-2")],
        [make_option("O-1")],
        fixed_pairs=(("J-1", "O-1"), ("J-2", "O-1")),
    )
    with pytest.raises(ConflictingFixedPairs, match="capaciteit") as err:
        solve(rnd)
    assert err.value.pairs == (("J-1", "O-1"), ("J-2", "O-1"))


def test_ineligible_fixed_pair_is_named() -> None:
    rnd = make_round(
        [make_youth("J-1", accepted_types=("kma",))],
        [make_option("O-1")],  # an urgentiewoning the youth does not accept
        fixed_pairs=(("J-1", "O-1"),),
    )
    with pytest.raises(ConflictingFixedPairs, match="niet toegestaan") as err:
        solve(rnd)
    assert err.value.pairs == (("J-1", "O-1"),)


def test_fixed_pair_alone_in_a_friends_house_is_a_conflict() -> None:
    """Friends needs 2 persons; the only other candidate conflicts: the fixed pair cannot hold."""
    friends = make_option("O-F", type_code="friends", capacity=3)
    rnd = make_round(
        [make_youth("J-1", conflicts=("J-2",)), make_youth("J-2", conflicts=("J-1",))],
        [friends],
        fixed_pairs=(("J-1", "O-F"),),
    )
    with pytest.raises(ConflictingFixedPairs) as err:
        solve(rnd)
    assert ("J-1", "O-F") in err.value.pairs


def test_friends_house_needs_two_and_companions_go_together() -> None:
    """Two companions and one loner: the companions share the Friends house, the loner gets the
    single dwelling even though the flow alone would spread them differently."""
    friends = make_option("O-F", type_code="friends", capacity=3)
    single = make_option("O-S", x=150_200.0)
    youths = [
        make_youth("J-1", companions=("J-2",), accepted_types=("friends",)),
        make_youth("J-2", companions=("J-1",), accepted_types=("friends", "urgentie")),
        make_youth("J-3", accepted_types=("urgentie", "friends"), urgency=5),
    ]
    result = solve(make_round(youths, [friends, single]))
    assert result.status == "optimal"
    assert result.assignment == {"J-1": "O-F", "J-2": "O-F", "J-3": "O-S"}


def test_contingent_exhausted_is_the_reason() -> None:
    youths = [make_youth("J-1", urgency=5), make_youth("J-2", urgency=1)]
    options = [make_option("O-1"), make_option("O-2", x=150_100.0)]
    rnd = make_round(
        youths,
        options,
        contingents=(Contingent("WC-A", "GM0796", 2026, amount=1),),
    )
    result = solve(rnd)
    assert result.assignment.keys() == {"J-1"}
    assert result.unmatched["J-2"].reason == "contingent_exhausted"
    assert result.contingent_use == {"WC-A": 1}


def test_outcompeted_names_higher_urgency() -> None:
    youths = [make_youth("J-1", urgency=5), make_youth("J-2", urgency=2)]
    rnd = make_round(youths, [make_option("O-1")])
    result = solve(rnd)
    assert result.assignment == {"J-1": "O-1"}
    why = result.unmatched["J-2"]
    assert why.reason == "outcompeted"
    assert why.figures["options_to_higher_urgency"] == 1


def test_no_eligible_option_counts_failing_rules() -> None:
    rnd = make_round(
        [make_youth("J-1", accepted_types=("kma",))], [make_option("O-1"), make_option("O-2")]
    )
    why = solve(rnd).unmatched["J-1"]
    assert why.reason == "no_eligible_option"
    assert why.figures["type_accepted"] == 2


def test_age_gap_keeps_housemates_close_in_age() -> None:
    house = make_type("bw", persons_max=6, max_age_gap=3, uses_contingent=False)
    options = [make_option(f"O-{k}", type_code="bw", shared_house_id="H-1") for k in range(3)]
    youths = [
        make_youth(
            "J-1", birth_date=make_youth().birth_date.replace(year=2006), accepted_types=("bw",)
        ),
        make_youth(
            "J-2", birth_date=make_youth().birth_date.replace(year=2005), accepted_types=("bw",)
        ),
        make_youth(
            "J-3", birth_date=make_youth().birth_date.replace(year=1999), accepted_types=("bw",)
        ),
    ]
    result = solve(make_round(youths, options, types=(house,)))
    assert result.status == "optimal"
    assert set(result.assignment) == {"J-1", "J-2"}
    assert result.unmatched["J-3"].reason == "house_composition"


def test_progress_reports_every_phase() -> None:
    seen: list[str] = []
    solve(make_round([make_youth()], [make_option()]), progress=lambda p, info: seen.append(p))
    assert seen == ["screen", "score", "flow", "sides", "extract", "explain", "verify"]


@FAST
@given(rounds(max_youths=8, max_options=8, shared=True), st.data())
def test_neighbourhood_path_keeps_every_rule_and_an_honest_bound(
    rnd: Round, data: st.DataObject
) -> None:
    """``full_limit=0`` forces the large-round path (consolidation, age-window flows, CP-SAT on
    a neighbourhood with the rest pinned, or with ``polish_limit=0`` no CP-SAT when the hint
    keeps every rule): still valid, fixed pairs kept, and the bound stays the flow's (never
    CP-SAT's local one)."""
    rnd = _pick_fixed(rnd, data)
    polish_limit = data.draw(st.sampled_from([0, 10**6]))
    try:
        result = solve(
            rnd, time_limit_s=10, full_limit=0, neighbourhood_s=0.5, polish_limit=polish_limit
        )
    except ConflictingFixedPairs:
        return
    assert result.status in ("optimal", "feasible", "infeasible")
    if polish_limit == 0 and result.method == "repair":
        assert result.candidate_pairs == 0  # the hint is the proposal, no CP-SAT
    if result.status == "infeasible":
        return
    assert not verify(canonical_round(rnd), result.assignment)
    for y, o in rnd.fixed_pairs:
        assert result.assignment[y] == o
    assert result.bound == result.flow_bound >= result.objective
    if len(rnd.youths) <= 4:
        # The large-round flow (companion groups as one node) still bounds every allocation.
        assert result.objective <= brute_force(rnd) <= result.flow_bound


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_block_failure_counts_equal_the_per_youth_counts(rnd: Round) -> None:
    """explain_no_eligible counts per block of youths; failure_counts counts one youth."""
    from matcher.result import NO_ELIGIBLE_OPTION, Unmatched
    from matcher.rules import failure_counts
    from matcher.solve import explain_no_eligible

    unmatched = {y.code: Unmatched(y.code, NO_ELIGIBLE_OPTION, "", {}) for y in rnd.youths}
    out = explain_no_eligible(rnd, unmatched)
    for y in rnd.youths:
        assert out[y.code].figures == failure_counts(rnd, y.code)
        assert out[y.code].reason == NO_ELIGIBLE_OPTION


def test_a_month_budget_caps_the_contingent_in_solve_and_verifier() -> None:
    """Three youths, three places of one corporation, a contingent of 10 with a month budget of
    1: one placement, and the verifier rejects an assignment that spends two."""
    options = [make_option(f"O-{k}", x=150_000.0 + 100 * k) for k in range(3)]
    youths = [make_youth(f"J-{k}") for k in range(3)]
    paced = (Contingent("WC-A", "GM0796", 2026, 10, month_budget=1),)
    rnd = make_round(youths, options, contingents=paced)
    result = solve(rnd)
    assert result.status == "optimal" and len(result.assignment) == 1
    assert result.contingent_use == {"WC-A": 1}
    assert verify(canonical_round(rnd), {"J-0": "O-0", "J-1": "O-1"})
    unpaced = make_round(youths, options, contingents=(Contingent("WC-A", "GM0796", 2026, 10),))
    assert len(solve(unpaced).assignment) == 3


def test_a_companion_group_as_one_node_tightens_the_large_round_bound() -> None:
    """J-1 (urgent) and J-2 (not) only live together; J-3 and J-4 compete for the same two
    places. The plain flow houses J-1 beside J-3 or J-4 (no allocation can: J-1 needs J-2
    beside them), a bound one whole youth's urgency too high; read with the group as one node
    (matcher.flowdual), the flow's own duals bound the round within one urgency unit."""
    friends = make_option("O-F", type_code="friends", capacity=2)
    youths = [
        make_youth("J-1", companions=("J-2",), accepted_types=("friends",), urgency=5),
        make_youth("J-2", companions=("J-1",), accepted_types=("friends",), urgency=1),
        make_youth("J-3", accepted_types=("friends",), urgency=3),
        make_youth("J-4", accepted_types=("friends",), urgency=3),
    ]
    rnd = make_round(youths, [friends])
    canon = canonical_round(rnd)
    sc = screen(canon)
    pv = pair_values(canon, sc, canon.seed)
    inst = build_instance(
        canon, sc.youth_idx, sc.option_idx, pv.value, pv.urgency, sc.option_contingent
    )
    plain = solve_flow(flow_input(inst)[0]).value
    best = brute_force(rnd)
    assert plain - best > 300 * inst.housing_scale  # J-3's urgency beside J-1, less J-2's
    large = solve(rnd, full_limit=0)
    assert large.objective <= best <= large.flow_bound < best + inst.housing_scale
    assert solve(rnd).flow_bound == plain  # a complete round keeps the plain flow's bound
