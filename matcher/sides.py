"""Side rules that break the flow structure, solved with CP-SAT on a reduced candidate set.

The round is first turned into an ``Instance`` (arrays per pair, option, house, contingent,
gemeente). The CP-SAT model is a recipe: one small named function per constraint family, applied
in the order of ``RECIPE``:

``add_assignment``, ``add_capacity``, ``add_contingents``, ``add_gemeente_caps``,
``add_shared_houses``, ``add_conflicts``, ``add_age_gap``, ``add_companions``,
``add_fixed_and_forbidden``.

Bounds: the flow optimum over ALL eligible pairs bounds every allocation (it is a relaxation).
CP-SAT's own bound only bounds the allocations within its candidate set, so it is used as a bound
for the round only when the candidate set holds every eligible pair (``Candidates.complete``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from matcher import scoring
from matcher.problem import ProblemError, Round

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

NO_LIMIT = -1


class ConflictingFixedPairs(ProblemError):
    """Fixed (accepted) pairs that cannot all hold; ``pairs`` names them."""

    def __init__(self, message: str, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = tuple(sorted(set(pairs)))
        named = ", ".join(f"{y}->{o}" for y, o in self.pairs)
        super().__init__(f"{message}: {named}")


def age_on(birth: date, day: date) -> int:
    """Age in whole years on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass
class Instance:
    """A round in array form, in the round's own (canonical) order of youths and options."""

    round: Round
    youth_codes: list[str]
    option_codes: list[str]
    pair_youth: Int32Array
    pair_option: Int32Array
    pair_value: IntArray
    youth_weight: IntArray  # urgency weight per youth
    youth_age: IntArray
    option_capacity: IntArray
    option_house: Int32Array  # house index of every option (a lone option is its own house)
    house_codes: list[str]
    house_pmin: IntArray
    house_pmax: IntArray
    house_gap: IntArray  # max age gap, NO_LIMIT when none
    house_contingent: Int32Array  # contingent of all options in the house, or -2 when mixed
    option_contingent: Int32Array
    contingent_left: IntArray
    contingent_gemeente: Int32Array
    option_gemeente: Int32Array
    gemeente_codes: list[str]
    gemeente_cap: IntArray  # NO_LIMIT when none
    companion_groups: list[list[int]]  # youth indices, groups of >= 2
    conflicts: list[tuple[int, int]]  # youth index pairs (a < b)
    fixed: list[tuple[int, int]]  # (youth index, option index)
    fixed_pair_idx: list[int] = field(default_factory=list)  # pair index per fixed pair
    youth_pairs_start: IntArray = field(default_factory=lambda: np.zeros(1, np.int64))
    housing_scale: int = 1  # pair_value = housing_scale * youth_weight + preference part

    @property
    def n_youths(self) -> int:
        return len(self.youth_codes)

    @property
    def n_options(self) -> int:
        return len(self.option_codes)

    @property
    def n_pairs(self) -> int:
        return len(self.pair_youth)

    def pairs_of(self, youth: int) -> range:
        """Pair indices of a youth (pairs are sorted by youth)."""
        return range(int(self.youth_pairs_start[youth]), int(self.youth_pairs_start[youth + 1]))

    def house_places(self) -> IntArray:
        """Places per house: the capacities of its options summed."""
        return np.bincount(
            self.option_house, weights=self.option_capacity, minlength=len(self.house_codes)
        ).astype(np.int64)

    def house_is_side(self) -> BoolArray:
        """Houses where a rule beyond the flow can bind: >1 person possible, or persons_min > 1."""
        cap = self.house_places()
        return (self.house_pmin > 1) | ((self.house_pmax > 1) & (cap > 1))


