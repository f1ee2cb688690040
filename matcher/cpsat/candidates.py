"""Which pairs CP-SAT may use: every eligible pair of a small round, else a neighbourhood.

A round of at most ``full_limit`` eligible pairs gives CP-SAT every pair (``complete``: its bound
then bounds the round). A larger one frees the youths around the side-rule violations of the
flow's solution and pins everybody else to the repaired hint (``candidate_pairs``); CP-SAT's
bound on such a set bounds nothing outside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matcher.instance import BoolArray, Instance, IntArray
from matcher.repair import side_violations

__all__ = ["Candidates", "candidate_pairs", "rank_in_youth"]


@dataclass(frozen=True)
class Candidates:
    """The pairs CP-SAT decides, and the placements held around them."""

    pairs: IntArray  # sorted pair indices
    complete: bool  # every eligible pair is a candidate: CP-SAT's bound bounds the round
    pinned: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))  # held at 1
    # Pinned placements left out of the model: they only use up places, contingent and caps.
    outside: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))


def rank_in_youth(inst: Instance, key: IntArray) -> IntArray:
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
    mask |= free_pair & (rank_in_youth(inst, inst.pair_value) < top_k)
    side = inst.house_is_side()[inst.option_house[inst.pair_option]]
    side_rank = rank_in_youth(inst, np.where(side, inst.pair_value, -1))
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
