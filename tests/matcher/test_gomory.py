"""Gomory cuts (matcher.gomory): every cut holds for every integer point of the model it was
derived from, and a fractional LP is cut towards the integer optimum."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from ortools.sat.python import cp_model

from matcher.exact import (
    LinearModel,
    WarmLP,
    build_linear_model,
    lp_certificate,
    tightened,
)
from matcher.gomory import gomory_cuts
from matcher.problem import Round
from matcher.solve import solve
from tests.matcher.test_exact import SOME, house_rounds, instance_of, stage_costs
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
        x, _ = lp.solve()
        cuts, rhs = gomory_cuts(model, x, lp.highs)
        assert np.all(cuts.data == np.rint(cuts.data))
        for k in range(len(rhs)):
            coef = np.rint(cuts[k].toarray().ravel()).astype(np.int64)
            assert coef @ x > rhs[k] + 1e-7  # violated at the LP point
            best = max_over(model, coef)
            assert best is not None and best <= rhs[k]
            checked += 1
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


@SOME
@given(house_rounds())
def test_the_preference_bound_with_cuts_still_bounds_the_optimum(rnd: Round) -> None:
    """Rounds of Gomory cuts on the preference LP never push its certified bound below the
    optimum, and never above the bound without them."""
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
    plain = lp_certificate(lm2, pref).bound
    _, cert = tightened(lm2, WarmLP(lm2, pref), pref, rounds=3, gomory=True)
    assert preference <= cert.bound <= plain
