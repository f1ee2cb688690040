"""CP-SAT as stek runs it, and the two-stage solve of the side-rule model.

``cpsat_solver`` sets CP-SAT up (deterministic time, one worker, a fixed seed: the same round
gives the same answer on every run; also used by ``matcher.exact``). ``solve_sides`` solves the
recipe model of ``matcher.cpsat.model`` in two lexicographic stages, urgency-weighted housing
first, then preference and tie-break with the housing held, hinted with the repaired flow.

Bounds: the flow optimum over ALL eligible pairs bounds every allocation (it is a relaxation).
CP-SAT's own bound only bounds the allocations within its candidate set, so it is used as a bound
for the round only when the candidate set holds every eligible pair (``Candidates.complete``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from matcher.cpsat.candidates import Candidates
from matcher.cpsat.model import SideModel, build_side_model
from matcher.instance import BoolArray, Instance
from matcher.problem import ConflictingFixedPairs

__all__ = ["Progress", "SideSolution", "cpsat_solver", "solve_sides"]


@dataclass(frozen=True)
class SideSolution:
    """What ``solve_sides`` found: the pairs used (over the whole instance) and their value."""

    status: str  # CP-SAT status name
    pair_used: BoolArray  # over all pairs of the instance
    value: int
    cpsat_bound: int | None  # CP-SAT's bound over its candidate set
    seconds: float


class Progress(cp_model.CpSolverSolutionCallback):
    """Reports (objective, bound) of every improving solution to ``report``."""

    def __init__(self, report: Callable[[int, float], None]) -> None:
        super().__init__()
        self._report = report

    def on_solution_callback(self) -> None:
        self._report(round(self.objective_value), float(self.best_objective_bound))


def cpsat_solver(
    time_limit_s: float, seed: int, workers: int = 1, proof: bool = True
) -> cp_model.CpSolver:
    """A CP-SAT solver set up the way stek runs it (also used by ``matcher.exact``).

    The budget is spent as deterministic time (about CPU seconds of work), so the same input
    stops at the same point and gives the same answer on every run, loaded machine or not.
    Wall-clock time only backstops it (sixty times the budget plus 30 s; a deterministic second
    took up to ~3 wall seconds on a loaded 2-core machine, and a ten-fold backstop was seen to
    cut a national run short under a load of 8): only if that hits first may the answer differ
    between runs. ``proof``: the full LP relaxation (cuts included) at every node; on the
    regional fixtures it proves the preference stage in ~8 deterministic s, where the default
    level left a 15 % stage gap after 12 (docs/objective.md).
    """
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.max_deterministic_time = max(0.05, time_limit_s)
    solver.parameters.max_time_in_seconds = 60.0 * max(0.05, time_limit_s) + 30.0
    solver.parameters.random_seed = seed % (2**31)
    if proof:
        solver.parameters.linearization_level = 2
    return solver


def _run(
    sm: SideModel,
    time_limit_s: float,
    workers: int,
    report: Callable[[int, float], None] | None,
) -> tuple[cp_model.CpSolver, int]:
    solver = cpsat_solver(time_limit_s, int(sm.inst.round.seed), workers, proof=sm.complete)
    status = solver.solve(sm.model, Progress(report) if report else None)
    if status == cp_model.INFEASIBLE and not sm.complete:
        # A neighbourhood pins youths to the hint: infeasible here proves nothing about the
        # fixed pairs. The caller keeps its hint.
        return solver, int(cp_model.UNKNOWN)
    if status == cp_model.INFEASIBLE:
        core = set(solver.sufficient_assumptions_for_infeasibility())
        inst = sm.inst
        named = [
            (inst.youth_codes[inst.pair_youth[p]], inst.option_codes[inst.pair_option[p]])
            for p, lit in sm.fixed_literals
            if lit.index in core
        ] or [(inst.youth_codes[y], inst.option_codes[o]) for y, o in inst.fixed]
        raise ConflictingFixedPairs(
            "vaste koppelingen zijn samen niet mogelijk (huisregels)", named
        )
    return solver, int(status)


def _values(solver: cp_model.CpSolver, sm: SideModel) -> BoolArray:
    return np.array([solver.boolean_value(v) for v in sm.x], dtype=bool)


def solve_sides(
    inst: Instance,
    candidates: Candidates,
    hint: BoolArray,
    time_limit_s: float,
    on_solution: Callable[[int, int], None] | None = None,
    workers: int = 1,
    housing_upper: int | None = None,
) -> SideSolution:
    """Solve the side-rule model with CP-SAT in two lexicographic stages, hinted.

    Stage 1 maximises the urgency-weighted housing (small integers), stage 2 fixes it at the
    stage-1 value and maximises preference + tie-break. Together they optimise the combined pair
    value (``housing_scale`` makes housing dominate) while keeping each CP-SAT objective small
    enough for exact bounds; one combined objective of ~1e12 per pair did not close its gap.

    Raises ``ConflictingFixedPairs`` when CP-SAT proves the fixed pairs cannot hold together.
    A single worker with a deterministic time limit keeps the answer reproducible.
    ``on_solution(value, bound)`` gets the combined value and CP-SAT's combined bound (over the
    candidate set) of each improving solution.
    """
    t0 = time.perf_counter()
    sm = build_side_model(inst, candidates)
    pairs = candidates.pairs
    scale = inst.housing_scale
    w = inst.youth_weight[inst.pair_youth[pairs]]
    pref = inst.pair_value[pairs] - scale * w
    best_pref = np.zeros(inst.n_youths, dtype=np.int64)
    np.maximum.at(best_pref, inst.pair_youth[pairs], pref)
    max_pref_total = int(best_pref.sum())  # no allocation of the candidates scores more
    sm.hint(hint[pairs])
    if housing_upper is not None:
        # A known upper bound on the housing value (e.g. the flow's). Measured on the regional
        # fixtures it slowed the proof down (a dense row), so solve() does not pass it.
        sm.model.add(cp_model.LinearExpr.weighted_sum(sm.x, w.tolist()) <= housing_upper)
    if len(candidates.pinned):
        local = np.searchsorted(pairs, candidates.pinned)
        for k in local.tolist():
            sm.model.add(sm.x[k] == 1)
    hint_pref = int(pref[hint[pairs]].sum())
    # Placements outside the model are constants of every solution's value.
    outside_value = int(inst.pair_value[candidates.outside].sum())
    housing = cp_model.LinearExpr.weighted_sum(sm.x, w.tolist())

    def report1(h: int, hb: float) -> None:
        if on_solution:
            on_solution(
                outside_value + scale * h + hint_pref,
                outside_value + scale * int(hb) + max_pref_total,
            )

    sm.model.maximize(housing)
    solver, status = _run(sm, time_limit_s * 0.6, workers, report1)
    used = np.zeros(inst.n_pairs, dtype=bool)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SideSolution("UNKNOWN", used, 0, None, time.perf_counter() - t0)
    x1 = _values(solver, sm)
    h1 = int(w[x1].sum())
    h_bound = h1 if status == cp_model.OPTIMAL else int(np.floor(solver.best_objective_bound))
    stage1_optimal = status == cp_model.OPTIMAL

    # Stage 2: keep the housing value, maximise preference and tie-break.
    sm.model.add(housing >= h1)
    sm.hint(x1)

    def report2(pv: int, pb: float) -> None:
        if on_solution:
            b = scale * h1 + int(pb) if stage1_optimal else scale * h_bound + max_pref_total
            on_solution(outside_value + scale * h1 + pv, outside_value + b)

    sm.model.maximize(cp_model.LinearExpr.weighted_sum(sm.x, pref.tolist()))
    # Stage 2 gets what stage 1 left, counted in deterministic time so runs repeat exactly.
    remaining = time_limit_s - float(solver.deterministic_time)
    solver2, status2 = _run(sm, max(0.05, remaining), workers, report2)
    if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        xs = _values(solver2, sm)
        p_bound = (
            int(pref[xs].sum())
            if status2 == cp_model.OPTIMAL
            else int(np.floor(solver2.best_objective_bound))
        )
    else:
        xs, p_bound = x1, max_pref_total
    used[pairs[xs]] = True
    used[candidates.outside] = True
    value = int(inst.pair_value[used].sum())
    bound = outside_value + (
        scale * h1 + p_bound if stage1_optimal else scale * h_bound + max_pref_total
    )
    name = "OPTIMAL" if stage1_optimal and status2 == cp_model.OPTIMAL else "FEASIBLE"
    return SideSolution(name, used, value, max(bound, value), time.perf_counter() - t0)
