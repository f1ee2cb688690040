"""Zero-half cuts (matcher.zerohalf): every cut holds for every allocation, and the odd cycle
that kept the housing LP above the optimum is cut off."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
from hypothesis import given

from matcher.exact import (
    ExactOutcome,
    WarmLP,
    build_linear_model,
    lp_certificate,
    solve_exact,
    solve_residual,
    tightened,
)
from matcher.problem import HousingType, Round
from matcher.solve import solve
from matcher.zerohalf import zero_half_cuts
from tests.matcher.strategies import make_option, make_round, make_type, make_youth, rounds
from tests.matcher.test_exact import SOME, instance_of, stage_costs


def houses_round(
    types: tuple[HousingType, ...], accepted: list[tuple[str, ...]], urgency: list[int]
) -> Round:
    """One option of three places per type, side by side; youth ``k`` of 21 takes the types
    ``accepted[k]`` with urgency ``urgency[k]``."""
    options = [
        make_option(f"O-{k}", type_code=t.code, capacity=3, x=150_000.0 + 10 * k)
        for k, t in enumerate(types)
    ]
    youths = [
        make_youth(f"J-{k}", birth_date=date(2004, 3, 1), accepted_types=acc, urgency=u)
        for k, (acc, u) in enumerate(zip(accepted, urgency, strict=True))
    ]
    return make_round(youths, options, types=types)


def friends_cycle() -> Round:
    """Three Friends houses (two to three residents) and three youths, each taking two of the
    houses round a cycle: A-B, B-C, C-A. One house can open, with two of them; the housing LP
    puts every youth half in each of their houses and every house half open."""
    codes = ("friendsA", "friendsB", "friendsC")
    types = tuple(make_type(c, persons_min=2, persons_max=3) for c in codes)
    return houses_round(types, [(codes[k], codes[(k + 1) % 3]) for k in range(3)], [1, 2, 3])


def friends_round(seed: int) -> Round:
    """Three to six Friends houses (two residents at least) and up to two rooms, each youth
    taking two or three of them at random: odd cycles, and so fractional LPs, are common."""
    rng = np.random.default_rng(seed)
    n_houses = int(rng.integers(3, 7))
    codes = [f"friends{k}" for k in range(n_houses)]
    codes += [f"kamer{k}" for k in range(int(rng.integers(0, 3)))]
    types = tuple(
        make_type(c, persons_min=2, persons_max=int(rng.integers(2, 4))) for c in codes[:n_houses]
    ) + tuple(make_type(c) for c in codes[n_houses:])
    n_youths = int(rng.integers(3, 8))
    accepted = [
        tuple(str(c) for c in rng.choice(codes, size=int(rng.integers(2, 4)), replace=False))
        for _ in range(n_youths)
    ]
    return houses_round(types, accepted, [int(rng.integers(1, 6)) for _ in range(n_youths)])


def cuts_hold(rnd: Round) -> int:
    """Check every zero-half cut at the housing and the preference LP point of ``rnd``: it is
    violated there, and CP-SAT's maximum of its left-hand side over the integer model (no cut
    rows) is at most its right-hand side. Returns how many cuts were checked."""
    inst = instance_of(rnd)
    if inst.n_pairs == 0:
        return 0
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    w, pref = stage_costs(inst, lm.n_vars)
    integer_model = lm.without_cuts()
    free = ~lm.cut_var
    fixed_at = np.where(free, -1, 0)
    checked = 0
    for c in (w, pref):
        cert = lp_certificate(lm, c)
        cuts, rhs = zero_half_cuts(lm, cert.lp_x)
        for k in range(len(rhs)):
            coef = np.rint(cuts[k].toarray().ravel()).astype(np.int64)
            assert coef @ cert.lp_x > rhs[k]  # violated at the LP point
            best = solve_residual(integer_model, coef, None, free, fixed_at, None, 10.0, 1)
            if best.status == "INFEASIBLE":
                continue  # fixed pairs that cannot all hold: no allocation to cut
            assert best.status == "OPTIMAL"
            assert best.value <= rhs[k]
            checked += 1
    return checked


def test_every_cut_holds_on_rounds_of_friends_houses() -> None:
    checked = [cuts_hold(friends_round(seed)) for seed in range(60)]
    # Not a vacuous check: cuts were found on several of these rounds.
    assert sum(1 for k in checked if k) >= 5


@SOME
@given(rounds(max_youths=7, max_options=7, shared=True))
def test_every_cut_holds_on_random_rounds(rnd: Round) -> None:
    cuts_hold(rnd)


def test_an_odd_cycle_of_friends_houses_is_cut_to_the_optimum() -> None:
    rnd = friends_cycle()
    inst = instance_of(rnd)
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    w, _pref = stage_costs(inst, lm.n_vars)
    best = solve(rnd, lp_fixing=False)
    housing = sum(s.urgency_weight for s in best.scores.values())
    assert len(best.assignment) == 2  # two youths in one house, the third nowhere
    plain = lp_certificate(lm, w).bound
    assert plain > housing  # the LP without zero-half cuts is not tight here
    cut_model, cert = tightened(lm, WarmLP(lm, w), w, rounds=4)
    assert cert.bound == housing
    assert cut_model.cut.sum() > lm.cut.sum()
    out = solve_exact(inst, None, 10.0)
    assert isinstance(out, ExactOutcome)
    assert out.value == best.objective and out.lp_housing_bound == housing


def test_rows_with_fractions_are_never_combined() -> None:
    """The same model with every row times three quarters (the same allocations, but
    coefficients and bounds no longer integers) gives no cut where the integer one gives some
    (rounding the scaled rows would give three cuts of the wrong model)."""
    inst = instance_of(friends_cycle())
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    w, _pref = stage_costs(inst, lm.n_vars)
    x = lp_certificate(lm, w).lp_x
    assert len(zero_half_cuts(lm, x)[1]) > 0
    scaled = dataclasses.replace(
        lm, a=lm.a * 0.75, row_lo=lm.row_lo * 0.75, row_hi=lm.row_hi * 0.75
    )
    assert len(zero_half_cuts(scaled, x)[1]) == 0


def test_no_cut_where_the_lp_point_is_whole() -> None:
    inst = instance_of(friends_cycle())
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    whole = np.zeros(lm.n_vars)
    cuts, rhs = zero_half_cuts(lm, whole)
    assert cuts.shape == (0, lm.n_vars) and len(rhs) == 0
