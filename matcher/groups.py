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
    members = {i: g for g in companion_groups(round) for i in g}
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
