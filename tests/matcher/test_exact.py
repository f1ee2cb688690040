"""The certified-LP path (matcher.exact): its bounds hold, its fixing loses no optimum.

Every solve runs the independent verifier; the brute-force comparisons in test_solve.py also go
through this path whenever the flow breaks a house rule. Here the path is compared with the
plain two-stage CP-SAT (``lp_fixing=False``) and its certificates with brute-force optima.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcher.exact as exact
from matcher.exact import (
    DUAL_DENOMINATOR,
    ExactOutcome,
    GaveUp,
    LPFailed,
    build_linear_model,
    certify,
    free_variables,
    lp_certificate,
    solve_exact,
)
from matcher.groups import companion_pairs
from matcher.instance import Instance, build_instance
from matcher.problem import Anchor, Round
from matcher.rules import screen
from matcher.scoring import pair_values
from matcher.solve import canonical_round, solve
from tests.matcher.strategies import make_option, make_round, make_type, make_youth, rounds

SOME = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def instance_of(rnd: Round) -> Instance:
    canon = canonical_round(rnd)
    sc = screen(canon)
    pv = pair_values(canon, sc, canon.seed)
    keep = companion_pairs(canon, sc.youth_idx, sc.option_idx)
    pv = pv.subset(keep)
    return build_instance(
        canon,
        sc.youth_idx[keep],
        sc.option_idx[keep],
        pv.value,
        pv.urgency,
        sc.option_contingent,
        pv.housing_scale,
    )


def stage_costs(inst: Instance, n_vars: int) -> tuple[np.ndarray, np.ndarray]:
    w = np.zeros(n_vars, dtype=np.int64)
    w[: inst.n_pairs] = inst.youth_weight[inst.pair_youth]
    pref = np.zeros(n_vars, dtype=np.int64)
    pref[: inst.n_pairs] = inst.pair_value - inst.housing_scale * w[: inst.n_pairs]
    return w, pref


def friends_round() -> Round:
    """Eight youths, two Friends houses of 2-3 and single rooms: house rules bind."""
    friends = make_type("friends", persons_min=2, persons_max=3, max_age_gap=3)
    room = make_type("kamer")
    options = [make_option(f"F-{k}", type_code="friends", capacity=3) for k in range(2)]
    options += [make_option(f"K-{k}", type_code="kamer") for k in range(3)]
    youths = [
        make_youth(
            f"J-{k}",
            birth_date=date(2007 - k % 7, 3, 1),  # 18 .. 24 on 2026-01-01
            accepted_types=("friends", "kamer"),
            urgency=1 + k % 5,
        )
        for k in range(8)
    ]
    return make_round(youths, options, types=(friends, room))


@SOME
@given(rounds(max_youths=7, max_options=7, shared=True))
def test_lp_fixing_finds_the_same_optimum_as_plain_cpsat(rnd: Round) -> None:
    fast = solve(rnd, time_limit_s=20)
    plain = solve(rnd, time_limit_s=20, lp_fixing=False)
    assert fast.status == plain.status
    assert fast.objective == plain.objective
    assert fast.bound == plain.bound


@SOME
@given(rounds(max_youths=7, max_options=7, shared=True), st.randoms(use_true_random=False))
def test_any_multipliers_give_a_bound_the_optimum_respects(rnd: Round, rng) -> None:  # type: ignore[no-untyped-def]
    """Weak duality in integers: even random (wrong-signed) multipliers bound the optimum."""
    inst = instance_of(rnd)
    if inst.n_pairs == 0:
        return
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    w, pref = stage_costs(inst, lm.n_vars)
    result = solve(rnd, time_limit_s=20)
    if result.status != "optimal":
        return
    best_housing = sum(s.urgency_weight for s in result.scores.values())
    y = np.array([rng.uniform(-3000, 3000) for _ in range(lm.a.shape[0])])
    assert certify(lm, w, y, np.zeros(lm.n_vars)).bound >= best_housing
    cert = lp_certificate(lm, w)
    assert cert.bound >= best_housing
    # The LP bound is the LP value up to the rounding of the duals (less than one unit).
    lp_value = float(np.dot(w, cert.lp_x))
    assert cert.bound_d / DUAL_DENOMINATOR == pytest.approx(lp_value, abs=0.5)
    # Preference stage: among allocations with the optimal housing, none beats its bound.
    best_pref = result.objective - inst.housing_scale * best_housing
    lm2 = lm.with_row(w, float(best_housing), np.inf)
    assert lp_certificate(lm2, pref).bound >= best_pref


def test_fixing_keeps_every_variable_of_a_solution_that_reaches_the_target() -> None:
    rnd = friends_round()
    inst = instance_of(rnd)
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    w, _pref = stage_costs(inst, lm.n_vars)
    cert = lp_certificate(lm, w)
    best = solve(rnd)
    housing = sum(s.urgency_weight for s in best.scores.values())
    assert cert.bound == housing  # the strong formulation is tight here
    # Target = the optimum: every pair of the optimal allocation stays free or fixed at 1.
    free, fixed_at = free_variables(lm, cert, housing)
    used = {
        (inst.youth_codes.index(y), inst.option_codes.index(o)) for y, o in best.assignment.items()
    }
    for p in range(inst.n_pairs):
        pair = (int(inst.pair_youth[p]), int(inst.pair_option[p]))
        if not free[p]:
            assert fixed_at[p] == (1 if pair in used else 0)
    # A target above the bound frees nothing.
    free_above, _ = free_variables(lm, cert, cert.bound + 1)
    assert not free_above.any()


def test_friends_round_is_settled_by_the_exact_path() -> None:
    rnd = friends_round()
    fast = solve(rnd)
    plain = solve(rnd, lp_fixing=False)
    assert fast.status == "optimal" and fast.method == "lp+cp-sat"
    assert fast.objective == plain.objective
    # Both Friends houses are used by 2-3 people, or not at all.
    per_house: dict[str, int] = {}
    for o in fast.assignment.values():
        per_house[o] = per_house.get(o, 0) + 1
    assert all(n in (2, 3) for o, n in per_house.items() if o.startswith("F-"))


def test_a_right_housing_guess_solves_the_preference_lp_beside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guess equal to the certified housing bound: the preference LP solved beside the
    housing LP is the one used, and the optimum is the same as without a guess."""
    inst = instance_of(friends_round())
    out = solve_exact(inst, None, 10.0)
    assert isinstance(out, ExactOutcome)
    made: list[object] = []
    stopped: list[bool] = []
    real = exact.preference_lp

    def spy(*args: Any) -> Any:
        made.append(real(*args))
        stopped.append(args[2].is_set())  # nobody told the round to stop: it is complete
        return made[-1]

    cut_with: list[object] = []
    real_cuts = exact.gomory_cuts

    def cuts_spy(lm: Any, x: Any, h: Any, *args: Any) -> Any:
        cut_with.append(h)
        return real_cuts(lm, x, h, *args)

    monkeypatch.setattr(exact, "preference_lp", spy)
    monkeypatch.setattr(exact, "gomory_cuts", cuts_spy)
    guessed = solve_exact(inst, None, 10.0, housing_guess=out.lp_housing_bound)
    assert isinstance(guessed, ExactOutcome) and guessed.value == out.value
    assert len(made) == 1 and made[0] is not None and stopped == [False]
    # The first Gomory round cuts that LP (its HiGHS instance), not the housing LP's.
    beside = made[0]
    assert isinstance(beside, exact.PreferenceStart) and beside.cut_ok
    assert cut_with and cut_with[0] is beside.lp.highs
    # ... in the thread beside the housing LP; every later round (CutRounds) cuts that LP too,
    # the housing LP's instance never.
    assert all(h is beside.lp.highs for h in cut_with)
    # Too high a guess: that LP has no solution (on this round the housing LP is tight, so no
    # LP point reaches housing H + 1); it waits for H, goes on from where it stopped and is
    # the one used: every Gomory round cuts it, the housing LP's instance never.
    made.clear()
    cut_with.clear()
    high = solve_exact(inst, None, 10.0, housing_guess=out.lp_housing_bound + 1)
    assert isinstance(high, ExactOutcome) and high.value == out.value
    assert high.lp_housing_bound == out.lp_housing_bound
    assert len(made) == 1 and isinstance(made[0], exact.PreferenceStart)
    rebased = made[0]
    assert rebased.rebased and rebased.cut_ok
    assert cut_with and all(h is rebased.lp.highs for h in cut_with)
    # Moved to the certified bound: its housing row (after the model's own) is H, not the guess.
    base, _rb = exact.build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    assert rebased.lm.row_lo[base.a.shape[0]] == out.lp_housing_bound


