"""Solve a round: screen -> score -> flow -> sides -> extract -> verify.

1. screen: eligible pairs with net rent, toeslag and distance (matcher.rules); companions lose
   the pairs into houses their group cannot share (matcher.groups).
2. score: integer pair values (matcher.scoring), the round in array form (matcher.instance);
   fixed pairs that conflict on their own are refused here (matcher.fixed).
3. flow: the min-cost flow over all eligible pairs (matcher.flow). Its optimum bounds every
   allocation. If it keeps every side rule it is optimal and we are done. In a large round the
   flow's own duals tighten that bound with every companion group as one node
   (``group_nodes``, matcher.flowdual).
4. sides: otherwise repair the flow solution (in a large round, first move residents of broken
   houses where they fit, matcher.consolidate, and try a second flow that keeps the age gap of
   the houses still broken: ``large_round_hint``; then drop placements breaking house rules:
   matcher.repair), refill it greedily (matcher.greedy), and hand it as a hint to the exact path
   (matcher.exact) or to CP-SAT on a candidate set (matcher.cpsat). A large round's hint is
   first improved by the exact path area by area (matcher.regions).
5. extract: the best allocation found, scores, contingent use and a reason per unmatched youth.
6. verify: the independent verifier re-checks the proposal; a violation is a bug and raises.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.beside import Beside
from matcher.consolidate import age_window_pairs, consolidate, option_pairs, second_flow_scope
from matcher.cpsat import candidate_pairs, solve_sides
from matcher.exact import ExactOutcome, GaveUp, solve_exact
from matcher.fixed import check_fixed_pairs
from matcher.flow import FlowInput, Network, solve_flow
from matcher.flowdual import group_bound, potentials
from matcher.flownet import fixed_youths, flow_input, flow_pairs, group_nodes
from matcher.glossary import label
from matcher.greedy import greedy_fill
from matcher.groups import companion_pairs
from matcher.instance import NO_LIMIT, Instance, build_instance
from matcher.problem import ConflictingFixedPairs, Contingent, Round
from matcher.regions import improve_by_area
from matcher.repair import repair, side_violations
from matcher.result import (
    CONTINGENT_EXHAUSTED,
    HOUSE_COMPOSITION,
    NO_ELIGIBLE_OPTION,
    NOT_SELECTED,
    OUTCOMPETED,
    PairResult,
    Result,
    Status,
    Unmatched,
)
from matcher.rules import failure_figures, screen
from matcher.scoring import PairValues, pair_values
from matcher.verifier import verify

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
Progress = Callable[[str, dict[str, Any]], None]

__all__ = ["ConflictingFixedPairs", "SolverBug", "canonical_round", "solve"]


class SolverBug(RuntimeError):
    """The verifier rejected a proposal: the solver broke a rule (never the input's fault)."""


def canonical_round(round: Round) -> Round:
    """The round with every collection in code order, so input order never changes the answer."""
    return dataclasses.replace(
        round,
        types=tuple(sorted(round.types, key=lambda t: t.code)),
        options=tuple(sorted(round.options, key=lambda o: o.code)),
        youths=tuple(sorted(round.youths, key=lambda y: y.code)),
        contingents=tuple(sorted(round.contingents, key=contingent_key)),
        fixed_pairs=tuple(sorted(set(round.fixed_pairs))),
        forbidden_pairs=tuple(sorted(set(round.forbidden_pairs))),
        gemeente_caps=tuple(sorted(round.gemeente_caps)),
    )


def contingent_key(c: Contingent) -> str:
    """Readable key of a contingent: corporation/gemeente/year[/type]."""
    base = f"{c.corporation}/{c.gemeente_code}/{c.year}"
    return f"{base}/{c.type_code}" if c.type_code else base


# Flows a large round may add to keep the age gap of houses the consolidation left broken. Measured
# on national seed 8 (docs/objective.md): gap after 1/2/3/4 flows 0.064/0.062/0.052/0.051 %.
# One since the exact path takes the areas afterwards (7 December): with it, three flows gained
# at most 0.006 % of gap more than one on seeds 13, 14, 16 for about 1.3 s each; none left seed
# 11 at 0.057 % (pair budget 30,000).
AGE_FLOWS = 1

# Pairs the exact path may take in all, area by area, after a large round's hint
# (matcher.regions; docs/objective.md, 7 December 2026): 30,000 brought every national seed 7-16
# to 0.037 % or less in 1.3-1.9 s; 60,000 gained 0.001-0.008 % more for about 1 s more.
REGION_PAIRS = 30_000


def mended(inst: Instance, assign: IntArray, seconds: dict[str, float]) -> IntArray:
    """The assignment with the placements that break a house rule dropped (matcher.repair)
    and the freed places refilled greedily; the repair alone if the refill breaks a rule."""
    t0 = time.perf_counter()
    repaired = repair(inst, assign)
    seconds["sides.repair"] = seconds.get("sides.repair", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    refilled = greedy_fill(inst, repaired)
    seconds["sides.refill"] = seconds.get("sides.refill", 0.0) + time.perf_counter() - t0
    return refilled if _keeps_rules(inst, refilled) else repaired


def large_round_hint(
    inst: Instance,
    assign: IntArray,
    seconds: dict[str, float],
    age_flows: int = AGE_FLOWS,
    region_pairs: int = REGION_PAIRS,
) -> IntArray:
    """A rule-keeping allocation near the flow's ``assign`` for a round too large for the
    exact path (whose bound stays the flow's, so every youth kept housed narrows the gap).

    Residents of broken houses first move where they fit (matcher.consolidate), then the repair
    and refill. Houses whose residents' ages still spread too far get another flow in which
    only youths in their best age window may enter them: the flow re-routes the youths around
    those houses (``second_flow_scope``; everybody else keeps their place), and so on, at most
    ``age_flows`` times, the windows closed so far staying closed. Each consolidated allocation
    is repaired; the best of them after the repair, and the first, are refilled (the refill is
    the costly step; measured on national seeds 8, 10, 11 it never changed which is best), and
    the better of those two is kept. Last, the exact path takes the areas (gemeenten, or wijken
    of large ones) where the flow and this allocation differ, most housing to gain first, up to
    ``region_pairs`` pairs in all (matcher.regions; docs/objective.md).
    """
    t0 = time.perf_counter()
    by_option = option_pairs(inst)
    first = consolidate(inst, assign, by_option)
    seconds["sides.consolidate"] = time.perf_counter() - t0
    moved, best, best_value = first, first, _repaired_value(inst, first, seconds)
    allowed = np.ones(inst.n_pairs, dtype=bool)
    for _ in range(age_flows):
        closing = allowed & age_window_pairs(inst, moved)
        if np.array_equal(closing, allowed):
            break
        newly, allowed = allowed & ~closing, closing
        t0 = time.perf_counter()
        pairs, held = second_flow_scope(inst, moved, allowed, newly)
        fin, keep = flow_input(
            dataclasses.replace(inst, fixed=[*inst.fixed, *held]), pairs, groups=True
        )
        again = assignment_of(inst, flow_pairs(inst, keep, solve_flow(fin).pair_used))
        for y, o in held:
            again[y] = o
        seconds["sides.flow2"] = seconds.get("sides.flow2", 0.0) + time.perf_counter() - t0
        t0 = time.perf_counter()
        moved = consolidate(inst, again, by_option)
        seconds["sides.consolidate"] += time.perf_counter() - t0
        value = _repaired_value(inst, moved, seconds)
        if value > best_value:
            best, best_value = moved, value
    hint = mended(inst, first, seconds)
    if best is not first:
        other = mended(inst, best, seconds)
        if _rule_value(inst, other) > _rule_value(inst, hint):
            hint = other
    if region_pairs > 0 and _keeps_rules(inst, hint):
        t0 = time.perf_counter()
        changed = hint != assign
        touched = np.zeros(inst.n_options, dtype=bool)
        touched[assign[changed & (assign >= 0)]] = True
        touched[hint[changed & (hint >= 0)]] = True
        hint = improve_by_area(inst, hint, touched, region_pairs).assign
        seconds["sides.regions"] = time.perf_counter() - t0
    return hint


def _repaired_value(inst: Instance, assign: IntArray, seconds: dict[str, float]) -> int:
    """Value of ``assign`` after the repair, -1 when that still breaks a rule."""
    t0 = time.perf_counter()
    repaired = repair(inst, assign)
    seconds["sides.repair"] = seconds.get("sides.repair", 0.0) + time.perf_counter() - t0
    return _rule_value(inst, repaired)


def _rule_value(inst: Instance, assign: IntArray) -> int:
    return _value(inst, assign) if _keeps_rules(inst, assign) else -1


def _keeps_rules(inst: Instance, assign: IntArray) -> bool:
    return side_violations(inst, assign) == (set(), set())


def _value(inst: Instance, assign: IntArray) -> int:
    return int(inst.pair_value[pairs_of_assignment(inst, assign)].sum())


def assignment_of(inst: Instance, pair_used: npt.NDArray[np.bool_]) -> IntArray:
    """youth -> option index (-1: unplaced) from a pair mask."""
    assign = np.full(inst.n_youths, -1, dtype=np.int64)
    used = np.nonzero(pair_used)[0]
    assign[inst.pair_youth[used]] = inst.pair_option[used]
    return assign


def pairs_of_assignment(inst: Instance, assign: IntArray) -> npt.NDArray[np.bool_]:
    """Pair mask of an assignment (every placement must be an eligible pair)."""
    mask = np.zeros(inst.n_pairs, dtype=bool)
    mask[assign[inst.pair_youth] == inst.pair_option] = True
    return mask


def solve(
    round: Round,
    time_limit_s: float = 30,
    seed: int | None = None,
    progress: Progress | None = None,
    *,
    full_limit: int = 40_000,
    top_k: int = 3,
    workers: int = 1,
    neighbourhood_s: float = 0.25,
    polish_limit: int = 1_000_000,
    explain: bool = True,
    lp_fixing: bool = True,
) -> Result:
    """Propose an allocation for ``round``; see the module docstring for the phases.

    ``seed`` (default ``round.seed``) drives the tie-break; the same round and seed give a
    byte-identical ``Result.to_json()``. ``progress(phase, info)`` is called at every phase end
    and, during CP-SAT, with objective / bound / gap as they improve. Rounds of at most
    ``full_limit`` eligible pairs give CP-SAT every pair (optimality can be proven); larger rounds
    start from a consolidated flow solution (``large_round_hint``) and give CP-SAT
    ``neighbourhood_s`` deterministic seconds on a neighbourhood of the flow's side-rule
    violations (``candidate_pairs``: the youths involved with their flow, hint, ``top_k`` best
    and best house-rule pairs; everybody else pinned; skipped over ``polish_limit`` pairs when
    the hint keeps every rule); the round's bound stays the flow's. ``time_limit_s`` is spent
    by CP-SAT as deterministic time (see ``solve_sides``). Raises ``ConflictingFixedPairs``
    when the fixed pairs cannot all hold, ``SolverBug`` when the verifier rejects the proposal.
    ``lp_fixing=False`` skips the certified-LP path (``matcher.exact``) and gives a complete
    candidate set straight to the two-stage CP-SAT (for comparison and tests).
    ``explain=False`` skips the per-rule failure counts of youths without any eligible option
    (their reason stays ``no_eligible_option`` with only ``eligible: 0``).
    """
    t_start = time.perf_counter()
    phase_seconds: dict[str, float] = {}
    report: Progress = progress or (lambda phase, info: None)

    def done(phase: str, t0: float, **info: Any) -> None:
        phase_seconds[phase] = time.perf_counter() - t0
        report(phase, {"seconds": phase_seconds[phase], **info})

    rnd = canonical_round(round)
    seed = rnd.seed if seed is None else seed

    t0 = time.perf_counter()
    screening = screen(rnd)
    done("screen", t0, pairs=len(screening.youth_idx))
    # Youths without any eligible pair get per-rule failure counts: vectorised NumPy work that
    # runs beside the solve (matcher.beside: a forked process, or a thread).
    counts = np.bincount(screening.youth_idx, minlength=len(rnd.youths))
    lonely = [rnd.youths[i].code for i in np.flatnonzero(counts == 0).tolist()]
    beside: Beside[dict[str, dict[str, int]]] | None = None
    if explain and lonely:
        beside = Beside(failure_figures, rnd, lonely, np.zeros(len(lonely), dtype=np.int64))

    t0 = time.perf_counter()
    values = pair_values(rnd, screening, seed)
    # Companions live together or not at all: drop pairs into houses the group cannot share.
    keep = companion_pairs(rnd, screening.youth_idx, screening.option_idx)
    eligible_before = np.bincount(screening.youth_idx, minlength=len(rnd.youths))
    if not keep.all():
        screening = dataclasses.replace(
            screening,
            youth_idx=screening.youth_idx[keep],
            option_idx=screening.option_idx[keep],
            net_rent=screening.net_rent[keep],
            toeslag=screening.toeslag[keep],
            distance_m=screening.distance_m[keep],
        )
        values = values.subset(keep)
    inst = build_instance(
        rnd,
        screening.youth_idx,
        screening.option_idx,
        values.value,
        values.urgency,
        screening.option_contingent,
        values.housing_scale,
    )
    check_fixed_pairs(inst)
    done("score", t0)

    t0 = time.perf_counter()
    large = inst.n_pairs > full_limit
    fin, keep = flow_input(inst)
    flow = solve_flow(fin, keep_network=large)
    flow_used = flow_pairs(inst, keep, flow.pair_used)
    fixed_value = int(inst.pair_value[inst.fixed_pair_idx].sum())
    flow_bound = flow.value + fixed_value
    done("flow", t0, objective=flow_bound, bound=flow_bound)
    dual: Beside[int | None] | None = None
    if flow.network is not None:
        # A large round keeps the flow's bound, tightened from its duals with every companion
        # group as one node (matcher.flowdual; the exact path has its own bound). Worked out
        # beside the consolidation and the age-window flow, collected before the bound is used.
        dual = Beside(dual_bound, flow.network, group_nodes(inst, fin, fixed_youths(inst)))
    bound = flow_bound

    t0 = time.perf_counter()
    assign = assignment_of(inst, flow_used)
    bad_houses, bad_groups = side_violations(inst, assign)
    method = "flow"
    n_candidates = 0
    best_used = flow_used
    if bad_houses or bad_groups:
        if inst.n_pairs > full_limit:
            refilled = large_round_hint(inst, assign, phase_seconds)
            flow_bound = bound = _tightened(dual, flow_bound, fixed_value, done)
            dual = None
        else:
            # A complete round is proven optimal by the exact path whatever its hint.
            refilled = mended(inst, assign, phase_seconds)
        hint_ok = _keeps_rules(inst, refilled)
        hint_used = pairs_of_assignment(inst, refilled)
        # A hint that still breaks a rule (fixed pairs alone in a house) is no fallback.
        best_used = hint_used if hint_ok else np.zeros(inst.n_pairs, dtype=bool)
        method = "repair" if hint_ok else "none"
        hint_value = int(inst.pair_value[hint_used].sum()) if hint_ok else -1
        report("repair", {"objective": hint_value, "bound": bound, "gap": _gap(hint_value, bound)})
        # A hint that keeps every rule in a very large round is the proposal: the neighbourhood
        # CP-SAT gained at most 0.002 % of housing there (national fixtures, docs/objective.md)
        # for more wall time than a second age-window flow, which gained far more.
        if not (hint_ok and inst.n_pairs > polish_limit):
            cands = candidate_pairs(inst, flow_used, hint_used, top_k=top_k, full_limit=full_limit)
            n_candidates = len(cands.pairs)
            # Budgets depend on the input only (never on wall-clock time spent so far), so the
            # same round and seed give the same answer; see solve_sides on deterministic time.
            budget = 0.8 * time_limit_s
            if not cands.complete:
                # A neighbourhood cannot prove optimality, and its model is bounded (candidate_pairs
                # frees at most max_free youths) whatever the round's size: a fixed deterministic
                # budget. Measured on the national fixtures after the consolidation, 0.05 s found
                # what 10 s found; 1.1 s (the budget before) cost 6 wall seconds for a gain of a
                # few preference points (docs/objective.md, 6 December 2026, second part).
                budget = min(budget, neighbourhood_s)

            def on_solution(objective: int, cp_bound: int) -> None:
                b = min(bound, cp_bound) if cands.complete else bound
                report("sides", {"objective": objective, "bound": b, "gap": _gap(objective, b)})

            exact: ExactOutcome | None = None
            if cands.complete and lp_fixing:
                # Certified LP bounds + reduced-cost fixing: CP-SAT only sees the variables that
                # can still move (matcher.exact). When it gives up, the general CP-SAT gets what
                # is left of the budget.
                t_ex = time.perf_counter()
                # The flow's housing: the exact path's housing bound where the house rules
                # do not cost housing, so its preference LP can start beside the housing LP.
                flow_housing = int(inst.youth_weight[inst.pair_youth[flow_used]].sum())
                attempt = solve_exact(
                    inst,
                    hint_used if hint_ok else None,
                    budget,
                    on_solution,
                    housing_guess=flow_housing,
                )
                phase_seconds["sides.exact"] = time.perf_counter() - t_ex
                if isinstance(attempt, GaveUp):
                    budget = max(0.05, budget - attempt.det_time)
                else:
                    exact = attempt
            if exact is not None:
                best_used, method = exact.pair_used, "lp+cp-sat"
                bound = min(bound, exact.value)
            else:
                side = solve_sides(
                    inst,
                    cands,
                    hint_used,
                    budget,
                    on_solution,
                    workers=workers,
                )
                phase_seconds["sides.cpsat"] = side.seconds
                if side.status in ("OPTIMAL", "FEASIBLE") and side.value >= hint_value:
                    best_used, method = side.pair_used, "cp-sat"
                if cands.complete and side.cpsat_bound is not None:
                    # Only a complete candidate set makes CP-SAT's bound a bound for the round.
                    bound = min(bound, side.cpsat_bound)
    if dual is not None:  # the flow kept every rule: no hint, the bound still to collect
        flow_bound = bound = _tightened(dual, flow_bound, fixed_value, done)
    objective = int(inst.pair_value[best_used].sum())
    bound = max(bound, objective)
    done("sides", t0, objective=objective, bound=bound, gap=_gap(objective, bound))

    t0 = time.perf_counter()
    status: Status = "optimal" if objective == bound else "feasible"
    if method == "none":
        # No allocation keeping the fixed pairs was found in time (none proven impossible).
        status = "infeasible"
    result = extract(
        inst,
        values,
        screening,
        best_used,
        status=status,
        objective=objective,
        bound=bound,
        seed=seed,
        method=method,
        flow_bound=flow_bound,
        candidate_pairs=n_candidates,
        eligible_before=eligible_before,
    )
    done("extract", t0)

    if explain:
        t0 = time.perf_counter()
        figures = beside.result() if beside is not None else {}
        unmatched = explain_no_eligible(rnd, result.unmatched, figures)
        result = dataclasses.replace(result, unmatched=unmatched)
        done("explain", t0)

    t0 = time.perf_counter()
    violations = verify(rnd, result.assignment) if status != "infeasible" else []
    if violations:
        raise SolverBug(
            "verifier rejected the proposal: " + "; ".join(v.message for v in violations[:10])
        )
    done("verify", t0)
    phase_seconds["total"] = time.perf_counter() - t_start
    return dataclasses.replace(result, phase_seconds=dict(phase_seconds))


def dual_bound(network: Network, grouped: FlowInput) -> int | None:
    """The flow's bound from its duals with companion groups as one node
    (``matcher.flowdual.group_bound``); None when the values are too large for int64."""
    try:
        return group_bound(network, potentials(network), grouped)
    except OverflowError:
        return None


def _tightened(
    dual: Beside[int | None] | None,
    flow_bound: int,
    fixed_value: int,
    done: Callable[..., None],
) -> int:
    """``flow_bound``, or the dual bound running beside when that is lower (phase flow.dual:
    the time spent waiting for it)."""
    if dual is None:
        return flow_bound
    t0 = time.perf_counter()
    tighter = dual.result()
    if tighter is not None:
        flow_bound = min(flow_bound, tighter + fixed_value)
    done("flow.dual", t0, bound=flow_bound)
    return flow_bound


def _gap(objective: int, bound: int) -> float:
    return 0.0 if bound <= 0 else max(0.0, (bound - objective) / bound)


def extract(
    inst: Instance,
    values: PairValues,
    screening: Any,
    pair_used: npt.NDArray[np.bool_],
    *,
    status: Status,
    objective: int,
    bound: int,
    seed: int,
    method: str,
    flow_bound: int,
    candidate_pairs: int,
    eligible_before: npt.NDArray[np.int64] | None = None,
) -> Result:
    """Turn a pair mask into a ``Result`` with scores, contingent use and unmatched reasons."""
    rnd = inst.round
    used = np.nonzero(pair_used)[0]
    assignment: dict[str, str] = {}
    scores: dict[str, PairResult] = {}
    dist = np.asarray(screening.distance_m, dtype=np.float64)
    net = np.asarray(screening.net_rent, dtype=np.float64)
    toeslag = np.asarray(screening.toeslag, dtype=np.float64)
    for p in used.tolist():
        y, o = int(inst.pair_youth[p]), int(inst.pair_option[p])
        yc, oc = inst.youth_codes[y], inst.option_codes[o]
        assignment[yc] = oc
        d = float(dist[p])
        scores[yc] = PairResult(
            option=oc,
            value=int(inst.pair_value[p]),
            urgency_weight=int(values.urgency[y]),
            area_points=int(values.area[p]),
            type_points=int(values.type[p]),
            distance_points=int(values.distance[p]),
            rent_points=int(values.rent[p]),
            tie_break=int(values.tie[p]),
            net_rent=float(net[p]),
            toeslag=float(toeslag[p]),
            distance_m=None if np.isnan(d) else d,
        )
    assign = assignment_of(inst, pair_used)

    # Contingent use.
    cont_used = np.zeros(len(rnd.contingents), dtype=np.int64)
    oc_of = inst.option_contingent[assign[assign >= 0]]
    np.add.at(cont_used, oc_of[oc_of >= 0], 1)
    per_corp: dict[str, int] = {}
    detail: dict[str, dict[str, Any]] = {}
    for c, n in zip(rnd.contingents, cont_used.tolist(), strict=True):
        per_corp[c.corporation] = per_corp.get(c.corporation, 0) + n
        detail[contingent_key(c)] = {"corporation": c.corporation, "used": n, "left": c.left}

    unmatched = unmatched_reasons(inst, assign, status, eligible_before)
    return Result(
        status=status,
        objective=objective,
        bound=bound,
        gap=_gap(objective, bound),
        assignment=dict(sorted(assignment.items())),
        scores=scores,
        unmatched=unmatched,
        contingent_use=per_corp,
        contingent_use_detail=detail,
        seed=seed,
        youths=inst.n_youths,
        options=inst.n_options,
        pairs=inst.n_pairs,
        method=method,
        flow_bound=flow_bound,
        candidate_pairs=candidate_pairs,
    )


def explain_no_eligible(
    round: Round,
    unmatched: dict[str, Unmatched],
    figures: dict[str, dict[str, int]] | None = None,
) -> dict[str, Unmatched]:
    """Add the failure counts per rule to every ``no_eligible_option``.

    ``figures``: counts already computed by ``failure_figures`` (``solve`` computes them in a
    background thread while the flow and CP-SAT run); youths missing there are counted here.
    """
    codes = [c for c, why in sorted(unmatched.items()) if why.reason == NO_ELIGIBLE_OPTION]
    known = figures or {}
    known = {**known, **failure_figures(round, [c for c in codes if c not in known])}
    out = dict(unmatched)
    for code in codes:
        failing = ", ".join(
            f"{label('rule', k)} {v}"
            for k, v in sorted(known[code].items())
            if k != "eligible" and v
        )
        out[code] = Unmatched(
            code,
            NO_ELIGIBLE_OPTION,
            f"Geen enkele woning voldoet aan de regels (afgewezen per regel: {failing}).",
            dict(known[code]),
        )
    return out


def unmatched_reasons(
    inst: Instance,
    assign: IntArray,
    status: Status,
    eligible_before: npt.NDArray[np.int64] | None = None,
) -> dict[str, Unmatched]:
    """A reason for every youth without a place (see matcher.result for the codes).

    With eligible options, each option is classified by what blocks it in this allocation: full
    (taken by others), its contingent or gemeente cap used up, or house composition rules
    (persons per house, conflicts, age gap, companions). ``outcompeted`` when every eligible
    option is full (figures: how many went to youths with a higher urgency weight), else
    ``contingent_exhausted`` when a free option is blocked by its contingent or gemeente cap,
    else ``house_composition`` (``not_selected`` only when the result is not proven optimal).
    """
    placed = assign >= 0
    opt_used = np.bincount(assign[placed], minlength=inst.n_options)
    cont_used = np.bincount(
        inst.option_contingent[assign[placed]][inst.option_contingent[assign[placed]] >= 0],
        minlength=len(inst.contingent_left),
    )
    gem_used = np.bincount(inst.option_gemeente[assign[placed]], minlength=len(inst.gemeente_cap))
    # Highest urgency weight among the residents of each option.
    top_weight = np.zeros(inst.n_options, dtype=np.int64)
    np.maximum.at(top_weight, assign[placed], inst.youth_weight[placed])
    n_eligible = np.diff(inst.youth_pairs_start)
    out: dict[str, Unmatched] = {}
    for y in np.nonzero(~placed)[0].tolist():
        code = inst.youth_codes[y]
        before = int(eligible_before[y]) if eligible_before is not None else 0
        if n_eligible[y] == 0 and before > 0:
            out[code] = Unmatched(
                code,
                HOUSE_COMPOSITION,
                f"Er zijn {before} passende woningen, maar geen huis waar alle samen aangemelde "
                "jongeren terecht kunnen.",
                {"eligible": before, "house_composition": before},
            )
            continue
        if n_eligible[y] == 0:
            # Counts per failing rule are added by ``explain_no_eligible`` (phase "explain").
            out[code] = Unmatched(
                code,
                NO_ELIGIBLE_OPTION,
                "Geen enkele woning voldoet aan de regels.",
                {"eligible": 0},
            )
            continue
        r = inst.pairs_of(y)
        opts = inst.pair_option[r.start : r.stop]
        full = opt_used[opts] >= inst.option_capacity[opts]
        higher = full & (top_weight[opts] > inst.youth_weight[y])
        oc = inst.option_contingent[opts]
        # Options without a contingent index a padding slot that is never exhausted.
        oc_safe = np.where(oc >= 0, oc, len(inst.contingent_left))
        cont_out = (
            ~full
            & (oc >= 0)
            & (np.append(cont_used, 0)[oc_safe] >= np.append(inst.contingent_left, 1)[oc_safe])
        )
        og = inst.option_gemeente[opts]
        gem_out = (
            ~full
            & ~cont_out
            & (inst.gemeente_cap[og] != NO_LIMIT)
            & (gem_used[og] >= inst.gemeente_cap[og])
        )
        house = ~full & ~cont_out & ~gem_out
        figures = {
            "eligible": len(opts),
            "options_full": int(full.sum()),
            "options_to_higher_urgency": int(higher.sum()),
            "contingent_exhausted": int(cont_out.sum()),
            "gemeente_cap_reached": int(gem_out.sum()),
            "house_composition": int(house.sum()),
        }
        n_full, n_cont, n_house = (
            int(full.sum()),
            int(cont_out.sum() + gem_out.sum()),
            int(house.sum()),
        )
        if n_full == len(opts):
            reason = OUTCOMPETED
            msg = (
                f"{n_full} van de {len(opts)} passende woningen zijn vergeven aan anderen; "
                f"{int(higher.sum())} daarvan aan jongeren met een hogere urgentie."
            )
        elif n_cont > 0:
            reason = CONTINGENT_EXHAUSTED
            msg = (
                f"Bij {n_cont} van de {len(opts)} passende woningen is het contingent of het "
                "gemeenteplafond op."
            )
        elif status == "optimal" or n_house > 0:
            reason = HOUSE_COMPOSITION
            msg = (
                f"Bij {n_house} van de {len(opts)} passende woningen past de jongere niet in de "
                "samenstelling van het huis (aantal personen, conflicten, leeftijdsverschil of "
                "samen aangemelde jongeren)."
            )
        else:
            reason = NOT_SELECTED
            msg = "Niet gekozen: het voorstel is niet bewezen optimaal."
        if status != "optimal" and reason == HOUSE_COMPOSITION and n_house == 0:
            reason = NOT_SELECTED
        out[code] = Unmatched(code, reason, msg, figures)
    return out
