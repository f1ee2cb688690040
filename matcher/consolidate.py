"""Consolidate a flow solution: move residents out of broken houses into houses where they fit.

The min-cost flow ignores the house rules. ``matcher.repair`` then drops placements until every
rule holds, and ``matcher.greedy`` refills the freed places: both lose youths the flow housed.
On the national fixtures most broken houses are Friends houses with a single resident (persons_min
2) and companion pairs split over two of them; moving one lone resident in with another, or a
companion to the other's house, keeps both housed and mends both houses. ``consolidate`` makes
such moves before the repair, each one only when the moved youths fit their new house with every
rule (capacity, contingent, gemeente cap, persons_max, age gap, conflicts) and the house they
enter then holds at least its persons_min:

1. split companion groups move, whole, into one house (best total value first);
2. the residents of a house below persons_min move, together, into a house that is occupied
   already (so both houses end up keeping the rule);
3. residents of a house whose ages spread too far, outside the best-weighted age window, move
   one by one to their best option elsewhere, or else change places with a resident of another
   age-gap house who fits the first house (both houses keep their size).

A move that does not fit is undone; what is still broken afterwards is the repair's. Every move
keeps the moved youths housed, so the urgency-weighted housing never drops. Houses are visited in
index order and options in value order: the same input gives the same result.
"""

from __future__ import annotations

import numpy as np

from matcher.greedy import GreedyState, best_pairs, place_group
from matcher.instance import NO_LIMIT, Instance, IntArray
from matcher.repair import side_violations

__all__ = ["consolidate"]

# Options of a youth tried for an exchange, best first (the rest are rarely worth the search).
SWAP_PAIRS = 20


def consolidate(inst: Instance, assign: IntArray) -> IntArray:
    """``assign`` (youth -> option, -1 unplaced) with residents of broken houses moved where
    they keep every house rule; see the module docstring. Fixed placements never move."""
    state = GreedyState(inst, assign)
    fixed = {y for y, _ in inst.fixed}
    grouped = {y for g in inst.companion_groups for y in g}
    bad_houses, bad_groups = side_violations(inst, state.assign)
    for gi in sorted(bad_groups):
        group = list(inst.companion_groups[gi])
        if fixed & set(group):
            continue
        before = {y: int(state.assign[y]) for y in group}
        for y in group:
            state.release(y)
        place_group(inst, state, group)
        if any(state.assign[y] < 0 for y in group):
            _restore(state, before)
    _mend_small_houses(inst, state, fixed | grouped)
    _mend_age_gaps(inst, state, fixed | grouped, sorted(bad_houses))
    return state.assign


def _restore(state: GreedyState, before: dict[int, int]) -> None:
    """Put youths back where they were (their places were freed by their own release)."""
    for y in before:
        if state.assign[y] >= 0:
            state.release(y)
    for y, o in before.items():
        if o >= 0:
            state.place([y], o)


def _mend_small_houses(inst: Instance, state: GreedyState, stay: set[int]) -> None:
    """Residents of a house below persons_min move together into an occupied house."""
    by_option = np.argsort(inst.pair_option, kind="stable")
    small = sorted(h for h, rs in state.residents.items() if 0 < len(rs) < int(inst.house_pmin[h]))
    for h in small:
        movers = list(state.residents.get(h, []))
        if not movers or len(movers) >= int(inst.house_pmin[h]) or stay & set(movers):
            continue
        before = {y: int(state.assign[y]) for y in movers}
        for y in movers:
            state.release(y)
        best: tuple[int, int, list[int]] | None = None  # (-value, house, options)
        for target in _houses_of(inst, movers, state, exclude=h):
            here = len(state.residents.get(target, []))
            if here == 0 or here + len(movers) < int(inst.house_pmin[target]):
                continue
            choice = _fit_into(inst, state, movers, target)
            if choice is not None:
                key = (-choice[0], target, choice[1])
                if best is None or key[:2] < best[:2]:
                    best = key
        if best is not None:
            for y, o in zip(movers, best[2], strict=True):
                state.place([y], o)
            continue
        _restore(state, before)
        _fill_with_waiting(inst, state, h, by_option, stay)


def _fill_with_waiting(
    inst: Instance, state: GreedyState, house: int, by_option: IntArray, stay: set[int]
) -> None:
    """Youths without a place join ``house`` (most urgent first) until it holds persons_min;
    if it cannot reach that, nobody joins."""
    options = np.nonzero(inst.option_house == house)[0]
    starts = np.searchsorted(inst.pair_option[by_option], options)
    ends = np.searchsorted(inst.pair_option[by_option], options, side="right")
    pairs = np.concatenate([by_option[s:e] for s, e in zip(starts, ends, strict=True)])
    pairs = pairs[state.assign[inst.pair_youth[pairs]] < 0]
    order = np.lexsort((-inst.pair_value[pairs], -inst.youth_weight[inst.pair_youth[pairs]]))
    joined: list[int] = []
    need = int(inst.house_pmin[house]) - len(state.residents.get(house, []))
    for p in pairs[order].tolist():
        y, o = int(inst.pair_youth[p]), int(inst.pair_option[p])
        if state.assign[y] >= 0 or y in stay or not state.fits([y], o):
            continue
        state.place([y], o)
        joined.append(y)
        if len(joined) >= need:
            return
    for y in joined:
        state.release(y)


