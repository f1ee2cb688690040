"""The preference LP's point as the outcome: where the cuts make it an allocation at the
certified bound, the exact path needs no CP-SAT try (``integral_point``, ``optimal_point``,
``TryStop`` and the rounds beside the first try in ``matcher.exact``)."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest
from ortools.sat.python import cp_model

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
from matcher.instance import Instance
from matcher.solve import solve
from matcher.verifier import verify
from tests.matcher.test_gomory import friends_instances, triangle


def keeps_every_rule(inst: Instance, out: ExactOutcome) -> bool:
    """The independent verifier finds nothing wrong with the outcome's allocation."""
    used = np.flatnonzero(out.pair_used)
    placed = {
        inst.youth_codes[int(inst.pair_youth[p])]: inst.option_codes[int(inst.pair_option[p])]
        for p in used
    }
    return len(placed) == len(used) and verify(inst.round, placed) == []


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


def test_a_try_stop_repeats_until_the_running_try_has_ended() -> None:
    stop = TryStop()
    solver = FakeSolver()
    assert stop.attach(solver)  # type: ignore[arg-type]
    stopping = threading.Thread(target=stop.stop)
    stopping.start()
    deadline = time.monotonic() + 30.0
    while solver.stops < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert stopping.is_alive() and stop.stopped  # it repeats while the try runs
    stop.detach()  # the try has ended
    stopping.join(timeout=30.0)
    assert not stopping.is_alive()
    before = solver.stops
    stop.stop()  # an ended try is not stopped again, and stop returns at once
    assert solver.stops == before and stop.reached_a_running_try
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
        assert keeps_every_rule(inst, out)
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
        assert keeps_every_rule(inst, try_slow)
        if try_slow.lp_point and try_slow.tries == 1:
            from_rounds += 1
    # Not vacuous: the rounds settled some rounds, and stopped the try beside them (before it
    # started: the try sleeps first; a stop during a solve is tested below).
    assert from_rounds >= 1
    assert any(stopped)


def golomb_ruler(marks: int) -> cp_model.CpModel:
    """The shortest Golomb ruler: CP-SAT needs far longer than the tests below wait."""
    model = cp_model.CpModel()
    top = marks * marks
    x = [model.new_int_var(0, top, f"m{i}") for i in range(marks)]
    model.add(x[0] == 0)
    for i in range(marks - 1):
        model.add(x[i] < x[i + 1])
    diffs = []
    for i in range(marks):
        for j in range(i + 1, marks):
            d = model.new_int_var(1, top, f"d{i}_{j}")
            model.add(d == x[j] - x[i])
            diffs.append(d)
    model.add_all_different(diffs)
    model.minimize(x[-1])
    return model


@pytest.mark.parametrize("after_s", [0.0, 0.3])
def test_a_stop_ends_a_real_cp_sat_search_at_its_start_or_during_it(after_s: float) -> None:
    """Right after ``solve`` is called (before CP-SAT can take a stop: ``stop`` repeats it) or
    in mid-search, the try ends long before its time limit, without a proof."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 120.0
    stop = TryStop()
    assert stop.attach(solver)
    timer = threading.Timer(after_s, stop.stop)
    timer.start()
    t0 = time.perf_counter()
    try:
        status = solver.solve(golomb_ruler(12))
    finally:
        stop.detach()
    timer.join()
    assert status in (cp_model.UNKNOWN, cp_model.FEASIBLE)
    assert time.perf_counter() - t0 < 60.0  # the limit is 120 s; a lost stop would reach it
    assert stop.reached_a_running_try


def test_a_failing_rounds_thread_leaves_the_tries_to_settle_the_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An error in the rounds beside the first try (not an LP failure) is logged, and the
    tries go on without their cuts: the optimum all the same."""
    monkeypatch.setattr(exact, "PREFERENCE_CUT_ROUNDS", 0)

    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug in the rounds")

    monkeypatch.setattr(exact.CutRounds, "_run", broken)
    solved = 0
    for rnd, inst in friends_instances(12):
        out = solve_exact(inst, None, 10.0)
        if isinstance(out, GaveUp):
            continue
        solved += 1
        assert not out.lp_point or out.tries == 0
        assert out.value == solve(rnd, lp_fixing=False).objective
    assert solved >= 5


def test_rounds_that_end_at_an_allocation_settle_a_round_with_too_many_free_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no variable allowed free the first try cannot run: where the rounds beside end at
    an allocation at their bound it is the outcome, elsewhere the path gives up as before."""
    monkeypatch.setattr(exact, "PREFERENCE_CUT_ROUNDS", 0)  # leave the rounds work to do
    monkeypatch.setattr(exact, "MAX_FREE", 0)
    by_rounds = gave_up = 0
    for rnd, inst in friends_instances(30):
        out = solve_exact(inst, None, 10.0)
        if isinstance(out, GaveUp):
            gave_up += 1
            continue
        assert out.lp_point and out.tries == 0
        assert out.value == solve(rnd, lp_fixing=False).objective
        with monkeypatch.context() as m:
            m.setattr(exact, "MORE_CUT_ROUNDS", 0)
            # Not the LP point before any round: without the rounds the path gives up.
            by_rounds += isinstance(solve_exact(inst, None, 10.0), GaveUp)
    assert by_rounds >= 1 and gave_up >= 1
