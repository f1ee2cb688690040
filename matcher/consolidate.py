"""Consolidate a flow solution: move residents out of broken houses into houses where they fit.

The min-cost flow ignores the house rules. ``matcher.repair`` then drops placements until every
rule holds, and ``matcher.greedy`` refills the freed places: both lose youths the flow housed.
On the national fixtures most broken houses are Friends houses with a single resident (persons_min
2) and companion pairs split over two of them; moving one lone resident in with another, or a
companion to the other's house, keeps both housed and mends both houses. ``consolidate`` makes
such moves before the repair, each one only when the moved youths fit their new house with every
rule (capacity, contingent, gemeente cap, persons_max, age gap, conflicts) and the house they
enter then holds at least its persons_min:

1. split companion groups move, whole, into one house (best total value first), or else
   join a member's house, one other resident moving out to make room if need be; when nobody
   can move out, a resident gives up their place to the members without one if that loses less
   than the repair would (it drops the placed members, and the most urgent waiting youth who
   fits takes each freed place);
2. the residents of a house below persons_min move, together, into a house that is occupied
   already (so both houses end up keeping the rule);
3. residents of a house whose ages spread too far, outside the best-weighted age window, move
   one by one to their best option elsewhere, or else change places with a resident of another
   age-gap house who fits the first house (both houses keep their size).

A move that does not fit is undone; what is still broken afterwards is the repair's. Every move
keeps the moved youths housed, but for a resident giving way to companions (step 1). Houses
are visited in index order and options in value order: the same input gives the same result.
"""

from __future__ import annotations

import numpy as np

from matcher.greedy import GreedyState, best_pairs, place_group
from matcher.instance import NO_LIMIT, BoolArray, Instance, IntArray
from matcher.repair import side_violations

__all__ = [
    "OptionPairs",
    "age_window_pairs",
    "best_window",
    "consolidate",
    "option_pairs",
    "second_flow_scope",
]

# Options of a youth tried for an exchange, best first (the rest are rarely worth the search).
SWAP_PAIRS = 20


def consolidate(inst: Instance, assign: IntArray, by_option: OptionPairs | None = None) -> IntArray:
    """``assign`` (youth -> option, -1 unplaced) with residents of broken houses moved where
    they keep every house rule; see the module docstring. Fixed placements never move.

    ``by_option``: ``option_pairs(inst)`` when the caller has it (built when first needed)."""
    state = GreedyState(inst, assign)
    fixed = {y for y, _ in inst.fixed}
    grouped = {y for g in inst.companion_groups for y in g}
    stay = fixed | grouped
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
            if not _join_group(inst, state, group, stay):
                by_option = by_option or option_pairs(inst)
                _give_way(inst, state, group, stay, by_option)
    _mend_small_houses(inst, state, stay)
    _mend_age_gaps(inst, state, stay, sorted(bad_houses))
    return state.assign


# Pair indices grouped by option, and where each option's run starts (one more than options).
OptionPairs = tuple[IntArray, IntArray]


def option_pairs(inst: Instance) -> OptionPairs:
    """The round's pairs by option (``OptionPairs``), for ``consolidate``."""
    order = np.argsort(inst.pair_option, kind="stable")
    start = np.searchsorted(inst.pair_option[order], np.arange(inst.n_options + 1))
    return order, start


def _join_group(inst: Instance, state: GreedyState, group: list[int], stay: set[int]) -> bool:
    """Bring a split companion group together in the house of one of its members, making room
    there by moving one other resident to their best option elsewhere if need be."""
    houses = sorted(
        {int(inst.option_house[state.assign[y]]) for y in group if state.assign[y] >= 0}
    )
    for target in houses:
        movers = [
            y for y in group if state.assign[y] < 0 or inst.option_house[state.assign[y]] != target
        ]
        before = {y: int(state.assign[y]) for y in movers}
        for y in movers:
            state.release(y)
        for z in [-1, *state.residents.get(target, [])]:
            if z in stay:
                continue
            z_origin = int(state.assign[z]) if z >= 0 else -1
            if z >= 0:
                state.release(z)
            choice = _fit_into(inst, state, movers, target)
            if choice is not None:
                for y, o in zip(movers, choice[1], strict=True):
                    state.place([y], o)
                if z < 0 or _move(inst, state, z, target):
                    return True
                for y in movers:
                    state.release(y)
            if z >= 0:
                state.place([z], z_origin)
        _restore(state, before)
    return False


def _give_way(
    inst: Instance, state: GreedyState, group: list[int], stay: set[int], by_option: OptionPairs
) -> bool:
    """A group with members placed in one house and the others without a place: a resident
    of that house gives up their place to the members without one when that loses less than
    the repair would (it drops the placed members; the best waiting youth who fits takes each
    freed place)."""
    placed = [y for y in group if state.assign[y] >= 0]
    waiting = [y for y in group if state.assign[y] < 0]
    houses = {int(inst.option_house[state.assign[y]]) for y in placed}
    if not placed or not waiting or len(houses) != 1:
        return False
    target = houses.pop()
    repair_loss = 0
    for m in placed:
        o = int(state.assign[m])
        state.release(m)
        repair_loss += int(inst.youth_weight[m]) - _best_waiting(inst, state, o, by_option, stay)
        state.place([m], o)
    newly = sum(int(inst.youth_weight[y]) for y in waiting)
    for z in sorted(state.residents.get(target, []), key=lambda y: int(inst.youth_weight[y])):
        if z in stay or newly - int(inst.youth_weight[z]) <= -repair_loss:
            continue
        z_origin = int(state.assign[z])
        state.release(z)
        choice = _fit_into(inst, state, waiting, target)
        if choice is not None:
            for y, o in zip(waiting, choice[1], strict=True):
                state.place([y], o)
            return True
        state.place([z], z_origin)
    return False


