"""Side rules on an assignment: which houses and companion groups break them, and a repair.

``side_violations`` lists the houses (persons_min / persons_max, conflicts, age gap) and the
companion groups an assignment (youth -> option) breaks; capacity, contingents and gemeente caps
are kept by the flow and the greedy by construction. ``repair`` drops placements until none is
broken, so the flow's solution becomes a feasible hint for CP-SAT (``matcher.greedy`` refills
it). These checks are fast and in array form; ``matcher.verifier`` is the independent check.
"""

from __future__ import annotations

import numpy as np

from matcher.instance import NO_LIMIT, Instance, IntArray, pair_index

__all__ = ["repair", "side_violations"]


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
        p = pair_index(inst, int(y), int(assign[y]))
        value_of[y] = inst.pair_value[p] if p >= 0 else 0
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