def _mend_age_gaps(inst: Instance, state: GreedyState, stay: set[int], houses: list[int]) -> None:
    """Residents outside a house's best-weighted age window move to their best other option."""
    for h in houses:
        gap = int(inst.house_gap[h])
        residents = list(state.residents.get(h, []))
        if gap == NO_LIMIT or len(residents) < 2:
            continue
        ages = inst.youth_age[residents]
        if int(ages.max() - ages.min()) <= gap:
            continue
        weights = inst.youth_weight[residents]
        start = max(
            sorted(set(ages.tolist())),
            key=lambda a: (int(weights[(ages >= a) & (ages <= a + gap)].sum()), -a),
        )
        out = [
            y
            for y, a in zip(residents, ages.tolist(), strict=True)
            if not start <= a <= start + gap and y not in stay
        ]
        for y in out:
            origin = int(state.assign[y])
            state.release(y)
            if not _move(inst, state, y, h) and not _swap(inst, state, y, h, stay):
                state.place([y], origin)


def _move(inst: Instance, state: GreedyState, y: int, house: int) -> bool:
    """Place ``y`` (unplaced) in its best option outside ``house`` where it fits."""
    for p in best_pairs(inst, y, state):
        o = int(inst.pair_option[p])
        target = int(inst.option_house[o])
        need = int(inst.house_pmin[target]) - 1
        roomy = target != house and len(state.residents.get(target, [])) >= need
        if roomy and state.fits([y], o):
            state.place([y], o)
            return True
    return False


def _swap(inst: Instance, state: GreedyState, y: int, house: int, stay: set[int]) -> bool:
    """Exchange ``y`` (unplaced, from ``house``) with a resident ``z`` of another house that
    ``y`` fits once ``z`` has left, while ``z`` fits ``house``: both houses keep their size."""
    r = inst.pairs_of(y)
    idx = np.arange(r.start, r.stop)
    idx = idx[np.argsort(-inst.pair_value[idx], kind="stable")][:SWAP_PAIRS]
    home = np.nonzero(inst.option_house == house)[0]
    for p in idx.tolist():
        o = int(inst.pair_option[p])
        other = int(inst.option_house[o])
        if other == house or inst.house_gap[other] == NO_LIMIT:
            continue
        for z in list(state.residents.get(other, [])):
            if z in stay:
                continue
            z_origin = int(state.assign[z])
            state.release(z)
            if state.fits([y], o):
                state.place([y], o)
                for q in _pairs_into(inst, z, home):
                    if state.fits([z], q):
                        state.place([z], q)
                        return True
                state.release(y)
            state.place([z], z_origin)
    return False


def _pairs_into(inst: Instance, y: int, options: IntArray) -> list[int]:
    """The options among ``options`` youth ``y`` is eligible for, best value first."""
    r = inst.pairs_of(y)
    idx = np.arange(r.start, r.stop)
    idx = idx[np.isin(inst.pair_option[idx], options)]
    return inst.pair_option[idx[np.argsort(-inst.pair_value[idx], kind="stable")]].tolist()


def _houses_of(inst: Instance, youths: list[int], state: GreedyState, exclude: int) -> list[int]:
    """Houses every one of ``youths`` has an eligible pair into (sorted), ``exclude`` left out."""
    common: set[int] | None = None
    for y in youths:
        r = inst.pairs_of(y)
        houses = set(inst.option_house[inst.pair_option[r.start : r.stop]].tolist())
        common = houses if common is None else common & houses
    return sorted((common or set()) - {exclude} - state.closed)


def _fit_into(
    inst: Instance, state: GreedyState, youths: list[int], house: int
) -> tuple[int, list[int]] | None:
    """Options of ``house`` the ``youths`` (unplaced) take together, best value first for each
    in turn, with their total value; ``None`` when they do not all fit. Leaves ``state`` as it
    was."""
    taken: list[tuple[int, int]] = []
    total = 0
    for y in youths:
        r = inst.pairs_of(y)
        idx = np.arange(r.start, r.stop)
        idx = idx[inst.option_house[inst.pair_option[idx]] == house]
        for p in idx[np.argsort(-inst.pair_value[idx], kind="stable")].tolist():
            o = int(inst.pair_option[p])
            if state.fits([y], o):
                state.place([y], o)
                taken.append((y, o))
                total += int(inst.pair_value[p])
                break
        else:
            break
    for y, _o in taken:
        state.release(y)
    if len(taken) < len(youths):
        return None
    return total, [o for _y, o in taken]