def test_a_wrong_housing_guess_stops_the_cut_round_beside(monkeypatch: pytest.MonkeyPatch) -> None:
    """A guess below the certified housing bound: the guessed LP is not used, and its cut
    round (held here until then) is told to stop before the path goes on."""
    inst = instance_of(friends_round())
    out = solve_exact(inst, None, 10.0)
    assert isinstance(out, ExactOutcome)
    real = exact.first_cuts
    real_beside = exact.Beside
    events: list[Any] = []  # the stop event handed to the guessed LP's thread
    seen: list[bool] = []
    set_at_main_round: list[bool] = []

    def beside(fn: Any, *args: Any, **kwargs: Any) -> Any:
        if fn is exact.preference_lp:
            events.append(args[2])
        return real_beside(fn, *args, **kwargs)

    def held(*args: Any) -> Any:
        stop = args[4] if len(args) > 4 else None
        if stop is not None:  # the guessed LP's round, in the thread beside
            seen.append(stop.wait(timeout=10.0))
        else:  # the main thread's own round on the housing LP's instance
            set_at_main_round.append(events[0].is_set())
        return real(*args)

    monkeypatch.setattr(exact, "Beside", beside)
    monkeypatch.setattr(exact, "first_cuts", held)
    low = solve_exact(inst, None, 10.0, housing_guess=out.lp_housing_bound - 1)
    assert isinstance(low, ExactOutcome) and low.value == out.value
    # Told to stop as soon as the guess was seen to be wrong, before the main thread cut.
    assert seen == [True] and set_at_main_round == [True]


