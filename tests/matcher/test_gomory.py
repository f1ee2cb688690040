"""Gomory cuts (matcher.gomory): every cut holds for every integer point of the model it was
derived from, and a fractional LP is cut towards the integer optimum."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from ortools.sat.python import cp_model

import matcher.exact as exact
import matcher.gomory as gomory
from matcher.exact import (
    ExactOutcome,
    GaveUp,
    LinearModel,
    WarmLP,
    build_linear_model,
    lp_certificate,
    solve_exact,
    tightened,
)
from matcher.gomory import gomory_cuts
from matcher.instance import Instance
from matcher.problem import Round
from matcher.solve import solve
from tests.matcher.test_exact import (
    SOME,
    house_rounds,
    instance_of,
    residual_calls,
    stage_costs,
)
from tests.matcher.test_exact import friends_round as exact_friends_round
from tests.matcher.test_zerohalf import friends_round


def max_over(lm: LinearModel, coef: np.ndarray) -> int | None:
    """CP-SAT's maximum of ``coef . v`` over the integer points of ``lm`` (every row, cut rows
    included, and resident counts as whole numbers in their bounds); None when there is none."""
    model = cp_model.CpModel()
    v = [
        model.new_int_var(int(lo), int(hi), f"v{j}")
        for j, (lo, hi) in enumerate(zip(lm.var_lo.tolist(), lm.var_hi.tolist(), strict=True))
    ]
    a = lm.a.tocsr()
    for r in range(a.shape[0]):
        s, e = a.indptr[r], a.indptr[r + 1]
        expr = cp_model.LinearExpr.weighted_sum(
            [v[j] for j in a.indices[s:e].tolist()], np.rint(a.data[s:e]).astype(int).tolist()
        )
        if np.isfinite(lm.row_lo[r]):
            model.add(expr >= int(lm.row_lo[r]))
        if np.isfinite(lm.row_hi[r]):
            model.add(expr <= int(lm.row_hi[r]))
    model.maximize(cp_model.LinearExpr.weighted_sum(v, coef.astype(int).tolist()))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 30.0
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return None
    assert status == cp_model.OPTIMAL
    return round(solver.objective_value)


def cuts_hold(rnd: Round) -> int:
    """Check every Gomory cut at the housing LP point of ``rnd`` and at its preference LP point
    (with the row ``housing >= optimum``, as the exact path solves it): violated there, and at
    most its right-hand side at every integer point of the model. Returns the cuts checked."""
    inst = instance_of(rnd)
    if inst.n_pairs == 0:
        return 0
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    w, pref = stage_costs(inst, lm.n_vars)
    housing = max_over(lm, w)
    if housing is None:
        return 0  # fixed pairs that cannot all hold
    checked = 0
    for model, c in ((lm, w), (lm.with_row(w, float(housing), np.inf), pref)):
        lp = WarmLP(model, c)
        for _ in range(2):  # the second round cuts with the first round's rows too
            x, _ = lp.solve()
            cuts, rhs = gomory_cuts(model, x, lp.highs)
            assert np.all(cuts.data == np.rint(cuts.data))
            for k in range(len(rhs)):
                coef = np.rint(cuts[k].toarray().ravel()).astype(np.int64)
                assert coef @ x > rhs[k] + 1e-7  # violated at the LP point
                best = max_over(model, coef)
                assert best is not None and best <= rhs[k]
                checked += 1
            if len(rhs) == 0:
                break
            lo = np.full(len(rhs), -np.inf)
            model = model.with_rows(cuts, lo, rhs.astype(np.float64), cut=True)
            lp.add_rows(cuts, lo, rhs.astype(np.float64))
    return checked


def test_every_cut_holds_on_rounds_of_friends_houses() -> None:
    checked = [cuts_hold(friends_round(seed)) for seed in range(40)]
    # Not a vacuous check: cuts were found on several of these rounds.
    assert sum(1 for k in checked if k) >= 5


@SOME
@given(house_rounds())
def test_every_cut_holds_on_rounds_where_house_rules_bind(rnd: Round) -> None:
    cuts_hold(rnd)


def triangle(scale: float = 1.0) -> tuple[LinearModel, np.ndarray]:
    """``x1 + x2 <= 1``, ``x2 + x3 <= 1``, ``x1 + x3 <= 1`` over 0/1, maximise ``2 (x1 + x2 +
    x3)``: the LP gives 3 at one half each, every integer point at most 2."""
    a = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=np.float64) * scale)
    lm = LinearModel(
        a,
        np.full(3, -np.inf),
        np.full(3, scale),
        np.zeros(3, np.int64),
        np.ones(3, np.int64),
        3,
        np.zeros(3, dtype=bool),
        np.zeros(3, dtype=bool),
    )
    return lm, np.full(3, 2, dtype=np.int64)


def test_an_odd_cycle_is_cut_to_its_integer_optimum() -> None:
    lm, c = triangle()
    assert lp_certificate(lm, c).bound == 3
    cut_model, cert = tightened(lm, WarmLP(lm, c), c, rounds=3, gomory=True)
    assert cert.bound == 2
    assert cut_model.cut.sum() >= 1
    # Every cut added holds at every 0/1 point of the triangle.
    points = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    feasible = points[np.all(lm.a @ points.T <= 1, axis=0)]
    cut_rows = cut_model.a[3:].toarray()
    assert np.all(cut_rows @ feasible.T <= cut_model.row_hi[3:, None])


def test_rows_with_fractions_give_no_cut() -> None:
    """The same triangle with every row times three quarters: the same 0/1 points, but rounding
    its rows as if they were integer would give wrong cuts; none is made."""
    lm, c = triangle(0.75)
    lp = WarmLP(lm, c)
    x, _ = lp.solve()
    assert np.allclose(x, 0.5)
    assert len(gomory_cuts(lm, x, lp.highs)[1]) == 0


def test_a_round_reads_tableau_rows_up_to_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``MAX_TABLEAU_NNZ`` non-zeros of basis-inverse rows a round takes no more candidates
    (but always the most fractional one)."""
    lm, c = triangle()
    lp = WarmLP(lm, c)
    x, _ = lp.solve()
    full = gomory_cuts(lm, x, lp.highs)
    monkeypatch.setattr(gomory, "MAX_TABLEAU_NNZ", 1)
    capped = gomory_cuts(lm, x, lp.highs)
    assert len(full[1]) >= 2 and len(capped[1]) == 1
    assert any((capped[0][0] != full[0][k]).nnz == 0 for k in range(len(full[1])))