def build_instance(
    round: Round,
    pair_youth: npt.NDArray,
    pair_option: npt.NDArray,
    pair_value: IntArray,
    youth_weight: IntArray,
    option_contingent: npt.NDArray,
    housing_scale: int | None = None,
) -> Instance:
    """Array form of a round. Pairs must be sorted by youth (as ``Screening`` guarantees)."""
    types = {t.code: t for t in round.types}
    youth_index = {y.code: i for i, y in enumerate(round.youths)}
    option_index = {o.code: j for j, o in enumerate(round.options)}

    house_ix: dict[str, int] = {}
    option_house = np.empty(len(round.options), dtype=np.int32)
    for j, o in enumerate(round.options):
        option_house[j] = house_ix.setdefault(o.house_id, len(house_ix))
    nh = len(house_ix)
    pmin = np.ones(nh, dtype=np.int64)
    pmax = np.full(nh, np.iinfo(np.int64).max // 4, dtype=np.int64)
    gap = np.full(nh, NO_LIMIT, dtype=np.int64)
    hcont = np.full(nh, -3, dtype=np.int32)  # -3: not seen yet
    ocont = np.asarray(option_contingent, dtype=np.int32)
    for j, o in enumerate(round.options):
        h = option_house[j]
        t = types.get(o.type_code)
        if t is not None:
            # A house mixing types takes the strictest figures of its types.
            pmin[h] = max(pmin[h], t.persons_min)
            pmax[h] = min(pmax[h], t.persons_max)
            if t.max_age_gap is not None:
                gap[h] = t.max_age_gap if gap[h] == NO_LIMIT else min(gap[h], t.max_age_gap)
        if hcont[h] == -3:
            hcont[h] = ocont[j]
        elif hcont[h] != ocont[j]:
            hcont[h] = -2

    gem_ix: dict[str, int] = {}
    option_gemeente = np.array(
        [gem_ix.setdefault(o.gemeente_code, len(gem_ix)) for o in round.options], dtype=np.int32
    )
    contingent_gemeente = np.array(
        [gem_ix.setdefault(c.gemeente_code, len(gem_ix)) for c in round.contingents],
        dtype=np.int32,
    )
    gem_cap = np.full(len(gem_ix), NO_LIMIT, dtype=np.int64)
    for code, cap in round.gemeente_caps:
        g = gem_ix.setdefault(code, len(gem_ix))
        if g >= len(gem_cap):
            gem_cap = np.append(gem_cap, NO_LIMIT)
        gem_cap[g] = cap if gem_cap[g] == NO_LIMIT else min(gem_cap[g], cap)

    # Companion groups: connected components of the (symmetric) companion relation.
    parent = list(range(len(round.youths)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    conflicts: set[tuple[int, int]] = set()
    for i, y in enumerate(round.youths):
        for c in y.companions:
            k = youth_index.get(c)
            if k is not None and k != i:
                parent[find(i)] = find(k)
        for c in y.conflicts:
            k = youth_index.get(c)
            if k is not None and k != i:
                conflicts.add((min(i, k), max(i, k)))
    groups: dict[int, list[int]] = {}
    for i in range(len(round.youths)):
        groups.setdefault(find(i), []).append(i)
    companion_groups = sorted(g for g in groups.values() if len(g) > 1)

    py = np.asarray(pair_youth, dtype=np.int32)
    po = np.asarray(pair_option, dtype=np.int32)
    start = np.searchsorted(py, np.arange(len(round.youths) + 1)).astype(np.int64)

    fixed: list[tuple[int, int]] = []
    for yc, oc in round.fixed_pairs:
        if yc not in youth_index or oc not in option_index:
            raise ConflictingFixedPairs(
                "vaste koppeling met onbekende jongere of woning", [(yc, oc)]
            )
        fixed.append((youth_index[yc], option_index[oc]))
    fixed = sorted(set(fixed))

    inst = Instance(
        round=round,
        youth_codes=[y.code for y in round.youths],
        option_codes=[o.code for o in round.options],
        pair_youth=py,
        pair_option=po,
        pair_value=np.asarray(pair_value, dtype=np.int64),
        youth_weight=np.asarray(youth_weight, dtype=np.int64),
        youth_age=np.array([age_on(y.birth_date, round.move_in) for y in round.youths], np.int64),
        option_capacity=np.array([o.capacity for o in round.options], dtype=np.int64),
        option_house=option_house,
        house_codes=list(house_ix),
        house_pmin=pmin,
        house_pmax=pmax,
        house_gap=gap,
        house_contingent=hcont,
        option_contingent=ocont,
        contingent_left=np.array([c.left for c in round.contingents], dtype=np.int64),
        contingent_gemeente=contingent_gemeente,
        option_gemeente=option_gemeente,
        gemeente_codes=list(gem_ix),
        gemeente_cap=gem_cap,
        companion_groups=companion_groups,
        conflicts=sorted(conflicts),
        fixed=fixed,
        youth_pairs_start=start,
        housing_scale=scoring.housing_scale(len(round.youths))
        if housing_scale is None
        else housing_scale,
    )
    inst.fixed_pair_idx = [_pair_index(inst, y, o) for y, o in fixed]
    return inst


def companion_pairs(round: Round, youth_idx: npt.NDArray, option_idx: npt.NDArray) -> BoolArray:
    """Pairs that can occur in a feasible allocation as far as companions go.

    A member of a companion group can only live in a house where every other member is eligible
    for some option and which holds the whole group (persons_max and places). Dropping the other
    pairs of members changes no feasible allocation, and it tightens the flow bound.
    """
    keep = np.ones(len(youth_idx), dtype=bool)
    index = {y.code: i for i, y in enumerate(round.youths)}
    parent = list(range(len(round.youths)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, y in enumerate(round.youths):
        for c in y.companions:
            k = index.get(c)
            if k is not None and k != i:
                parent[find(i)] = find(k)
    groups: dict[int, list[int]] = {}
    for i in range(len(round.youths)):
        groups.setdefault(find(i), []).append(i)
    members = {i: g for g in groups.values() if len(g) > 1 for i in g}
    if not members:
        return keep
    types = {t.code: t for t in round.types}
    house_pmax: dict[str, int] = {}
    house_places: dict[str, int] = {}
    for o in round.options:
        t = types.get(o.type_code)
        pmax = t.persons_max if t else 0
        house_pmax[o.house_id] = min(house_pmax.get(o.house_id, pmax), pmax)
        house_places[o.house_id] = house_places.get(o.house_id, 0) + o.capacity
    house_of = [o.house_id for o in round.options]
    yi = np.asarray(youth_idx)
    oi = np.asarray(option_idx)
    rows = np.nonzero(np.isin(yi, np.array(sorted(members), dtype=yi.dtype)))[0]
    houses_of_youth: dict[int, set[str]] = {}
    for r in rows.tolist():
        houses_of_youth.setdefault(int(yi[r]), set()).add(house_of[int(oi[r])])
    for r in rows.tolist():
        group = members[int(yi[r])]
        h = house_of[int(oi[r])]
        if (
            house_pmax[h] < len(group)
            or house_places[h] < len(group)
            or any(h not in houses_of_youth.get(m, set()) for m in group)
        ):
            keep[r] = False
    return keep


def _pair_index(inst: Instance, youth: int, option: int) -> int:
    """Index of the eligible pair (youth, option), or -1 when not eligible."""
    r = inst.pairs_of(youth)
    opts = inst.pair_option[r.start : r.stop]
    hit = np.nonzero(opts == option)[0]
    return r.start + int(hit[0]) if len(hit) else -1


# ---------------------------------------------------------------------------------------------
# Checking an assignment against the side rules (fast, array form; the verifier is independent)


def check_fixed_pairs(inst: Instance) -> None:
    """Raise ``ConflictingFixedPairs`` for fixed pairs that conflict on their own."""
    codes = [(inst.youth_codes[y], inst.option_codes[o]) for y, o in inst.fixed]
    by_youth: dict[int, list[int]] = {}
    for k, (y, _o) in enumerate(inst.fixed):
        by_youth.setdefault(y, []).append(k)
    twice = [codes[k] for ks in by_youth.values() if len(ks) > 1 for k in ks]
    if twice:
        raise ConflictingFixedPairs("jongere meer dan eens vast gekoppeld", twice)
    forbidden = set(inst.round.forbidden_pairs)
    bad = [c for c in codes if c in forbidden]
    if bad:
        raise ConflictingFixedPairs("vaste koppeling staat ook als afgewezen", bad)
    inel = [codes[k] for k, p in enumerate(inst.fixed_pair_idx) if p < 0]
    if inel:
        raise ConflictingFixedPairs("vaste koppeling is niet toegestaan (niet geschikt)", inel)

    def over(key: Callable[[int, int], int], limit: Callable[[int], int], what: str) -> None:
        groups: dict[int, list[int]] = {}
        for k, (y, o) in enumerate(inst.fixed):
            g = key(y, o)
            if g >= 0:
                groups.setdefault(g, []).append(k)
        for g, ks in sorted(groups.items()):
            lim = limit(g)
            if lim != NO_LIMIT and len(ks) > lim:
                raise ConflictingFixedPairs(what, [codes[k] for k in ks])

    over(
        lambda y, o: o, lambda o: int(inst.option_capacity[o]), "vaste koppelingen boven capaciteit"
    )
    over(
        lambda y, o: int(inst.option_contingent[o]),
        lambda c: int(inst.contingent_left[c]),
        "vaste koppelingen boven het contingent",
    )
    over(
        lambda y, o: int(inst.option_gemeente[o]),
        lambda g: int(inst.gemeente_cap[g]),
        "vaste koppelingen boven het gemeenteplafond",
    )
    over(
        lambda y, o: int(inst.option_house[o]),
        lambda h: int(inst.house_pmax[h]),
        "vaste koppelingen boven het maximum aantal personen per huis",
    )
    house_of = {y: int(inst.option_house[o]) for y, o in inst.fixed}
    code_of = dict(zip([y for y, _ in inst.fixed], codes, strict=True))
    for a, b in inst.conflicts:
        if a in house_of and house_of.get(b) == house_of[a]:
            raise ConflictingFixedPairs(
                "vast gekoppelde jongeren met een conflict in hetzelfde huis",
                [code_of[a], code_of[b]],
            )
    members: dict[int, list[int]] = {}
    for y, h in house_of.items():
        members.setdefault(h, []).append(y)
    for h, ys in members.items():
        g = int(inst.house_gap[h])
        ages = inst.youth_age[ys]
        if g != NO_LIMIT and len(ys) > 1 and int(ages.max() - ages.min()) > g:
            raise ConflictingFixedPairs(
                "leeftijdsverschil te groot tussen vast gekoppelde huisgenoten",
                [code_of[y] for y in ys],
            )
    for group in inst.companion_groups:
        hs = {house_of[y] for y in group if y in house_of}
        if len(hs) > 1:
            raise ConflictingFixedPairs(
                "samen aangemelde jongeren vast gekoppeld in verschillende huizen",
                [code_of[y] for y in group if y in code_of],
            )


def side_violations(inst: Instance, assign: IntArray) -> tuple[set[int], set[int]]:
    """(violated houses, violated companion groups) of an assignment youth -> option (-1 none).

    Capacity, contingents and gemeente caps are not checked here: the flow and the greedy keep
    them by construction.
    """
    placed = np.nonzero(assign >= 0)[0]
    houses = inst.option_house[assign[placed]]
    count = np.bincount(houses, minlength=len(inst.house_codes))
    wrong_size = (count > 0) & ((count < inst.house_pmin) | (count > inst.house_pmax))
    bad: set[int] = {int(h) for h in np.nonzero(wrong_size)[0]}
    house_of = np.full(inst.n_youths, -1, dtype=np.int64)
    house_of[placed] = houses
    for a, b in inst.conflicts:
        if house_of[a] >= 0 and house_of[a] == house_of[b]:
            bad.add(int(house_of[a]))
    gapped = np.nonzero(inst.house_gap != NO_LIMIT)[0]
    if len(gapped) and len(placed):
        hi = np.full(len(inst.house_codes), -1, dtype=np.int64)
        lo = np.full(len(inst.house_codes), 10**6, dtype=np.int64)
        np.maximum.at(hi, houses, inst.youth_age[placed])
        np.minimum.at(lo, houses, inst.youth_age[placed])
        over = (count > 0) & (inst.house_gap != NO_LIMIT) & (hi - lo > inst.house_gap)
        bad |= {int(h) for h in np.nonzero(over)[0]}
    bad_groups: set[int] = set()
    for gi, group in enumerate(inst.companion_groups):
        # Split over houses, or some placed and some not.
        if len({int(house_of[y]) for y in group}) > 1:
            bad_groups.add(gi)
    return bad, bad_groups


def repair(inst: Instance, assign: IntArray) -> IntArray:
    """Drop placements until every side rule holds; fixed placements are kept.

    Houses below persons_min or holding a conflict / too large an age gap lose their non-fixed
    residents with the lowest values first; split companion groups are unplaced entirely.
    """
    assign = assign.copy()
    fixed_youth = {y for y, _ in inst.fixed}
    value_of = np.zeros(inst.n_youths, dtype=np.int64)
    for y in np.nonzero(assign >= 0)[0].tolist():
        r = inst.pairs_of(int(y))
        opts = inst.pair_option[r.start : r.stop]
        hit = np.nonzero(opts == assign[y])[0]
        value_of[y] = inst.pair_value[r.start + int(hit[0])] if len(hit) else 0
    conflict_of: dict[int, set[int]] = {}
    for a, b in inst.conflicts:
        conflict_of.setdefault(a, set()).add(b)
        conflict_of.setdefault(b, set()).add(a)
    before = None
    while True:
        bad_houses, bad_groups = side_violations(inst, assign)
        if not bad_houses and not bad_groups:
            return assign
        if before is not None and np.array_equal(before, assign):
            # Only fixed placements are left in broken houses: the caller must let CP-SAT
            # decide (it may prove the fixed pairs conflict).
            return assign
        before = assign.copy()
        for gi in sorted(bad_groups):
            for m in inst.companion_groups[gi]:
                if m not in fixed_youth:
                    assign[m] = -1
        placed = np.nonzero(assign >= 0)[0]
        house_of = np.full(inst.n_youths, -1, dtype=np.int64)
        house_of[placed] = inst.option_house[assign[placed]]
        for h in sorted(bad_houses):
            residents = [int(y) for y in np.nonzero(house_of == h)[0]]
            free = sorted((y for y in residents if y not in fixed_youth), key=lambda y: value_of[y])
            if len(residents) < inst.house_pmin[h]:
                for y in free:
                    assign[y] = -1
                continue
            # Conflicts / age gap / over the maximum: drop the cheapest offender, then recheck.
            offenders = [
                y
                for y in free
                if conflict_of.get(y, set()) & set(residents)
                or (
                    inst.house_gap[h] != NO_LIMIT
                    and (
                        inst.youth_age[y] == inst.youth_age[residents].max()
                        or inst.youth_age[y] == inst.youth_age[residents].min()
                    )
                )
            ]
            drop = offenders[0] if offenders else (free[0] if free else None)
            if drop is not None:
                assign[drop] = -1


# ---------------------------------------------------------------------------------------------
# CP-SAT on a candidate set


@dataclass(frozen=True)
class Candidates:
    pairs: IntArray  # sorted pair indices
    complete: bool  # every eligible pair is a candidate: CP-SAT's bound bounds the round
    pinned: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # held at 1
    # Pinned placements left out of the model: they only use up places, contingent and caps.
    outside: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))


def _rank_in_youth(inst: Instance, key: IntArray) -> IntArray:
    """Rank of each pair within its youth by ``key`` descending (pairs grouped by youth)."""
    order = np.lexsort((-key, inst.pair_youth))
    rank = np.empty(inst.n_pairs, dtype=np.int64)
    rank[order] = np.arange(inst.n_pairs) - inst.youth_pairs_start[inst.pair_youth[order]]
    return rank


def candidate_pairs(
    inst: Instance,
    flow_used: BoolArray,
    hint_used: BoolArray,
    top_k: int = 3,
    full_limit: int = 40_000,
    max_free: int = 2_500,
    side_per_youth: int = 8,
) -> Candidates:
    """Pairs CP-SAT may use: every pair when the round is small, else a neighbourhood.

    The neighbourhood frees the youths around the side-rule violations of the flow solution:
    those the flow placed in a broken house or split companion group, their companions, and
    those whose placement the repair changed (at most ``max_free``, most urgent first). A free
    youth may use its flow and hint pairs, its ``top_k`` best pairs, and its ``side_per_youth``
    best pairs into houses where side rules bind. Every other youth keeps its hint placement
    (pinned). CP-SAT's bound on such a set bounds nothing outside it: the round's bound stays
    the flow's.
    """
    n = inst.n_pairs
    every = np.arange(n, dtype=np.int64)
    if n <= full_limit:
        return Candidates(every, True)
    flow_assign = np.full(inst.n_youths, -1, dtype=np.int64)
    flow_assign[inst.pair_youth[flow_used]] = inst.pair_option[flow_used]
    hint_assign = np.full(inst.n_youths, -1, dtype=np.int64)
    hint_assign[inst.pair_youth[hint_used]] = inst.pair_option[hint_used]
    bad_houses, bad_groups = side_violations(inst, flow_assign)
    free = np.zeros(inst.n_youths, dtype=bool)
    placed = flow_assign >= 0
    bad = np.zeros(len(inst.house_codes), dtype=bool)
    bad[list(bad_houses)] = True
    free[placed] = bad[inst.option_house[flow_assign[placed]]]
    for gi in bad_groups:
        free[inst.companion_groups[gi]] = True
    free |= flow_assign != hint_assign
    for g in inst.companion_groups:
        if free[g].any():
            free[g] = True
    for y, _o in inst.fixed:
        free[y] = False  # a fixed pair is pinned anyway
    if free.sum() > max_free:
        ids = np.nonzero(free)[0]
        order = np.lexsort((ids, -inst.youth_weight[ids]))
        free[:] = False
        free[ids[order[:max_free]]] = True
        for g in inst.companion_groups:  # keep groups whole: free all or none
            if not free[g].all():
                free[g] = False
    free_pair = free[inst.pair_youth]
    mask = free_pair & (flow_used | hint_used)
    mask |= free_pair & (_rank_in_youth(inst, inst.pair_value) < top_k)
    side = inst.house_is_side()[inst.option_house[inst.pair_option]]
    side_rank = _rank_in_youth(inst, np.where(side, inst.pair_value, -1))
    mask |= free_pair & side & (side_rank < side_per_youth)
    pinned = hint_used & ~free_pair
    for p in inst.fixed_pair_idx:
        if p >= 0:
            pinned[p] = True
    # Pinned residents matter as variables in houses a free youth may enter and in houses with
    # house rules (persons_min must still hold there); elsewhere they only use up capacity and
    # stay out of the model. Fixed pairs always stay in (their assumptions name conflicts).
    touched = inst.house_is_side().copy()
    touched[inst.option_house[inst.pair_option[mask]]] = True
    inside = pinned & touched[inst.option_house[inst.pair_option]]
    inside[[p for p in inst.fixed_pair_idx if p >= 0]] = True
    mask |= inside
    return Candidates(every[mask], False, every[inside], every[pinned & ~inside])


@dataclass
class SideModel:
    """A CP-SAT model over candidate pairs, with the lookups the recipe functions share."""

    inst: Instance
    pairs: IntArray
    model: cp_model.CpModel
    x: list[cp_model.IntVar]
    by_youth: dict[int, list[int]]  # youth -> local var indices
    by_option: dict[int, list[int]]
    by_house: dict[int, list[int]]
    fixed_literals: list[tuple[int, cp_model.IntVar]] = field(default_factory=list)
    complete: bool = True  # the candidate set holds every eligible pair
    option_left: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    contingent_left: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    gemeente_left: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    house_open: dict[int, cp_model.IntVar] = field(default_factory=dict)
    house_age: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)

    def hint(self, chosen: BoolArray) -> None:
        """Hint every variable from the chosen candidates (local mask), auxiliaries included:
        a complete hint spares CP-SAT the search for their values."""
        self.model.clear_hints()
        for k, v in enumerate(self.x):
            self.model.add_hint(v, bool(chosen[k]))
        houses = self.inst.option_house[self.inst.pair_option[self.pairs[chosen]]].tolist()
        ages = self.inst.youth_age[self.inst.pair_youth[self.pairs[chosen]]].tolist()
        used = set(houses)
        present = set(zip(houses, ages, strict=True))
        for h, var in self.house_open.items():
            self.model.add_hint(var, h in used)
        for key, var in self.house_age.items():
            self.model.add_hint(var, key in present)

    def house_literal(self, youth: int, house: int) -> Any:
        """Sum of a youth's variables in a house (0/1 since a youth is placed at most once)."""
        vs = [
            self.x[k]
            for k in self.by_youth.get(youth, [])
            if self.inst.option_house[self.inst.pair_option[self.pairs[k]]] == house
        ]
        return cp_model.LinearExpr.sum(vs) if vs else None


def add_assignment(sm: SideModel) -> None:
    """Each youth at most one option."""
    for _y, ks in sm.by_youth.items():
        if len(ks) > 1:
            sm.model.add_at_most_one(sm.x[k] for k in ks)


def add_capacity(sm: SideModel) -> None:
    """Places per option."""
    for o, ks in sm.by_option.items():
        cap = int(sm.option_left[o])
        if len(ks) > cap:
            sm.model.add(cp_model.LinearExpr.sum([sm.x[k] for k in ks]) <= cap)


def add_contingents(sm: SideModel) -> None:
    """A placement in an option with a contingent uses one unit of Contingent.left."""
    oc = sm.inst.option_contingent[sm.inst.pair_option[sm.pairs]]
    for c in np.unique(oc[oc >= 0]):
        ks = np.nonzero(oc == c)[0]
        left = int(sm.contingent_left[c])
        if len(ks) > left:
            sm.model.add(cp_model.LinearExpr.sum([sm.x[k] for k in ks]) <= left)


def add_gemeente_caps(sm: SideModel) -> None:
    """Cross-corporation caps: placements in options located in a gemeente."""
    og = sm.inst.option_gemeente[sm.inst.pair_option[sm.pairs]]
    for g in np.nonzero(sm.inst.gemeente_cap != NO_LIMIT)[0]:
        ks = np.nonzero(og == g)[0]
        cap = int(sm.gemeente_left[g])
        if len(ks) > cap:
            sm.model.add(cp_model.LinearExpr.sum([sm.x[k] for k in ks]) <= cap)


def add_shared_houses(sm: SideModel) -> None:
    """Per house: placements <= persons_max, and >= persons_min when the house is used."""
    for h, ks in sm.by_house.items():
        pmin, pmax = int(sm.inst.house_pmin[h]), int(sm.inst.house_pmax[h])
        total = cp_model.LinearExpr.sum([sm.x[k] for k in ks])
        if pmin > 1:
            # x <= open per placement (not only the sum): the LP relaxation then needs
            # persons_min units of residents for any one of them, which is what makes the
            # bound of a Friends house (2-3 persons) close to the integer optimum.
            used = sm.model.new_bool_var(f"open_{h}")
            sm.house_open[h] = used
            sm.model.add(total >= pmin * used)
            sm.model.add(total <= min(pmax, len(ks)) * used)
            for k in ks:
                sm.model.add(sm.x[k] <= used)
        elif len(ks) > pmax:
            sm.model.add(total <= pmax)


def add_conflicts(sm: SideModel) -> None:
    """Two youths who declared a conflict never share a house."""
    for a, b in sm.inst.conflicts:
        ha = {
            int(sm.inst.option_house[sm.inst.pair_option[sm.pairs[k]]])
            for k in sm.by_youth.get(a, [])
        }
        hb = {
            int(sm.inst.option_house[sm.inst.pair_option[sm.pairs[k]]])
            for k in sm.by_youth.get(b, [])
        }
        for h in sorted(ha & hb):
            la, lb = sm.house_literal(a, h), sm.house_literal(b, h)
            if la is not None and lb is not None:
                sm.model.add(la + lb <= 1)


def add_age_gap(sm: SideModel) -> None:
    """Housemates' ages (whole years on move-in) differ at most the type's max_age_gap.

    Per house one boolean per candidate age ("someone of age t lives here"): a placement implies
    its age boolean, and two ages further apart than the gap exclude each other. Binary clauses
    only, which CP-SAT presolves far better than enforced linear bounds on a minimum age.
    """
    inst = sm.inst
    for h, ks in sm.by_house.items():
        gap = int(inst.house_gap[h])
        if gap == NO_LIMIT or len(ks) < 2:
            continue
        ages = inst.youth_age[inst.pair_youth[sm.pairs[ks]]]
        if int(ages.max() - ages.min()) <= gap:
            continue
        lits = {int(t): sm.model.new_bool_var(f"age_{h}_{int(t)}") for t in np.unique(ages)}
        for t, lit in lits.items():
            sm.house_age[(h, t)] = lit
        for k, age in zip(ks, ages.tolist(), strict=True):
            sm.model.add_implication(sm.x[k], lits[age])
        for t, lt in lits.items():
            for t2, lt2 in lits.items():
                if t2 > t + gap:
                    sm.model.add_bool_or([lt.Not(), lt2.Not()])


def add_companions(sm: SideModel) -> None:
    """Youths who applied together live in the same house, or none of them is placed."""
    for group in sm.inst.companion_groups:
        houses: set[int] = set()
        for y in group:
            houses |= {
                int(sm.inst.option_house[sm.inst.pair_option[sm.pairs[k]]])
                for k in sm.by_youth.get(y, [])
            }
        for h in sorted(houses):
            lits = [sm.house_literal(y, h) for y in group]
            if any(lit is None for lit in lits):
                for lit in lits:
                    if lit is not None:
                        sm.model.add(lit == 0)
                continue
            first = lits[0]
            for lit in lits[1:]:
                sm.model.add(first == lit)  # type: ignore[operator]


def add_fixed_and_forbidden(sm: SideModel) -> None:
    """Fixed pairs hold (as assumptions, so a conflict names them); forbidden pairs never occur.

    Forbidden pairs are already absent from the screening; a forbidden candidate is a bug.
    """
    forbidden = set(sm.inst.round.forbidden_pairs)
    pos = {int(p): k for k, p in enumerate(sm.pairs)}
    for p in sm.inst.fixed_pair_idx:
        k = pos.get(p)
        if k is None:
            continue  # pinned outside the model (a neighbourhood): placed as a constant
        sm.fixed_literals.append((p, sm.x[k]))
    sm.model.add_assumptions([lit for _, lit in sm.fixed_literals])
    for k, p in enumerate(sm.pairs):
        code = (
            sm.inst.youth_codes[sm.inst.pair_youth[p]],
            sm.inst.option_codes[sm.inst.pair_option[p]],
        )
        if code in forbidden:
            sm.model.add(sm.x[k] == 0)


RECIPE: tuple[Callable[[SideModel], None], ...] = (
    add_assignment,
    add_capacity,
    add_contingents,
    add_gemeente_caps,
    add_shared_houses,
    add_conflicts,
    add_age_gap,
    add_companions,
    add_fixed_and_forbidden,
)


def build_side_model(inst: Instance, candidates: Candidates) -> SideModel:
    """The CP-SAT model of the candidate pairs, built by the recipe functions in order."""
    pairs = candidates.pairs
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{int(p)}") for p in pairs]
    by_youth: dict[int, list[int]] = {}
    by_option: dict[int, list[int]] = {}
    by_house: dict[int, list[int]] = {}
    py = inst.pair_youth[pairs].tolist()
    po = inst.pair_option[pairs].tolist()
    ph = inst.option_house[inst.pair_option[pairs]].tolist()
    for k in range(len(pairs)):
        by_youth.setdefault(py[k], []).append(k)
        by_option.setdefault(po[k], []).append(k)
        by_house.setdefault(ph[k], []).append(k)
    sm = SideModel(inst, pairs, model, x, by_youth, by_option, by_house)
    sm.complete = candidates.complete
    out_opts = inst.pair_option[candidates.outside]
    sm.option_left = inst.option_capacity - np.bincount(out_opts, minlength=inst.n_options)
    oc = inst.option_contingent[out_opts]
    sm.contingent_left = inst.contingent_left - np.bincount(
        oc[oc >= 0], minlength=len(inst.contingent_left)
    )
    used_gem = np.bincount(inst.option_gemeente[out_opts], minlength=len(inst.gemeente_cap))
    sm.gemeente_left = np.where(
        inst.gemeente_cap == NO_LIMIT, NO_LIMIT, inst.gemeente_cap - used_gem
    )
    for add in RECIPE:
        add(sm)
    return sm


@dataclass(frozen=True)
class SideSolution:
    status: str  # CP-SAT status name
    pair_used: BoolArray  # over all pairs of the instance
    value: int
    cpsat_bound: int | None  # CP-SAT's bound over its candidate set
    seconds: float


class _Progress(cp_model.CpSolverSolutionCallback):
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
    status = solver.solve(sm.model, _Progress(report) if report else None)
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
