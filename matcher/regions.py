"""Large rounds: the exact path again, one area at a time, around a rule-keeping allocation.

A round too large for the exact path (``matcher.solve``: over 40,000 pairs) gets its allocation
from a flow, consolidated and repaired (``large_round_hint``). What that loses against the
optimum sits in chains of youths around the houses the flow broke: a Friends house given a
second resident pushes somebody out of a single room, who takes somebody else's room, and so
on. No local move finds such chains, but the exact path (``matcher.exact``) finds the best
allocation of a few hundred youths and options in a tenth of a second.

``improve_by_area`` takes the allocation area by area (``option_areas``: a gemeente, or a wijk
of a gemeente with more than ``AREA_OPTIONS`` options). The youths living in the area's options
and every youth still without a place who is eligible there are free, all others keep their
place, and the exact path re-allocates the free youths over the area's options
(``sub_instance``: capacities, contingents and gemeente caps less what the others use; every
house of the area holds free youths only, so its rules are the sub-instance's). The result
replaces the area's part when it is worth more; it keeps every rule of the whole round, since
nothing outside the area moves and a youth is placed at most once. Only areas whose own flow
bound leaves housing to gain are solved (``housing_headroom``), most first, and only while a
budget of pairs lasts, so the same round gives the same allocation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.cpsat import Candidates, solve_sides
from matcher.exact import NO_MORE_HOUSING, ExactOutcome, solve_exact
from matcher.flow import solve_flow
from matcher.flownet import flow_input
from matcher.instance import NO_LIMIT, BoolArray, Instance, IntArray, pair_index

__all__ = [
    "AREA_OPTIONS",
    "AreaIndex",
    "Improvement",
    "SubInstance",
    "housing_headroom",
    "improve_by_area",
    "more_housing",
    "option_areas",
    "sub_instance",
]


@dataclass(frozen=True)
class SubInstance:
    """A part of a round, in its own (compact) indices, and where those come from."""

    inst: Instance
    youths: IntArray  # round youth index per sub youth
    options: IntArray  # round option index per sub option
    pairs: IntArray  # round pair index per sub pair
    current: BoolArray  # the sub pairs the allocation uses


# A gemeente with more options than this is taken wijk by wijk (its sub-instance would hold
# tens of thousands of pairs: national seed 11's largest gemeente, 774 options, 76,000).
AREA_OPTIONS = 200


def option_areas(inst: Instance, max_options: int = AREA_OPTIONS) -> IntArray:
    """An area index per option: its gemeente, or its wijk in a gemeente with more than
    ``max_options`` options (options without a wijk code share one area of their gemeente).
    Every option of a house is in the area of the house's first option, so a house never spans
    two areas (its rules must see all its residents)."""
    per_gemeente = np.bincount(inst.option_gemeente, minlength=len(inst.gemeente_codes))
    keys: dict[tuple[int, str], int] = {}
    areas = np.empty(inst.n_options, dtype=np.int64)
    for j, (o, g) in enumerate(zip(inst.round.options, inst.option_gemeente.tolist(), strict=True)):
        wijk = (o.wijk_code or "") if per_gemeente[g] > max_options else ""
        areas[j] = keys.setdefault((g, wijk), len(keys))
    first = np.full(len(inst.house_codes), inst.n_options, dtype=np.int64)
    np.minimum.at(first, inst.option_house, np.arange(inst.n_options))
    return areas[first[inst.option_house]]


@dataclass(frozen=True)
class AreaIndex:
    """What ``sub_instance`` looks up for every area, built once per round."""

    area: IntArray  # area index per option (``option_areas``)
    pairs: IntArray  # pair indices ordered by their option's area (by pair within one)
    starts: IntArray  # where each area's run of ``pairs`` starts (one more than areas)
    group_of: IntArray  # companion group index per youth, -1 for none
    conflicts: IntArray  # (n, 2) youth index pairs

    @classmethod
    def of(cls, inst: Instance, area: IntArray) -> AreaIndex:
        n_areas = int(area.max(initial=-1)) + 1
        of_pair = area[inst.pair_option]
        # A stable sort of 16-bit keys is a radix sort (a tenth of the time on 2 M pairs).
        key = of_pair.astype(np.int16) if n_areas < 2**15 else of_pair
        pairs = np.argsort(key, kind="stable")
        starts = np.searchsorted(of_pair[pairs], np.arange(n_areas + 1))
        group_of = np.full(inst.n_youths, -1, dtype=np.int64)
        for gi, g in enumerate(inst.companion_groups):
            group_of[g] = gi
        conflicts = np.array(inst.conflicts, dtype=np.int64).reshape(-1, 2)
        return cls(area, pairs.astype(np.int64), starts.astype(np.int64), group_of, conflicts)


def sub_instance(inst: Instance, assign: IntArray, area: int, index: AreaIndex) -> SubInstance:
    """The round restricted to the options of ``area`` (``index.area``) and the youths free to
    move there: those ``assign`` places in the area and those it leaves unplaced who have an
    eligible pair there (a companion group only whole). The others keep their places: what
    they use of contingents and gemeente caps is taken off; they use none of the area's options.
    """
    placed = assign >= 0
    options = np.flatnonzero(index.area == area)
    region_pairs = index.pairs[index.starts[area] : index.starts[area + 1]]
    free = np.zeros(inst.n_youths, dtype=bool)
    free[placed] = index.area[assign[placed]] == area
    candidates = inst.pair_youth[region_pairs]
    free[candidates[~placed[candidates]]] = True
    groups: list[list[int]] = []
    for gi in np.unique(index.group_of[free]).tolist():
        if gi < 0:
            continue
        g = inst.companion_groups[gi]
        if free[g].all():
            groups.append(g)
        else:  # a member placed outside the area: the group stays as it is
            free[g] = False
    pairs = region_pairs[free[inst.pair_youth[region_pairs]]]
    youths = np.flatnonzero(free)
    y_local = np.full(inst.n_youths, -1, dtype=np.int64)
    y_local[youths] = np.arange(len(youths))
    o_local = np.full(inst.n_options, -1, dtype=np.int64)
    o_local[options] = np.arange(len(options))
    houses, option_house = np.unique(inst.option_house[options], return_inverse=True)

    # Only the contingents and gemeenten of the area's options, less what the others use.
    conts = np.unique(inst.option_contingent[options])
    conts = conts[conts >= 0]
    gems = np.unique(np.r_[inst.option_gemeente[options], inst.contingent_gemeente[conts]])
    c_local = np.full(len(inst.contingent_left), -1, dtype=np.int64)
    c_local[conts] = np.arange(len(conts))
    g_local = np.full(len(inst.gemeente_cap), -1, dtype=np.int64)
    g_local[gems] = np.arange(len(gems))
    held = assign[placed & ~free]
    held_cont = _local(c_local, inst.option_contingent[held])
    held_cont = held_cont[held_cont >= 0]
    contingent_left = inst.contingent_left[conts] - np.bincount(held_cont, minlength=len(conts))
    held_gem = g_local[inst.option_gemeente[held]]
    gem_cap = inst.gemeente_cap[gems]
    gem_left = gem_cap - np.bincount(held_gem[held_gem >= 0], minlength=len(gems))
    conflicts = index.conflicts[free[index.conflicts].all(axis=1)]
    pair_youth = y_local[inst.pair_youth[pairs]]
    pair_option = o_local[inst.pair_option[pairs]]
    fixed = [(int(y_local[y]), int(o_local[o])) for y, o in inst.fixed if free[y]]
    sub = dataclasses.replace(
        inst,
        youth_codes=[inst.youth_codes[y] for y in youths.tolist()],
        option_codes=[inst.option_codes[o] for o in options.tolist()],
        pair_youth=pair_youth.astype(np.int32),
        pair_option=pair_option.astype(np.int32),
        pair_value=inst.pair_value[pairs],
        youth_weight=inst.youth_weight[youths],
        youth_age=inst.youth_age[youths],
        option_capacity=inst.option_capacity[options],
        option_house=option_house.astype(np.int32),
        house_codes=[inst.house_codes[h] for h in houses.tolist()],
        house_pmin=inst.house_pmin[houses],
        house_pmax=inst.house_pmax[houses],
        house_gap=inst.house_gap[houses],
        house_contingent=_local(c_local, inst.house_contingent[houses]).astype(np.int32),
        option_contingent=_local(c_local, inst.option_contingent[options]).astype(np.int32),
        contingent_left=np.maximum(contingent_left, 0),
        contingent_gemeente=g_local[inst.contingent_gemeente[conts]].astype(np.int32),
        option_gemeente=g_local[inst.option_gemeente[options]].astype(np.int32),
        gemeente_codes=[inst.gemeente_codes[g] for g in gems.tolist()],
        gemeente_cap=np.where(gem_cap == NO_LIMIT, NO_LIMIT, np.maximum(gem_left, 0)),
        companion_groups=[[int(y_local[y]) for y in g] for g in groups],
        conflicts=[(int(a), int(b)) for a, b in y_local[conflicts].tolist()],
        fixed=fixed,
        fixed_pair_idx=[],
        youth_pairs_start=np.searchsorted(pair_youth, np.arange(len(youths) + 1)).astype(np.int64),
    )
    sub.fixed_pair_idx = [pair_index(sub, y, o) for y, o in fixed]
    current = assign[inst.pair_youth[pairs]] == inst.pair_option[pairs]
    return SubInstance(sub, youths, options, pairs, current)


def _local(local: IntArray, index: npt.NDArray) -> IntArray:
    """``index`` through the map ``local``, negative markers (none, mixed) kept as they are."""
    out = np.asarray(index, dtype=np.int64).copy()
    mapped = out >= 0
    out[mapped] = local[out[mapped]]
    return out


def more_housing(sub: Instance, current: BoolArray, seconds: float) -> BoolArray | None:
    """The best allocation of ``sub`` (pair mask) when it may house more than ``current``, else
    None: the exact path, only when its certified housing bound is above ``current``'s; where
    it gives up (the bound cannot be reached), the two-stage CP-SAT for the time it left."""
    now = int(sub.youth_weight[sub.pair_youth[current]].sum())
    outcome = solve_exact(sub, current, seconds, housing_above=now)
    if isinstance(outcome, ExactOutcome):
        return outcome.pair_used
    if outcome.reason == NO_MORE_HOUSING:
        return None
    every = Candidates(np.arange(sub.n_pairs, dtype=np.int64), True)
    side = solve_sides(sub, every, current, max(0.05, seconds - outcome.det_time))
    return side.pair_used if side.status in ("OPTIMAL", "FEASIBLE") else None


Solver = Callable[[Instance, BoolArray, float], BoolArray | None]


@dataclass(frozen=True)
class Improvement:
    assign: IntArray
    looked_at: int  # areas whose flow bound was compared
    solved: int  # areas given to the exact path
    gained: int  # areas whose allocation it improved


def housing_headroom(part: SubInstance) -> int:
    """Urgency units the sub-instance's flow bound leaves above its current allocation: no
    allocation of the sub-instance houses more (0: the exact path cannot gain housing). The
    flow maximises urgency alone (small costs: a few times faster than the pair values)."""
    sub = part.inst
    fin, keep = flow_input(sub)
    weight = sub.youth_weight[sub.pair_youth]
    best = solve_flow(dataclasses.replace(fin, pair_value=weight[keep])).value
    best += int(weight[sub.fixed_pair_idx].sum())
    return max(0, best - int(weight[part.current].sum()))


def improve_by_area(
    inst: Instance,
    assign: IntArray,
    touched: BoolArray,
    pair_budget: int,
    seconds: float = 0.5,
    solver: Solver = more_housing,
    max_options: int = AREA_OPTIONS,
) -> Improvement:
    """``assign`` (keeping every rule) improved area by area (``option_areas``): of the areas
    holding a ``touched`` option, those whose flow bound leaves housing to gain
    (``housing_headroom``) go to the exact path, most headroom first, as long as the
    sub-instances solved hold at most ``pair_budget`` pairs in all (an area that would overrun
    it is passed over). ``seconds``: deterministic CP-SAT time per area."""
    assign = assign.copy()
    index = AreaIndex.of(inst, option_areas(inst, max_options))
    areas = np.unique(index.area[touched]).tolist()
    parts = {a: sub_instance(inst, assign, a, index) for a in areas}
    headroom = {a: housing_headroom(part) for a, part in parts.items()}
    order = sorted((a for a in areas if headroom[a] > 0), key=lambda a: (-headroom[a], a))
    spent = solved = gained = 0
    for area in order:
        # Until an area gains, the allocation is the one the parts were built from.
        part = sub_instance(inst, assign, area, index) if gained else parts[area]
        sub = part.inst
        if spent + sub.n_pairs > pair_budget or (gained and housing_headroom(part) == 0):
            continue  # too large for what is left, or an earlier area took what was to gain
        spent += sub.n_pairs
        solved += 1
        found = solver(sub, part.current, seconds)
        if found is None or sub.pair_value[found].sum() <= sub.pair_value[part.current].sum():
            continue
        assign[part.youths] = -1
        used = part.pairs[found]
        assign[inst.pair_youth[used]] = inst.pair_option[used]
        gained += 1
    return Improvement(assign, len(areas), solved, gained)