def preference_vertices(count: int) -> Iterator[tuple[LinearModel, np.ndarray, WarmLP]]:
    """Fractional preference-LP vertices of Friends rounds: model, LP point, HiGHS holding it."""
    for _rnd, inst in friends_instances(count):
        lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
        w, pref = stage_costs(inst, lm.n_vars)
        housing = lp_certificate(lm, w).bound
        lm2 = lm.with_row(w, float(housing), np.inf)
        lp = WarmLP(lm2, pref)
        x, _ = lp.solve()
        if np.abs(x - np.rint(x)).max() > gomory.EPS:
            yield lm2, x, lp


def test_tableau_rows_are_the_basis_inverse_rows_highs_gives() -> None:
    """The rows from one LU of the basis are HiGHS's basis-inverse rows: the same multipliers
    once rounded to the cuts' denominator, in slices of any size; so the same cuts."""
    seen = 0
    for lm, x, lp in preference_vertices(12):
        a = lm.a.tocsr()
        _status, basic = lp.highs.getBasicVariables()  # type: ignore[attr-defined]
        basic_vars = np.asarray(basic, dtype=np.int64)
        where = np.full(lm.n_vars, -1, dtype=np.int64)
        where[basic_vars[basic_vars >= 0]] = np.flatnonzero(basic_vars >= 0)
        cand = np.flatnonzero((where >= 0) & (np.abs(x - np.rint(x)) > gomory.EPS))
        ours = gomory.tableau_rows(a, basic_vars, cand)
        theirs = gomory.highs_tableau_rows(lp.highs, where, cand, None)
        assert ours is not None and theirs is not None and len(ours) == len(theirs) == len(cand)
        d = gomory.MULTIPLIER_DENOMINATOR
        for (i1, v1), (i2, v2) in zip(ours, theirs, strict=True):
            dense1, dense2 = np.zeros(a.shape[0]), np.zeros(a.shape[0])
            dense1[i1], dense2[i2] = v1, v2
            assert np.array_equal(np.rint(dense1 * d), np.rint(dense2 * d))
        seen += 1
    assert seen >= 3


def test_cuts_from_either_factorisation_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    for lm, x, lp in preference_vertices(8):
        ours = gomory_cuts(lm, x, lp.highs)
        with monkeypatch.context() as m:
            m.setattr(gomory, "SOLVE_ENTRIES", 1)  # one right-hand side at a time
            sliced = gomory_cuts(lm, x, lp.highs)
        with monkeypatch.context() as m:
            m.setattr(gomory, "tableau_rows", lambda *args: None)  # as if singular
            theirs = gomory_cuts(lm, x, lp.highs)
        for other in (sliced, theirs):
            assert np.array_equal(ours[1], other[1])
            assert (ours[0] != other[0]).nnz == 0