def test_a_rebased_preference_lp_is_the_lp_at_the_bound_with_the_rows_handed_over() -> None:
    """``rebased``: the guessed LP with no solution, moved to the bound and given more rows,
    has the optimum of that LP solved from scratch (and differs from the LP without them)."""
    inst = instance_of(friends_round())
    lm, _rb = exact.build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    w, pref = stage_costs(inst, lm.n_vars)
    housing = exact.lp_certificate(lm, w).bound
    guessed = lm.with_row(w, float(housing + 5), np.inf)
    lp = exact.WarmLP(guessed, pref)
    with pytest.raises(exact.LPFailed):
        lp.certificate(guessed, pref)
    # A row that binds at the preference LP's optimum: at most half its placements.
    at_bound = lm.with_row(w, float(housing), np.inf)
    free = exact.lp_certificate(at_bound, pref)
    used = np.zeros(lm.n_vars, dtype=np.int64)
    used[: lm.n_pairs] = free.lp_x[: lm.n_pairs] > 0.5
    cap = float(used.sum() // 2)
    extra = sp.csr_matrix(used.astype(np.float64).reshape(1, -1))
    lo, hi = np.full(1, -np.inf), np.full(1, cap)
    moved, cert = exact.rebased(guessed, lp, pref, housing, extra, lo, hi)
    fresh = exact.lp_certificate(at_bound.with_rows(extra, lo, hi, cut=True), pref)
    assert cert.bound == fresh.bound < free.bound
    assert moved.row_lo[lm.a.shape[0]] == housing and moved.a.shape[0] == lm.a.shape[0] + 2
    assert moved.cut[-1] and not moved.cut[lm.a.shape[0]]


def test_an_abandoned_handoff_ends_the_lp_beside(monkeypatch: pytest.MonkeyPatch) -> None:
    """A guess too high and a path that ends before handing the bound over (no more housing
    than the caller has): the LP beside, waiting for the bound, ends with None at once."""
    inst = instance_of(friends_round())
    out = solve_exact(inst, None, 10.0)
    assert isinstance(out, ExactOutcome)
    made: list[object] = []
    real = exact.preference_lp

    def spy(*args: Any) -> Any:
        made.append(real(*args))
        return made[-1]

    monkeypatch.setattr(exact, "preference_lp", spy)
    gave = solve_exact(
        inst,
        None,
        10.0,
        housing_above=out.lp_housing_bound,
        housing_guess=out.lp_housing_bound + 1,
    )
    assert isinstance(gave, GaveUp) and gave.reason == exact.NO_MORE_HOUSING
    assert made == [None]


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_failing_lp_beside_leaves_the_housing_lps_instance_to_go_on(
    monkeypatch: pytest.MonkeyPatch, offset: int
) -> None:
    """The thread beside raises (not an LP failure): logged, and the path goes on with the
    housing LP's instance to the same optimum, whether the guess was right or wrong."""
    inst = instance_of(friends_round())
    out = solve_exact(inst, None, 10.0)
    assert isinstance(out, ExactOutcome)

    def broken(*args: Any) -> Any:
        raise RuntimeError("broken beside")

    monkeypatch.setattr(exact, "preference_lp", broken)
    other = solve_exact(inst, None, 10.0, housing_guess=out.lp_housing_bound + offset)
    assert isinstance(other, ExactOutcome)
    assert (other.value, other.lp_housing_bound) == (out.value, out.lp_housing_bound)


def test_a_handoff_waits_for_the_bound_or_the_abandon() -> None:
    handoff = exact.HousingHandoff()
    rows = sp.csr_matrix((0, 3))
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(handoff.wait()))
    waiter.start()
    waiter.join(timeout=0.05)
    assert waiter.is_alive()  # nothing given yet
    handoff.give(7, rows, np.zeros(0), np.zeros(0))
    waiter.join(timeout=10.0)
    assert not waiter.is_alive() and got[0] is not None and got[0][0] == 7
    handoff.abandon()
    assert handoff.wait() is None  # abandoned wins: the path no longer wants the LP


@pytest.mark.parametrize("budgets", [(0,), (0, 1), (1_000_000,)])
def test_every_budget_sequence_ends_at_the_optimum(
    monkeypatch: pytest.MonkeyPatch, budgets: tuple[int, ...]
) -> None:
    """Without a hint: budgets too small leave the residual infeasible or give an incumbent
    below the optimum, and the last try (incumbent plus one) must still reach the optimum."""
    rnd = friends_round()
    plain = solve(rnd, lp_fixing=False)
    monkeypatch.setattr(exact, "BUDGETS", budgets)
    out = solve_exact(instance_of(rnd), None, 10.0)
    if isinstance(out, GaveUp):
        assert budgets == (0,)  # nothing reaches the bound and no larger budget is allowed
        return
    assert out.value == plain.objective
    assert out.housing == out.lp_housing_bound