def _best_waiting(
    inst: Instance, state: GreedyState, option: int, by_option: OptionPairs, stay: set[int]
) -> int:
    """Weight of the most urgent youth without a place who fits ``option`` now (0: nobody)."""
    order, start = by_option
    pairs = order[start[option] : start[option + 1]]
    youths = inst.pair_youth[pairs]
    youths = youths[state.assign[youths] < 0]
    for y in youths[np.argsort(-inst.youth_weight[youths], kind="stable")].tolist():
        if y not in stay and state.fits([int(y)], option):
            return int(inst.youth_weight[y])
    return 0


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
        if best is None:
            _restore(state, before)
            continue
        for y, o in zip(movers, best[2], strict=True):
            state.place([y], o)


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
        start = best_window(inst, residents, gap)
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


def best_window(inst: Instance, residents: list[int], gap: int) -> int:
    """First age of the window ``[a, a + gap]`` holding the most urgency weight of
    ``residents`` (the youngest such window on a tie)."""
    ages = inst.youth_age[residents]
    weights = inst.youth_weight[residents]
    return max(
        sorted(set(ages.tolist())),
        key=lambda a: (int(weights[(ages >= a) & (ages <= a + gap)].sum()), -a),
    )


def age_window_pairs(inst: Instance, assign: IntArray) -> BoolArray:
    """Pairs a second flow may use: every pair, except pairs into a house whose residents'
    ages still spread too far (in ``assign``) of youths outside its best age window.

    The flow then keeps those houses' age gap by itself and re-routes everybody else around
    them; ``solve`` runs it when the consolidation left such houses (docs/objective.md).
    """
    placed = np.nonzero(assign >= 0)[0]
    houses = inst.option_house[assign[placed]]
    gapped = inst.house_gap[houses] != NO_LIMIT
    start_of = np.full(len(inst.house_codes), -1, dtype=np.int64)
    for h in np.unique(houses[gapped]).tolist():
        residents = placed[houses == h].tolist()
        gap = int(inst.house_gap[h])
        ages = inst.youth_age[residents]
        if len(residents) >= 2 and int(ages.max() - ages.min()) > gap:
            start_of[h] = best_window(inst, residents, gap)
    pair_house = inst.option_house[inst.pair_option]
    start = start_of[pair_house]
    age = inst.youth_age[inst.pair_youth]
    return (start < 0) | ((age >= start) & (age <= start + inst.house_gap[pair_house]))


def second_flow_scope(
    inst: Instance, assign: IntArray, allowed: BoolArray, closed: BoolArray | None = None
) -> tuple[BoolArray, list[tuple[int, int]]]:
    """Where a second flow may change ``assign`` after ``age_window_pairs`` (``allowed``)
    closed some houses to some ages: the options of those houses and every option their
    residents are eligible for. Youths placed there, and youths without a place who are
    eligible there, may move (their pairs into those options, and their own pair); everybody
    else keeps their place. ``closed`` (default: every pair ``allowed`` leaves out) names the
    pairs whose houses set the scope, e.g. only those closed since the last flow. Returns the
    pairs the second flow may use and the placements it holds (youth, option). Measured on the
    national fixtures (seed 7) this keeps a quarter of the options and a third of the pairs,
    and the second flow's housing within 0.0002 % of a flow over the whole round."""
    shut = ~allowed if closed is None else closed
    scope = np.isin(inst.option_house, np.unique(inst.option_house[inst.pair_option[shut]]))
    placed = assign >= 0
    resident = np.zeros(inst.n_youths, dtype=bool)
    resident[placed] = scope[assign[placed]]
    scope[inst.pair_option[resident[inst.pair_youth]]] = True
    free = np.zeros(inst.n_youths, dtype=bool)
    free[placed] = scope[assign[placed]]
    free[inst.pair_youth[(assign[inst.pair_youth] < 0) & scope[inst.pair_option]]] = True
    own = assign[inst.pair_youth] == inst.pair_option
    pairs = allowed & free[inst.pair_youth] & (scope[inst.pair_option] | own)
    fixed = {y for y, _o in inst.fixed}
    held = [
        (int(y), int(assign[y])) for y in np.nonzero(placed & ~free)[0].tolist() if y not in fixed
    ]
    return pairs, held


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
                for q in _house_pairs(inst, z, house):
                    back = int(inst.pair_option[q])
                    if state.fits([z], back):
                        state.place([z], back)
                        return True
                state.release(y)
            state.place([z], z_origin)
    return False


def _house_pairs(inst: Instance, y: int, house: int) -> list[int]:
    """Youth ``y``'s pairs into options of ``house``, best value first."""
    r = inst.pairs_of(y)
    idx = np.arange(r.start, r.stop)
    idx = idx[inst.option_house[inst.pair_option[idx]] == house]
    return idx[np.argsort(-inst.pair_value[idx], kind="stable")].tolist()


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
        for p in _house_pairs(inst, y, house):
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