def test_a_singular_basis_gives_no_rows() -> None:
    """A basis matrix singular in floating point (two equal columns): None, so the caller
    takes HiGHS's rows."""
    a = sp.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0]]))
    assert gomory.tableau_rows(a, np.array([0, 1]), np.array([0])) is None
    # No structural column basic: nothing to factorise either.
    assert gomory.tableau_rows(a, np.array([-1, -2]), np.array([], dtype=np.int64)) is None


def test_no_cut_where_the_lp_point_is_whole() -> None:
    rnd = friends_round(3)
    inst = instance_of(rnd)
    lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    w, _pref = stage_costs(inst, lm.n_vars)
    lp = WarmLP(lm, w)
    lp.solve()
    whole = np.zeros(lm.n_vars)
    cuts, rhs = gomory_cuts(lm, whole, lp.highs)
    assert cuts.shape == (0, lm.n_vars) and len(rhs) == 0


def gomory_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record every call of ``exact.tightened``: True where it cuts with Gomory rounds."""
    calls: list[bool] = []
    real = exact.tightened

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(bool(kwargs.get("gomory")))
        return real(*args, **kwargs)

    monkeypatch.setattr(exact, "tightened", spy)
    return calls


def test_an_incumbent_far_below_the_bound_brings_more_rounds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a first budget of 0 every incumbent below the bound is 'far' from it: the exact
    path cuts again (a round that does not lower the bound ends it), and still ends at the
    optimum of the plain two-stage CP-SAT."""
    rounds_by_seed = []
    calls = gomory_calls(monkeypatch)
    monkeypatch.setattr(exact, "BUDGETS", (0, 1_000_000))
    # No first round: the small LPs here are often tight after it, and nothing would be left
    # for the rounds after an incumbent.
    monkeypatch.setattr(exact, "PREFERENCE_CUT_ROUNDS", 0)
    for rnd, inst in friends_instances(40):
        calls.clear()
        out = solve_exact(inst, None, 10.0)
        best = solve(rnd, lp_fixing=False)
        if isinstance(out, GaveUp):
            # Only where the housing LP's bound is above every allocation (the zero-half cuts
            # did not close it): no allocation reaches it, the preference LP with its cuts has
            # no solution, and the caller's plain CP-SAT settles the round.
            lm, _ = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
            w, _pref = stage_costs(inst, lm.n_vars)
            housing = sum(s.urgency_weight for s in best.scores.values())
            assert tightened(lm, WarmLP(lm, w), w, rounds=4)[1].bound > housing
            continue
        assert out.value == best.objective
        rounds_by_seed.append(sum(calls))
        assert sum(calls) <= exact.MORE_CUT_ROUNDS + 1
    # Not vacuous: some rounds were cut again after their first incumbent.
    assert max(rounds_by_seed) >= 2


def friends_instances(n: int) -> Iterator[tuple[Round, Instance]]:
    """The Friends rounds of seeds ``0 .. n-1`` that have pairs, with their instances."""
    for seed in range(n):
        rnd = friends_round(seed)
        inst = instance_of(rnd)
        if inst.n_pairs:
            yield rnd, inst


def first_try_unproven(
    monkeypatch: pytest.MonkeyPatch, inst: Instance, limit: float
) -> tuple[ExactOutcome | GaveUp, list[int], list[dict[str, object]]]:
    """``solve_exact`` with its first CP-SAT try, when optimal, reported as found out of time
    (an incumbent, not a proof). Returns the outcome, that try's value (none when it was not
    optimal) and every try's arguments."""
    values: list[int] = []

    def unproven(res: exact.Residual) -> exact.Residual:
        if res.status != "OPTIMAL":
            return res  # nothing worth the target: not a try to play
        values.append(res.value)
        return dataclasses.replace(res, status="FEASIBLE")

    with monkeypatch.context() as m:
        calls = residual_calls(m, unproven)
        out = solve_exact(inst, None, limit)
    return out, values, calls


def without_rounds_beside(monkeypatch: pytest.MonkeyPatch, inst: Instance) -> ExactOutcome | GaveUp:
    """``solve_exact`` with no cut rounds beside its first try."""
    with monkeypatch.context() as m:
        m.setattr(exact, "MORE_CUT_ROUNDS", 0)
        return solve_exact(inst, None, 10.0)


