"""Greedy allocation: the baseline for tests and benchmarks, and the refill after a repair.

Youths in urgency order (highest urgency weight first, then youth code) take their best eligible
option (highest pair value) that keeps capacity, contingent, gemeente cap and house rules.
Companions are placed together in one house or not at all. A house that ends below its
persons_min is closed and its residents try again elsewhere, until nothing changes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from matcher.instance import NO_LIMIT, Instance

IntArray = npt.NDArray[np.int64]


class GreedyState:
    """Remaining capacity per option, contingent, gemeente and house, and house residents."""

    def __init__(self, inst: Instance, assign: IntArray | None = None) -> None:
        self.inst = inst
        self.assign = (
            np.full(inst.n_youths, -1, dtype=np.int64) if assign is None else assign.copy()
        )
        self.opt_left = inst.option_capacity.copy()
        self.cont_left = inst.contingent_left.copy()
        self.gem_left = inst.gemeente_cap.copy()
        self.residents: dict[int, list[int]] = {}
        self.closed: set[int] = set()
        self.released: list[int] = []  # options released since the caller last looked
        self.conflict_of: dict[int, set[int]] = {}
        for a, b in inst.conflicts:
            self.conflict_of.setdefault(a, set()).add(b)
            self.conflict_of.setdefault(b, set()).add(a)
        for y in np.nonzero(self.assign >= 0)[0]:
            self._take(int(y), int(self.assign[y]))

    def _take(self, y: int, o: int) -> None:
        inst = self.inst
        self.assign[y] = o
        self.opt_left[o] -= 1
        c = int(inst.option_contingent[o])
        if c >= 0:
            self.cont_left[c] -= 1
        g = int(inst.option_gemeente[o])
        if self.gem_left[g] != NO_LIMIT:
            self.gem_left[g] -= 1
        self.residents.setdefault(int(inst.option_house[o]), []).append(y)

    def release(self, y: int) -> None:
        """Unplace youth ``y``."""
        inst = self.inst
        o = int(self.assign[y])
        if o < 0:
            return
        self.assign[y] = -1
        self.released.append(o)
        self.opt_left[o] += 1
        c = int(inst.option_contingent[o])
        if c >= 0:
            self.cont_left[c] += 1
        g = int(inst.option_gemeente[o])
        if self.gem_left[g] != NO_LIMIT:
            self.gem_left[g] += 1
        self.residents[int(inst.option_house[o])].remove(y)

    def fits(self, ys: list[int], o: int) -> bool:
        """Can all youths ``ys`` (not placed) move into option ``o`` together?"""
        inst = self.inst
        n = len(ys)
        if self.opt_left[o] < n:
            return False
        c = int(inst.option_contingent[o])
        if c >= 0 and self.cont_left[c] < n:
            return False
        g = int(inst.option_gemeente[o])
        if self.gem_left[g] != NO_LIMIT and self.gem_left[g] < n:
            return False
        h = int(inst.option_house[o])
        if h in self.closed:
            return False
        here = self.residents.get(h, [])
        if len(here) + n > inst.house_pmax[h]:
            return False
        everyone = here + ys
        for y in ys:
            if self.conflict_of.get(y, set()) & set(everyone):
                return False
        gap = int(inst.house_gap[h])
        if gap != NO_LIMIT:
            ages = inst.youth_age[everyone]
            if int(ages.max() - ages.min()) > gap:
                return False
        return True

    def place(self, ys: list[int], o: int) -> None:
        for y in ys:
            self._take(y, o)


def best_pairs(inst: Instance, y: int, state: GreedyState | None = None) -> list[int]:
    """Pairs of youth ``y``, best value first. With ``state``: only pairs whose option and
    contingent still have a place (``fits`` refuses the others anyway; filtering them in NumPy
    spares thousands of Python calls for youths whose options are all taken)."""
    r = inst.pairs_of(y)
    idx = np.arange(r.start, r.stop)
    if state is not None:
        o = inst.pair_option[idx]
        c = inst.option_contingent[o]
        open_ = state.opt_left[o] > 0
        if len(state.cont_left):
            open_ &= (c < 0) | (state.cont_left[np.maximum(c, 0)] > 0)
        idx = idx[open_]
    return idx[np.argsort(-inst.pair_value[idx], kind="stable")].tolist()


def greedy_fill(
    inst: Instance, assign: IntArray | None = None, order: list[int] | None = None
) -> IntArray:
    """Place unplaced youths greedily (in ``order``; default urgency order) around ``assign``.

    Youths already placed in ``assign`` (e.g. fixed pairs, a repaired solution) stay placed.
    Returns the new assignment youth -> option index (-1: unplaced); it keeps every rule.
    """
    state = GreedyState(inst, assign)
    keep = set(np.nonzero(state.assign >= 0)[0].tolist())
    if order is None:
        order = sorted(
            range(inst.n_youths), key=lambda y: (-int(inst.youth_weight[y]), inst.youth_codes[y])
        )
    group_of: dict[int, list[int]] = {}
    for g in inst.companion_groups:
        for y in g:
            group_of[y] = g
    # Placements only ever tighten ``fits`` (fewer places, more housemates); only a release can
    # let a youth fit who did not before. So after the first pass a youth is tried again only
    # when an option it could use, or one sharing its house, contingent or capped gemeente, was
    # released: the same result as trying everybody, without thousands of doomed attempts.
    retry: npt.NDArray[np.bool_] | None = None
    for _ in range(len(inst.house_codes) + 1):
        for y in order:
            if state.assign[y] >= 0 or (retry is not None and not retry[y]):
                continue
            group = group_of.get(y, [y])
            if any(state.assign[m] >= 0 for m in group):
                continue  # a member is placed already (fixed): the group cannot move
            if len(group) == 1:
                for p in best_pairs(inst, y, state):
                    o = int(inst.pair_option[p])
                    if state.fits([y], o):
                        state.place([y], o)
                        break
            else:
                place_group(inst, state, group)
        # Close houses below persons_min; their residents try again elsewhere.
        under = [
            h
            for h, rs in state.residents.items()
            if 0 < len(rs) < inst.house_pmin[h] and not (set(rs) & keep)
        ]
        if not under:
            break
        state.released.clear()
        for h in under:
            state.closed.add(h)
            for y in list(state.residents[h]):
                state.release(y)
        retry = _affected_youths(inst, state.released, group_of)
    # Houses still below minimum hold a kept (fixed) youth: leave them to the caller.
    return state.assign


def _affected_youths(
    inst: Instance, released: list[int], group_of: dict[int, list[int]]
) -> npt.NDArray[np.bool_]:
    """Youths with a pair into an option that ``released`` options may have opened up: the
    released options, the options of their houses and contingents, and every option of a
    gemeente with a cap (whole companion groups when one member is affected)."""
    rel = np.unique(np.asarray(released, dtype=np.int64))
    hit = np.zeros(inst.n_options, dtype=bool)
    hit[rel] = True
    house = np.zeros(len(inst.house_codes), dtype=bool)
    house[inst.option_house[rel]] = True
    hit |= house[inst.option_house]
    if len(inst.contingent_left):
        cont = np.zeros(len(inst.contingent_left), dtype=bool)
        c = inst.option_contingent[rel]
        cont[c[c >= 0]] = True
        hit |= (inst.option_contingent >= 0) & cont[np.maximum(inst.option_contingent, 0)]
    capped = np.zeros(len(inst.gemeente_cap), dtype=bool)
    g = inst.option_gemeente[rel]
    capped[g[inst.gemeente_cap[g] != NO_LIMIT]] = True
    hit |= capped[inst.option_gemeente]
    youths = np.zeros(inst.n_youths, dtype=bool)
    youths[inst.pair_youth[hit[inst.pair_option]]] = True
    for y in np.nonzero(youths)[0].tolist():
        youths[group_of.get(y, [y])] = True
    return youths


def place_group(inst: Instance, state: GreedyState, group: list[int]) -> None:
    """Place a companion group together in one house (one option or several rooms of it),
    trying houses by the members' total value; nothing is placed when no house takes them all."""
    pairs_in: dict[int, dict[int, list[int]]] = {}  # house -> member -> pairs, best first
    for y in group:
        for p in best_pairs(inst, y):
            h = int(inst.option_house[inst.pair_option[p]])
            pairs_in.setdefault(h, {}).setdefault(y, []).append(p)
    houses = [h for h, per in pairs_in.items() if len(per) == len(group)]
    houses.sort(key=lambda h: (-sum(int(inst.pair_value[pairs_in[h][y][0]]) for y in group), h))
    for h in houses:
        placed: list[int] = []
        for y in group:
            for p in pairs_in[h][y]:
                o = int(inst.pair_option[p])
                if state.fits([y], o):
                    state.place([y], o)
                    placed.append(y)
                    break
            else:
                break
        if len(placed) == len(group):
            return
        for y in placed:
            state.release(y)


def greedy(inst: Instance) -> IntArray:
    """The greedy baseline in urgency order, with the fixed pairs placed first."""
    assign = np.full(inst.n_youths, -1, dtype=np.int64)
    for y, o in inst.fixed:
        assign[y] = o
    return greedy_fill(inst, assign)