def test_lp_failure_falls_back_to_plain_cpsat(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise LPFailed("no LP today")

    monkeypatch.setattr(exact.WarmLP, "solve", broken)
    rnd = friends_round()
    result = solve(rnd)
    assert result.method == "cp-sat" and result.status == "optimal"
    assert result.objective == solve(rnd, lp_fixing=False).objective


def test_exact_path_gives_up_without_a_feasible_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """No budget frees enough and there is no incumbent: the caller gets None, not a guess."""
    inst = instance_of(friends_round())
    monkeypatch.setattr(exact, "MAX_FREE", 0)
    monkeypatch.setattr(exact, "LP_POINTS", False)  # its cut LP is an allocation at the bound
    assert isinstance(solve_exact(inst, None, 5.0), GaveUp)


def test_fixed_pairs_that_break_a_house_rule_are_still_named() -> None:
    from matcher.problem import ConflictingFixedPairs

    rnd = friends_round()
    rnd = dataclasses.replace(
        rnd,
        fixed_pairs=(("J-0", "F-0"),),
        youths=rnd.youths[:1]
        + tuple(dataclasses.replace(y, accepted_types=("kamer",)) for y in rnd.youths[1:]),
    )
    with pytest.raises(ConflictingFixedPairs, match="J-0"):
        solve(rnd)


@pytest.mark.parametrize("budgets", [(0, 1), (1_000_000,)])
def test_fixed_pairs_hold_whether_fixed_by_cost_or_left_free(
    monkeypatch: pytest.MonkeyPatch, budgets: tuple[int, ...]
) -> None:
    """Accepted pairs have lower bound 1 in the model: the residual must keep them even when
    their reduced cost leaves them free (a huge budget frees every variable)."""
    rnd = friends_round()
    plain = solve(rnd, lp_fixing=False)
    # Fix pairs the optimum does not make: the least urgent youth into a room, two into F-1.
    fixed = (("J-0", "K-2"), ("J-3", "F-1"), ("J-6", "F-1"))
    rnd = dataclasses.replace(rnd, fixed_pairs=fixed)
    assert any(plain.assignment.get(y) != o for y, o in fixed)
    monkeypatch.setattr(exact, "BUDGETS", budgets)
    out = solve_exact(instance_of(rnd), None, 10.0)
    assert isinstance(out, ExactOutcome)
    inst = instance_of(rnd)
    used = {
        (inst.youth_codes[inst.pair_youth[p]], inst.option_codes[inst.pair_option[p]])
        for p in np.nonzero(out.pair_used)[0].tolist()
    }
    assert set(fixed) <= used
    assert out.value == solve(rnd, lp_fixing=False).objective


def test_a_hint_that_breaks_a_capacity_is_not_taken_as_incumbent() -> None:
    """solve() checks only the house rules of its hint; solve_exact checks the rest. A hint
    worth more than the optimum because it puts a second youth in a full room must not come
    back as the proven optimum."""
    base = friends_round()
    extra = [
        make_youth(f"J-{k}", birth_date=date(2004, 3, 1), accepted_types=("kamer",)) for k in (8, 9)
    ]
    rnd = dataclasses.replace(base, youths=base.youths + tuple(extra))
    best = solve(rnd, lp_fixing=False)
    inst = instance_of(rnd)
    unplaced = [c for c in inst.youth_codes if c not in best.assignment]
    room = next(o for o in best.assignment.values() if o.startswith("K-"))
    assert unplaced
    over = dict(best.assignment) | {unplaced[0]: room}
    hint = np.array(
        [
            over.get(inst.youth_codes[int(y)]) == inst.option_codes[int(o)]
            for y, o in zip(inst.pair_youth, inst.pair_option, strict=True)
        ]
    )
    assert int(inst.pair_value[hint].sum()) > best.objective
    out = solve_exact(inst, hint, 10.0)
    assert isinstance(out, ExactOutcome)
    assert out.value == best.objective


def test_duals_that_are_not_finite_are_refused() -> None:
    inst = instance_of(friends_round())
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    w, _pref = stage_costs(inst, lm.n_vars)
    y = np.zeros(lm.a.shape[0])
    y[0] = np.nan
    with pytest.raises(LPFailed):
        certify(lm, w, y, np.zeros(lm.n_vars))
    y[0] = 1e15
    with pytest.raises(LPFailed):
        certify(lm, w, y, np.zeros(lm.n_vars))


# ---------------------------------------------------------------------------------------------
# Cuts (rows_age_intervals, rows_companion_houses) on rounds crowded with shared houses

HOUSE_TYPES = (
    make_type("friends", persons_min=2, persons_max=3),
    make_type("bwlight", persons_max=4, max_age_gap=3, zelfstandig=False, uses_contingent=False),
    make_type("kamer"),
)


@st.composite
def house_rounds(draw: st.DrawFn) -> Round:
    """Small rounds where house rules bind: Friends houses (2-3 persons, one option of 2-3
    places), a BW-light house of 2-4 rooms with an age gap, single rooms; more youths than
    places, ages spread over the gap, companion pairs and conflicts."""
    options = [
        make_option(
            f"F-{k}", type_code="friends", capacity=draw(st.integers(2, 3)), x=150_000.0 + 300 * k
        )
        for k in range(draw(st.integers(1, 2)))
    ]
    rooms = draw(st.integers(2, 4))
    options += [
        make_option(
            f"B-{k}",
            type_code="bwlight",
            corporation=None,
            shared_house_id="HUIS-B",
            x=150_900.0,
            kale_huur=400.0 + 10 * k,
        )
        for k in range(rooms)
    ]
    options += [
        make_option(f"K-{k}", type_code="kamer", x=149_500.0 - 200 * k)
        for k in range(draw(st.integers(0, 2)))
    ]
    n = draw(st.integers(3, 9))
    codes = [f"J-{k}" for k in range(n)]
    youths = [
        make_youth(
            code,
            birth_date=date(2007 - draw(st.integers(0, 8)), draw(st.integers(1, 12)), 1),
            accepted_types=tuple(
                draw(
                    st.lists(
                        st.sampled_from(("friends", "bwlight", "kamer")),
                        min_size=1,
                        max_size=3,
                        unique=True,
                    )
                )
            ),
            urgency=draw(st.integers(1, 5)),
            anchors=(Anchor("school", 150_000.0 + draw(st.integers(-20, 20)) * 100, 410_000.0),),
        )
        for code in codes
    ]
    order = draw(st.permutations(range(n)))
    pairs = [(order[i], order[i + 1]) for i in range(0, n - 1, 2)]
    n_comp = draw(st.integers(0, min(2, len(pairs))))
    for a, b in pairs[:n_comp]:
        youths[a] = dataclasses.replace(youths[a], companions=(codes[b],))
        youths[b] = dataclasses.replace(youths[b], companions=(codes[a],))
    for a, b in pairs[n_comp : n_comp + draw(st.integers(0, 2))]:
        youths[a] = dataclasses.replace(youths[a], conflicts=(codes[b],))
    return make_round(youths, options, types=HOUSE_TYPES, seed=draw(st.integers(0, 99)))


@SOME
@given(house_rounds())
def test_cuts_keep_the_optimum_of_plain_cpsat(rnd: Round) -> None:
    fast = solve(rnd, time_limit_s=20)
    plain = solve(rnd, time_limit_s=20, lp_fixing=False)
    assert fast.status == plain.status
    assert fast.objective == plain.objective


@SOME
@given(house_rounds())
def test_cuts_cut_no_allocation_off(rnd: Round) -> None:
    """The LP bounds with the cuts still bound the optimum (an invalid cut would cut the
    optimum off and could push a bound below it), and are never weaker than without them;
    rounds of Gomory cuts on the preference LP (matcher.gomory) likewise."""
    inst = instance_of(rnd)
    if inst.n_pairs == 0:
        return
    best = solve(rnd, time_limit_s=20, lp_fixing=False)
    assert best.status == "optimal"
    housing = sum(s.urgency_weight for s in best.scores.values())
    preference = best.objective - inst.housing_scale * housing
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    w, pref = stage_costs(inst, lm.n_vars)
    lm2 = lm.with_row(w, float(housing), np.inf)
    with_cuts = lp_certificate(lm2, pref).bound
    without = lp_certificate(lm2.without_cuts(), pref).bound
    assert preference <= with_cuts <= without + 1
    assert lp_certificate(lm, w).bound >= housing
    _, gomory = exact.tightened(lm2, exact.WarmLP(lm2, pref), pref, rounds=3, gomory=True)
    assert preference <= gomory.bound <= with_cuts


def housing_bounds(rnd: Round) -> tuple[int, int, int]:
    """The optimal housing and the housing LP bounds with and without the cuts."""
    inst = instance_of(rnd)
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    assert lm.cut.any()
    w, _pref = stage_costs(inst, lm.n_vars)
    best = solve(rnd, lp_fixing=False)
    assert solve(rnd).objective == best.objective
    housing = sum(s.urgency_weight for s in best.scores.values())
    # The housing bound comes from the LP with the cuts: the one without them would ask the
    # preference LP (with them) for more housing than it allows, and the path would give up.
    out = solve_exact(inst, None, 10.0)
    assert isinstance(out, ExactOutcome) and out.value == best.objective
    return housing, lp_certificate(lm, w).bound, lp_certificate(lm.without_cuts(), w).bound


def test_age_interval_rows_close_a_house_filled_twice_over() -> None:
    """Two BW-light rooms (gap 3), one room elsewhere; three youths of 18 and an urgent one of
    26 who only takes BW-light. Without the interval rows the LP half-opens both windows and
    puts one and a half youths of 18 beside half the urgent one (3,400 > 3,000 housing); with
    them a window half open holds one youth of 18, and the LP bound is the optimum."""
    bw = make_type("bwlight", persons_max=4, max_age_gap=3, zelfstandig=False)
    options = [
        make_option(f"B-{k}", type_code="bwlight", shared_house_id="HUIS-B") for k in range(2)
    ]
    options.append(make_option("K-0", type_code="kamer", x=151_000.0))
    youths = [
        make_youth(f"J-{k}", birth_date=date(2007, 6, 1), accepted_types=("bwlight", "kamer"))
        for k in range(3)
    ]
    youths.append(
        make_youth("J-9", birth_date=date(1999, 6, 1), accepted_types=("bwlight",), urgency=5)
    )
    housing, cut, plain = housing_bounds(
        make_round(youths, options, types=(bw, make_type("kamer")))
    )
    assert housing == cut == 3000
    assert plain == 3400


def test_companion_house_rows_close_half_a_pair_beside_a_whole_youth() -> None:
    """Two Friends houses of two places; a companion pair takes either; J-2 only takes F-0 and
    J-3 only F-1. Only the pair can be housed (whoever else is alone in a house), but without
    the rows the LP puts half the pair in each house beside a whole J-2 and J-3."""
    friends = make_type("friends", persons_min=2, persons_max=3)
    options = [
        make_option("F-0", type_code="friends", capacity=2),
        make_option("F-1", type_code="friends", capacity=2),
    ]
    youths = [
        make_youth("J-0", companions=("J-1",), accepted_types=("friends",)),
        make_youth("J-1", companions=("J-0",), accepted_types=("friends",)),
        make_youth("J-2", accepted_types=("friends",)),
        make_youth("J-3", accepted_types=("friends",)),
    ]
    only = (("J-2", "F-1"), ("J-3", "F-0"))  # J-2 only takes F-0, J-3 only F-1
    rnd = make_round(youths, options, types=(friends,), forbidden_pairs=only)
    housing, cut, plain = housing_bounds(rnd)
    assert housing == 2000
    assert housing <= cut < plain


def residual_calls(
    monkeypatch: pytest.MonkeyPatch, first: Callable[[exact.Residual], exact.Residual]
) -> list[dict[str, object]]:
    """Record every CP-SAT try of the exact path; the first try's result goes through
    ``first`` (to play a try that ran out of its share)."""
    calls: list[dict[str, object]] = []
    real = exact.solve_residual

    def spy(*args: Any) -> exact.Residual:
        at_least, limit, seed = args[2], args[6], args[7]
        calls.append({"at_least": at_least, "limit": limit, "seed": seed})
        res = real(*args)
        return first(res) if len(calls) == 1 else res

    monkeypatch.setattr(exact, "solve_residual", spy)
    return calls


def test_a_try_out_of_its_share_starts_again_with_another_seed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rnd = friends_round()
    inst = instance_of(rnd)
    best = solve(rnd, lp_fixing=False)
    monkeypatch.setattr(exact, "LP_POINTS", False)  # its cut LP is an allocation at the bound
    calls = residual_calls(
        monkeypatch, lambda res: exact.Residual("UNKNOWN", np.zeros(0, np.int64), 0, 0.5)
    )
    out = solve_exact(inst, None, 30.0)
    assert isinstance(out, ExactOutcome) and out.value == best.objective
    assert len(calls) >= 2
    assert calls[1]["seed"] == int(calls[0]["seed"]) + 1  # type: ignore[call-overload]
    assert calls[0]["limit"] == exact.RESTART_DET
    assert calls[1]["limit"] == 2 * exact.RESTART_DET
    assert calls[1]["at_least"] == calls[0]["at_least"]  # the same try again


def test_the_exact_path_gives_up_after_its_restarts(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def never(*args: Any) -> exact.Residual:
        calls.append(int(args[7]))
        return exact.Residual("UNKNOWN", np.zeros(0, np.int64), 0, 0.01)

    monkeypatch.setattr(exact, "solve_residual", never)
    monkeypatch.setattr(exact, "LP_POINTS", False)  # its cut LP is an allocation at the bound
    out = solve_exact(instance_of(friends_round()), None, 30.0)
    assert isinstance(out, GaveUp) and out.reason == "CP-SAT out of time"
    assert len(calls) == exact.MAX_RESTARTS + 1
    assert calls == list(range(calls[0], calls[0] + exact.MAX_RESTARTS + 1))


def test_highs_prints_nothing_to_standard_output() -> None:
    """HiGHS's one-time banner would land in the CLI's JSON and the bench's last line. The
    first LPs are made in two threads at once (a housing guess): standard output must still
    be there afterwards."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "import matcher.exact as e\n"
        "from tests.matcher.test_exact import friends_round, instance_of\n"
        "out = e.solve_exact(instance_of(friends_round()), None, 5.0, housing_guess=0)\n"
        "print(type(out).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout == "ExactOutcome\n"


@SOME
@given(house_rounds())
def test_a_housing_guess_right_or_wrong_keeps_the_optimum(rnd: Round) -> None:
    inst = instance_of(rnd)
    if inst.n_pairs == 0:
        return
    out = solve_exact(inst, None, 10.0)
    if isinstance(out, GaveUp):
        return
    for guess in (out.lp_housing_bound - 1, out.lp_housing_bound, out.lp_housing_bound + 1):
        other = solve_exact(inst, None, 10.0, housing_guess=guess)
        if isinstance(other, GaveUp):
            # The right guess, or one too high (rebased), gives another LP (rows in another
            # order, or without the housing LP's zero-half rows), so another path; one that
            # gives up leaves the round to plain CP-SAT, never a wrong answer.
            assert guess >= out.lp_housing_bound
            continue
        assert (other.value, other.lp_housing_bound) == (out.value, out.lp_housing_bound)


def row_by_row_model(
    lm: exact.LinearModel,
    c: np.ndarray,
    at_least: int | None,
    free: np.ndarray,
    fixed_at: np.ndarray,
    hint: np.ndarray | None,
) -> Any:
    """The residual model built the plain way, one row and one hint at a time (the reference
    ``residual_model`` must match proto for proto: CP-SAT's search depends on it)."""
    from ortools.sat.python import cp_model

    fixed_val = np.where(free, 0, fixed_at).astype(np.float64)
    const = lm.a @ fixed_val
    lo, hi = lm.row_lo - const, lm.row_hi - const
    fcols = np.nonzero(free)[0]
    sub = lm.a[:, fcols].tocsr()
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"v{int(j)}") for j in fcols]
    for k in range(len(fcols)):
        if lm.var_lo[fcols[k]] > 0:
            model.add(x[k] == 1)
    for r in range(sub.shape[0]):
        s, e = sub.indptr[r], sub.indptr[r + 1]
        if s == e:
            if lo[r] > 1e-9 or hi[r] < -1e-9:
                return None
            continue
        coefs = [round(float(v)) for v in sub.data[s:e]]
        pos = sum(v for v in coefs if v > 0)
        neg = sum(v for v in coefs if v < 0)
        if not (neg < lo[r] - 1e-9 or pos > hi[r] + 1e-9):
            continue
        expr = cp_model.LinearExpr.weighted_sum([x[k] for k in sub.indices[s:e]], coefs)
        if np.isfinite(lo[r]) and lo[r] > neg:
            model.add(expr >= int(np.ceil(lo[r] - 1e-9)))
        if np.isfinite(hi[r]) and hi[r] < pos:
            model.add(expr <= int(np.floor(hi[r] + 1e-9)))
    objective = cp_model.LinearExpr.weighted_sum(x, [int(v) for v in c[fcols]])
    if at_least is not None:
        const_obj = int(np.dot(c, np.where(free, 0, fixed_at)))
        model.add(objective >= at_least - const_obj)
    model.maximize(objective)
    if hint is not None:
        for k, j in enumerate(fcols):
            model.add_hint(x[k], bool(hint[j]))
    return model


def preference_lp(rnd: Round) -> tuple[exact.LinearModel, np.ndarray, exact.Certificate] | None:
    """The round's integer model (all pairs), its preference costs and LP certificate; ``None``
    for a round without pairs."""
    inst = instance_of(rnd)
    if inst.n_pairs == 0:
        return None
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    _w, pref = stage_costs(inst, lm.n_vars)
    return lm, pref, lp_certificate(lm, pref)


@SOME
@given(house_rounds(), st.integers(-3, 3_000), st.booleans(), st.randoms(use_true_random=False))
def test_the_residual_model_is_the_row_by_row_one(  # type: ignore[no-untyped-def]
    rnd: Round, budget: int, floor: bool, rng
) -> None:
    built = preference_lp(rnd)
    if built is None:
        return
    lm, pref, cert = built
    free, fixed_at = free_variables(lm, cert, cert.bound - budget)
    # Budget below 0: nothing is free. Hints need not be 0/1 (only "non-zero" counts).
    hint = np.array([rng.randint(0, 2) for _ in range(lm.n_vars)], dtype=np.int64)
    at_least = cert.bound - budget if floor else None
    built = exact.residual_model(lm, pref, at_least, free, fixed_at, hint)
    reference = row_by_row_model(lm, pref, at_least, free, fixed_at, hint)
    if reference is None:
        assert built is None
        return
    assert built is not None
    assert str(built[0].proto) == str(reference.proto)
    assert [int(j) for j in built[2]] == np.nonzero(free)[0].tolist()


def test_a_row_the_fixed_variables_break_makes_no_model() -> None:
    inst = instance_of(friends_round())
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    _w, pref = stage_costs(inst, lm.n_vars)
    # Every pair fixed at 1: each youth's "at most one option" row is broken by the fixings.
    free = np.zeros(lm.n_vars, dtype=bool)
    fixed_at = np.ones(lm.n_vars, dtype=np.int64)
    assert exact.residual_model(lm, pref, None, free, fixed_at, None) is None
    assert exact.solve_residual(lm, pref, None, free, fixed_at, None, 1.0, 1).status == "INFEASIBLE"


def _residual_max(
    lm: exact.LinearModel,
    pref: np.ndarray,
    free: np.ndarray,
    fixed_at: np.ndarray,
    at_least: int | None = None,
    leave: exact.Box | None = None,
) -> int | None:
    """The residual's proven optimum (``None``: no solution)."""
    res = exact.solve_residual(lm, pref, at_least, free, fixed_at, None, 10.0, 1, leave=leave)
    assert res.status in ("OPTIMAL", "INFEASIBLE")
    return res.value if res.status == "OPTIMAL" else None


@SOME
@given(house_rounds(), st.integers(0, 400), st.integers(0, 3_000))
def test_a_try_that_leaves_a_searched_box_finds_what_lies_outside_it(
    rnd: Round, small: int, extra: int
) -> None:
    """A box searched to the end (its optimum ``V1``, or no solution) and a larger one (its
    optimum ``V2``): asked for more than ``V1`` and to leave the first box, the larger box gives
    ``V2`` when ``V2 > V1`` and nothing otherwise: the clause cuts off exactly the box's part."""
    built = preference_lp(rnd)
    if built is None:
        return
    lm, pref, cert = built

    def box_of(budget: int) -> tuple[np.ndarray, np.ndarray]:
        """As the exact path frees variables: the count columns held at 0."""
        free, fixed_at = free_variables(lm, cert, cert.bound - budget)
        return free & ~lm.cut_var, np.where(lm.cut_var, 0, fixed_at)

    free1, fixed1 = box_of(small)
    free2, fixed2 = box_of(small + extra)
    lm = lm.without_count_rows()
    v1 = _residual_max(lm, pref, free1, fixed1)
    v2 = _residual_max(lm, pref, free2, fixed2)
    at_least = None if v1 is None else v1 + 1
    box = exact.Box(free1, fixed1, at_least)
    got = _residual_max(lm, pref, free2, fixed2, at_least, box)
    if v2 is None or (v1 is not None and v2 <= v1):
        assert got is None
    else:
        assert got == v2
    # Told the box holds nothing at all, the try finds the best solution out of it: one that
    # moves a variable the box held, worth V2 whenever V2 beats the box.
    out = exact.solve_residual(
        lm, pref, None, free2, fixed2, None, 10.0, 1, leave=exact.Box(free1, fixed1, None)
    )
    assert out.status in ("OPTIMAL", "INFEASIBLE")
    if out.status == "OPTIMAL":
        assert np.any(out.x[~free1] != fixed1[~free1])
        assert v2 is not None and out.value <= v2
    if v2 is not None and (v1 is None or v2 > v1):
        assert out.status == "OPTIMAL" and out.value == v2


def test_leaving_a_box_names_the_moves_out_of_it() -> None:
    box = exact.Box(np.array([True, False, False, False]), np.array([-1, 1, 0, 0]), at_least=None)
    free = np.array([True, True, True, False])
    # Columns 1 and 2 were held at 1 and 0: leaving moves 1 to 0 or 2 to 1; 3 stays held.
    assert exact.leave_literals(box, free, np.array([-1, -1, -1, 0])) == [(1, 0), (2, 1)]
    # Column 3 held elsewhere here than in the box: every solution is already out of it.
    assert exact.leave_literals(box, free, np.array([-1, -1, -1, 1])) is None
    # Nothing free outside the box and nothing held elsewhere: no way out.
    assert exact.leave_literals(box, np.array([True] + [False] * 3), box.fixed_at) == []
    counted = dataclasses.replace(box, fixed_at=np.array([-1, 3, 0, 0]))  # not a 0/1 column
    with pytest.raises(ValueError, match="0 or 1"):
        exact.leave_literals(counted, free, np.array([-1, -1, -1, 0]))
    assert box.excludes(None) and box.excludes(5)
    bounded = dataclasses.replace(box, at_least=7)
    assert bounded.excludes(7) and bounded.excludes(8)
    assert not bounded.excludes(6) and not bounded.excludes(None)


def test_a_box_searched_for_more_than_the_try_asks_is_refused() -> None:
    inst = instance_of(friends_round())
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    _w, pref = stage_costs(inst, lm.n_vars)
    free = np.ones(lm.n_vars, dtype=bool)
    fixed_at = np.full(lm.n_vars, -1, dtype=np.int64)
    box = exact.Box(np.zeros(lm.n_vars, dtype=bool), np.zeros(lm.n_vars, np.int64), 10)
    with pytest.raises(ValueError, match="proves nothing"):
        exact.solve_residual(lm, pref, 9, free, fixed_at, None, 1.0, 1, leave=box)
    with pytest.raises(ValueError, match="proves nothing"):
        exact.solve_residual(lm, pref, None, free, fixed_at, None, 1.0, 1, leave=box)


@pytest.mark.parametrize("budgets", [(0,), (0, 1), (1,)])
def test_the_final_try_leaves_the_box_the_try_before_searched(
    monkeypatch: pytest.MonkeyPatch, budgets: tuple[int, ...]
) -> None:
    """Each try after one that searched its box to the end is handed that box, for a value it
    excludes; the round's optimum is still found."""
    rnd = friends_round()
    plain = solve(rnd, lp_fixing=False)
    monkeypatch.setattr(exact, "BUDGETS", budgets)
    monkeypatch.setattr(exact, "LP_POINTS", False)  # its cut LP is an allocation at the bound
    calls: list[tuple[int | None, exact.Box | None, str]] = []
    real = exact.solve_residual

    def spy(*args: Any) -> exact.Residual:
        res = real(*args)
        calls.append((args[2], args[9], res.status))
        return res

    monkeypatch.setattr(exact, "solve_residual", spy)
    out = solve_exact(instance_of(rnd), None, 10.0)
    if isinstance(out, GaveUp):
        assert budgets == (0,)
        return
    assert out.value == plain.objective
    assert calls[0][1] is None
    for (_at, _box, status), (at_least, box, _s) in itertools.pairwise(calls):
        assert status in ("OPTIMAL", "INFEASIBLE") and box is not None
        assert box.excludes(at_least)