def test_rounds_beside_a_first_try_that_settles_change_nothing_but_an_lp_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the first CP-SAT try settles the round, the cut rounds beside it (waited for, and
    not taken as the outcome here: no LP points) change nothing: the same allocation and bound
    as with no rounds beside it."""
    monkeypatch.setattr(exact, "LP_POINTS", False)  # else most of them end at an LP point
    settled = 0
    for _rnd, inst in friends_instances(20):
        out = solve_exact(inst, None, 10.0)
        alone = without_rounds_beside(monkeypatch, inst)
        if isinstance(out, GaveUp):
            assert isinstance(alone, GaveUp)
            continue
        assert isinstance(alone, ExactOutcome) and alone.value == out.value
        if out.tries == 1:
            settled += 1
            assert np.array_equal(out.pair_used, alone.pair_used)
            assert out.lp_preference_bound == alone.lp_preference_bound
    assert settled >= 5


def test_the_outcome_does_not_depend_on_how_fast_the_rounds_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rounds beside the first try are taken whole (or not at all), so a thread slowed down
    gives the same allocation and bound. With a first budget of 0 and no first round, the
    rounds are taken on some of these rounds (the bound is lower than without them)."""
    monkeypatch.setattr(exact, "BUDGETS", (0, 1_000_000))
    monkeypatch.setattr(exact, "PREFERENCE_CUT_ROUNDS", 0)
    real = exact.gomory_cuts

    def slow(*args: Any) -> Any:
        time.sleep(0.05)
        return real(*args)

    taken = 0
    for _rnd, inst in friends_instances(20):
        out = solve_exact(inst, None, 10.0)
        with monkeypatch.context() as m:
            m.setattr(exact, "gomory_cuts", slow)
            slowed = solve_exact(inst, None, 10.0)
        alone = without_rounds_beside(monkeypatch, inst)
        if isinstance(out, GaveUp):
            assert isinstance(slowed, GaveUp)
            continue
        assert isinstance(slowed, ExactOutcome) and isinstance(alone, ExactOutcome)
        assert np.array_equal(out.pair_used, slowed.pair_used)
        assert out.lp_preference_bound == slowed.lp_preference_bound
        assert out.value == alone.value
        taken += out.lp_preference_bound < alone.lp_preference_bound
    assert taken >= 1


def test_a_stop_ends_the_rounds_at_once() -> None:
    """``stop`` set: no tableau row is read, no cut made, the bound stays the LP's."""
    lm, c = triangle()
    lp = WarmLP(lm, c)
    x, _ = lp.solve()
    stop = threading.Event()
    assert len(gomory_cuts(lm, x, lp.highs, stop=stop)[1]) > 0
    stop.set()
    assert len(gomory_cuts(lm, x, lp.highs, stop=stop)[1]) == 0
    cut_model, cert = tightened(lm, WarmLP(lm, c), c, rounds=3, gomory=True, stop=stop)
    assert cert.bound == 3 and cut_model.cut.sum() == 0


def test_an_incumbent_at_the_cut_bound_needs_no_proof_try(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the cuts bring the preference bound down to the first try's allocation, that
    allocation is optimal without another CP-SAT try (before, a last try had to prove that
    nothing is worth more)."""
    tries = []
    real = exact.solve_residual

    def spy(*args: Any) -> exact.Residual:
        res = real(*args)
        tries.append(res)
        return dataclasses.replace(res, status="FEASIBLE")  # as if out of its share

    monkeypatch.setattr(exact, "solve_residual", spy)
    monkeypatch.setattr(exact, "LP_POINTS", False)  # its cut LP is an allocation at the bound
    rnd = exact_friends_round()
    out = solve_exact(instance_of(rnd), None, 30.0)
    assert isinstance(out, ExactOutcome)
    assert out.value == solve(rnd, lp_fixing=False).objective
    assert len(tries) == 1 and out.preference == out.lp_preference_bound == tries[0].value


def test_a_solution_found_out_of_time_is_the_incumbent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A try that found an allocation but could not finish passes it on: the next try asks for
    more than it (and proves the optimum). Played on rounds whose first try (reduced cost 0
    only, no cuts on the preference LP) stays below the bound."""
    monkeypatch.setattr(exact, "PREFERENCE_CUT_ROUNDS", 0)
    monkeypatch.setattr(exact, "MORE_CUT_ROUNDS", 0)
    monkeypatch.setattr(exact, "BUDGETS", (0, 1_000_000))
    monkeypatch.setattr(exact, "LP_POINTS", False)  # the LP point would settle some at once
    below = 0
    for rnd, inst in friends_instances(40):
        out, values, calls = first_try_unproven(monkeypatch, inst, 30.0)
        if isinstance(out, GaveUp):
            continue  # a housing bound above every allocation (see the test above)
        assert out.value == solve(rnd, lp_fixing=False).objective
        assert calls[0]["at_least"] is None
        if not values:
            continue
        if values[0] < out.lp_preference_bound:
            below += 1
            assert calls[1]["at_least"] == values[0] + 1
        else:
            assert len(calls) == 1  # the bound itself proves the allocation optimal
    assert below >= 1
