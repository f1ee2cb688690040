"""Companion groups: youths who applied together live in one house, or none of them is placed.

``companion_groups`` finds the groups (connected components of the symmetric companion relation,
through SciPy's ``connected_components``; codes of youths outside the round are ignored), and
``companion_pairs`` drops the eligible pairs no feasible allocation can use because the whole
group cannot live in that house. ``matcher.verifier`` finds the groups with its own code on
purpose (it shares nothing with the solver).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from matcher.problem import Round

__all__ = ["companion_groups", "companion_pairs"]

BoolArray = npt.NDArray[np.bool_]


def companion_groups(round: Round) -> list[list[int]]:
    """Groups of at least two youths (indices into ``round.youths``, ascending), sorted."""
    n = len(round.youths)
    index = {y.code: i for i, y in enumerate(round.youths)}
    edges = [
        (i, k)
        for i, y in enumerate(round.youths)
        for c in y.companions
        if (k := index.get(c, i)) != i
    ]
    if not edges:
        return []
    a, b = np.array(edges, dtype=np.int64).T
    graph = sp.coo_array((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _n_groups, label = connected_components(graph, directed=False)
    order = np.argsort(label, kind="stable")  # youths ascending within each label
    cuts = np.flatnonzero(np.diff(label[order])) + 1
    return sorted(g.tolist() for g in np.split(order, cuts) if len(g) > 1)


def companion_pairs(round: Round, youth_idx: npt.NDArray, option_idx: npt.NDArray) -> BoolArray:
    """Pairs that can occur in a feasible allocation as far as companions go.

    A member of a companion group can only live in a house where every other member is eligible
    for some option and which holds the whole group (persons_max and places). Dropping the other
    pairs of members changes no feasible allocation, and it tightens the flow bound.
    """
    keep = np.ones(len(youth_idx), dtype=bool)
    groups = companion_groups(round)
    if not groups:
        return keep
    types = {t.code: t for t in round.types}
    house_ix: dict[str, int] = {}
    option_house = np.array(
        [house_ix.setdefault(o.house_id, len(house_ix)) for o in round.options], dtype=np.int64
    )
    nh = len(house_ix)
    pmax = np.array(
        [types[o.type_code].persons_max if o.type_code in types else 0 for o in round.options],
        dtype=np.int64,
    )
    house_pmax = np.full(nh, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(house_pmax, option_house, pmax)
    house_places = np.bincount(
        option_house, weights=[o.capacity for o in round.options], minlength=nh
    ).astype(np.int64)
    group_of = np.full(len(round.youths), -1, dtype=np.int64)
    size = np.array([len(g) for g in groups], dtype=np.int64)
    for gi, g in enumerate(groups):
        group_of[g] = gi
    yi = np.asarray(youth_idx, dtype=np.int64)
    rows = np.flatnonzero(group_of[yi] >= 0)
    if not len(rows):
        return keep
    house = option_house[np.asarray(option_idx, dtype=np.int64)[rows]]
    gid = group_of[yi[rows]]
    # Members of each group with a pair in each house: distinct (youth, house), then per group.
    member_house = np.unique(yi[rows] * nh + house)
    shared, members = np.unique(
        group_of[member_house // nh] * nh + member_house % nh, return_counts=True
    )
    key = gid * nh + house
    everyone = members[np.searchsorted(shared, key)] == size[gid]
    fits = (house_pmax[house] >= size[gid]) & (house_places[house] >= size[gid])
    keep[rows] = everyone & fits
    return keep
