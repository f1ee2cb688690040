"""The preference LP's point as the outcome: where the cuts make it an allocation at the
certified bound, the exact path needs no CP-SAT try (``integral_point``, ``optimal_point``,
``TryStop`` and the rounds beside the first try in ``matcher.exact``)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

import matcher.exact as exact
from matcher.exact import (
    DUAL_DENOMINATOR,
    Certificate,
    ExactOutcome,
    GaveUp,
    TryStop,
    integral_point,
    optimal_point,
    solve_exact,
    solve_residual,
)
from matcher.solve import solve
from tests.matcher.test_gomory import friends_instances, triangle


def test_an_lp_point_is_an_allocation_only_when_whole_and_within_every_row_and_bound() -> None:
    lm, _c = triangle()
    assert integral_point(lm, np.array([0.5, 0.5, 0.5])) is None  # fractional
    assert integral_point(lm, np.array([1.0, 1.0, 0.0])) is None  # x1 + x2 <= 1 broken
    assert integral_point(lm, np.array([2.0, 0.0, 0.0])) is None  # above its upper bound
    assert integral_point(lm, np.array([-1.0, 0.0, 0.0])) is None  # below its lower bound
    point = integral_point(lm, np.array([1.0 - 1e-12, 0.0, 1e-13]))
    assert point is not None and point.tolist() == [1, 0, 0] and point.dtype == np.int64


def test_a_whole_point_counts_as_optimal_only_at_the_certified_bound() -> None:
    lm, c = triangle()  # c = 2 per variable: the point [1, 0, 0] is worth 2
    x = np.array([1.0, 0.0, 0.0])
    d = np.zeros(3, dtype=np.int64)
    above = Certificate(3 * DUAL_DENOMINATOR, d, x)
    assert optimal_point(lm, c, above) is None  # a bound of 3: something may be worth more
    at = Certificate(2 * DUAL_DENOMINATOR + DUAL_DENOMINATOR // 2, d, x)  # floor: 2
    point = optimal_point(lm, c, at)
    assert point is not None and point.tolist() == [1, 0, 0]
    assert optimal_point(lm, c, Certificate(2 * DUAL_DENOMINATOR, d, np.full(3, 0.5))) is None


class FakeSolver:
    def __init__(self) -> None:
        self.stops = 0

    def stop_search(self) -> None:
        self.stops += 1


def test_a_try_stop_reaches_the_running_try_only() -> None:
    stop = TryStop()
    solver = FakeSolver()
    assert stop.attach(solver)  # type: ignore[arg-type]
    stop.stop()
    assert solver.stops == 1 and stop.stopped
    stop.detach()
    stop.stop()
    assert solver.stops == 1  # a try that has ended is not stopped again
    # Once stopped, no try starts.
    assert not stop.attach(FakeSolver())  # type: ignore[arg-type]


def test_a_try_stopped_before_it_starts_returns_at_once_without_an_allocation() -> None:
    lm, c = triangle()
    stop = TryStop()
    stop.stop()
    free = np.ones(3, dtype=bool)
    res = solve_residual(lm, c, None, free, np.zeros(3, np.int64), None, 10.0, 0, stop)
    assert res.status == "UNKNOWN" and res.det_time == 0.0 and len(res.x) == 0
    # Without the stop the same try is solved (2: one variable of the triangle).
    res = solve_residual(lm, c, None, free, np.zeros(3, np.int64), None, 10.0, 0, TryStop())
    assert res.status == "OPTIMAL" and res.value == 2


def test_an_lp_point_at_the_bound_settles_the_round_without_cp_sat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On small Friends rounds the cut LP is often whole at its optimum: no CP-SAT try runs, and
    the allocation is the plain two-stage CP-SAT's optimum."""
    tries: list[Any] = []
    real = exact.solve_residual

    def spy(*args: Any) -> exact.Residual:
        tries.append(args)
        return real(*args)

    monkeypatch.setattr(exact, "solve_residual", spy)
    settled = 0
    for rnd, inst in friends_instances(30):
        tries.clear()
        out = solve_exact(inst, None, 10.0)
        if not isinstance(out, ExactOutcome) or not out.lp_point:
            continue
        settled += 1
        assert out.value == solve(rnd, lp_fixing=False).objective
        assert out.preference == out.lp_preference_bound
        if out.tries == 0:
            assert tries == []
    assert settled >= 3


def test_the_rounds_allocation_decides_whether_the_try_beside_finishes_or_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rounds beside the first try are taken whole: where their LP point is an allocation
    at their bound it is the outcome, whether the try finished first (slow rounds) or was
    stopped by them (a slow try). The same allocation and bound either way, and the optimum."""
    monkeypatch.setattr(exact, "PREFERENCE_CUT_ROUNDS", 0)  # leave the rounds work to do
    real_cuts = exact.gomory_cuts
    real_try = exact.solve_residual
    stopped: list[bool] = []

    def slow_cuts(*args: Any) -> Any:
        time.sleep(0.05)
        return real_cuts(*args)

    def slow_try(*args: Any) -> exact.Residual:
        time.sleep(0.3)
        res = real_try(*args)
        stop = args[8] if len(args) > 8 else None
        stopped.append(stop is not None and stop.stopped)
        return res

    from_rounds = 0
    for rnd, inst in friends_instances(30):
        with monkeypatch.context() as m:
            m.setattr(exact, "gomory_cuts", slow_cuts)
            rounds_slow = solve_exact(inst, None, 10.0)
        with monkeypatch.context() as m:
            m.setattr(exact, "solve_residual", slow_try)
            try_slow = solve_exact(inst, None, 10.0)
        if isinstance(rounds_slow, GaveUp):
            assert isinstance(try_slow, GaveUp)
            continue
        assert isinstance(try_slow, ExactOutcome)
        assert np.array_equal(rounds_slow.pair_used, try_slow.pair_used)
        assert rounds_slow.lp_preference_bound == try_slow.lp_preference_bound
        assert rounds_slow.lp_point == try_slow.lp_point
        assert rounds_slow.value == solve(rnd, lp_fixing=False).objective
        if try_slow.lp_point and try_slow.tries == 1:
            from_rounds += 1
    # Not vacuous: the rounds settled some rounds, and stopped a try that was running.
    assert from_rounds >= 1
    assert any(stopped)
