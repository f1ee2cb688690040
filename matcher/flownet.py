"""The flow part of a round (``flow_input``): the min-cost flow network every round starts from.

Youth -> option -> [house] -> [contingent] -> gemeente -> sink (``matcher.flow``), fixed pairs
pre-placed, houses that can never reach persons_min closed, and optionally every companion group
as one node (``group_nodes``, a tighter relaxation). ``flow_pairs`` reads a flow solution back
as a pair mask of the round.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import numpy.typing as npt

from matcher.flow import FlowInput
from matcher.instance import NO_LIMIT, BoolArray, Instance, pair_index

__all__ = ["fixed_youths", "flow_input", "flow_pairs", "group_nodes"]


def flow_input(
    inst: Instance, allowed: npt.NDArray[np.bool_] | None = None, groups: bool = False
) -> tuple[FlowInput, npt.NDArray[np.bool_]]:
    """The flow part of an instance, fixed pairs pre-placed (their youths leave the network).

    Returns the input and the mask of pairs it holds (pairs of non-fixed youths, and only the
    ``allowed`` ones when given). ``groups``: every companion group without a fixed member is
    one node (``group_nodes``), a tighter relaxation.
    """
    fixed_youth = fixed_youths(inst)
    opt_cap = inst.option_capacity.copy()
    cont_left = inst.contingent_left.copy()
    gem_cap = inst.gemeente_cap.copy()
    nh = len(inst.house_codes)
    house_used = np.zeros(nh, dtype=np.int64)
    for _, o in inst.fixed:
        opt_cap[o] -= 1
        c = int(inst.option_contingent[o])
        if c >= 0:
            cont_left[c] -= 1
        g = int(inst.option_gemeente[o])
        if gem_cap[g] != NO_LIMIT:
            gem_cap[g] -= 1
        house_used[inst.option_house[o]] += 1
    # A house that can never reach persons_min is useless: close it (tightens the bound).
    # So is a house with fewer distinct eligible youths than persons_min.
    house_cap_total = inst.house_places()
    # Pairs come grouped by youth, so a stable (run-merging) sort of (youth, house) is cheap:
    # 0.03 s against 1.7 s for np.unique on 2.3 M national pairs.
    yh = np.sort(
        inst.pair_youth.astype(np.int64) * nh + inst.option_house[inst.pair_option], kind="stable"
    )
    first = np.ones(len(yh), dtype=bool)
    first[1:] = yh[1:] != yh[:-1]
    candidates_per_house = np.bincount(yh[first] % nh, minlength=nh)
    dead = (house_cap_total < inst.house_pmin) | (candidates_per_house < inst.house_pmin)
    opt_cap = np.where(dead[inst.option_house], 0, opt_cap)
    # Houses of one option: persons_max caps the option arc. Houses of several options get a
    # house node when they all lead to the same contingent and gemeente (a tree stays a tree).
    n_opts = np.bincount(inst.option_house, minlength=nh)
    pmax_left = np.maximum(inst.house_pmax - house_used, 0)
    single = n_opts[inst.option_house] == 1
    opt_cap = np.where(single, np.minimum(opt_cap, pmax_left[inst.option_house]), opt_cap)
    gem_first = np.full(nh, -1, dtype=np.int64)
    gem_first[inst.option_house] = inst.option_gemeente
    same_gem = np.ones(nh, dtype=bool)
    same_gem[inst.option_house[inst.option_gemeente != gem_first[inst.option_house]]] = False
    node = (n_opts > 1) & (inst.house_contingent != -2) & same_gem
    node_ix = np.full(nh, -1, dtype=np.int32)
    node_ix[node] = np.arange(int(node.sum()), dtype=np.int32)
    keep = ~fixed_youth[inst.pair_youth]
    if allowed is not None:
        keep &= allowed
    fin = FlowInput(
        n_youths=inst.n_youths,
        pair_youth=inst.pair_youth[keep],
        pair_option=inst.pair_option[keep],
        pair_value=inst.pair_value[keep],
        option_capacity=np.maximum(opt_cap, 0),
        option_house=node_ix[inst.option_house],
        house_capacity=pmax_left[node],
        house_contingent=inst.house_contingent[node].astype(np.int32),
        house_gemeente=gem_first[node].astype(np.int32),
        option_contingent=inst.option_contingent,
        option_gemeente=inst.option_gemeente,
        contingent_left=np.maximum(cont_left, 0),
        contingent_gemeente=inst.contingent_gemeente,
        gemeente_cap=np.where(gem_cap == NO_LIMIT, NO_LIMIT, np.maximum(gem_cap, 0)),
    )
    return (group_nodes(inst, fin, fixed_youth) if groups else fin), keep


def fixed_youths(inst: Instance) -> BoolArray:
    """Mask of the youths with a fixed pair."""
    fixed = np.zeros(inst.n_youths, dtype=bool)
    fixed[[y for y, _ in inst.fixed]] = True
    return fixed


def group_nodes(inst: Instance, fin: FlowInput, fixed: BoolArray) -> FlowInput:
    """``fin`` with each companion group (no member fixed) as one node that sends one unit per
    member: its first member's node carries the group's pairs, every pair now worth the group's
    mean housing value, rounded up, plus that member's own preference at that option.

    Still a relaxation: an allocation housing the group puts each member on one of its own pairs,
    which the node may take at a value no lower (one unit per member, each pair of capacity one).
    It is tighter because a group the flow houses only in part now counts the mean of its
    members' urgency, not the most urgent member's. A large round's bound is read from it
    (matcher.flowdual.group_bound) and its age-window flows use it; its optimum is not the first
    allocation, though: it houses more groups split over two houses and fewer urgent youths
    (national seeds 7-11: the hint from it was worse on four of five, docs/objective.md).
    """
    groups = [g for g in inst.companion_groups if not fixed[g].any()]
    if not groups:
        return fin
    lead = np.arange(inst.n_youths, dtype=np.int64)
    supply = np.ones(inst.n_youths, dtype=np.int64)
    group_value = np.zeros(inst.n_youths, dtype=np.int64)
    size = np.ones(inst.n_youths, dtype=np.int64)
    scale = inst.housing_scale
    for g in groups:
        lead[g], supply[g], size[g] = g[0], 0, len(g)
        supply[g[0]] = len(g)
        group_value[g] = scale * int(inst.youth_weight[g].sum())
    py = fin.pair_youth.astype(np.int64)
    value = fin.pair_value.copy()
    in_group = size[py] > 1
    gy = py[in_group]
    value[in_group] = (
        -(-group_value[gy] // size[gy]) + value[in_group] - scale * inst.youth_weight[gy]
    )
    return dataclasses.replace(
        fin, pair_youth=lead[py].astype(np.int32), pair_value=value, youth_supply=supply
    )


def flow_pairs(inst: Instance, keep: BoolArray, used: BoolArray) -> BoolArray:
    """Pair mask of a flow solution (``used`` over the ``keep`` pairs), fixed pairs included.

    A group node (``group_nodes``) may send two units over one member's pairs: its units are
    dealt again to the members, the most valuable way in which each member gets a pair of their
    own (members left over stay unplaced; the repair sees a broken group).
    """
    out = np.zeros(inst.n_pairs, dtype=bool)
    out[np.nonzero(keep)[0][used]] = True
    out[inst.fixed_pair_idx] = True
    count = np.bincount(inst.pair_youth[out], minlength=inst.n_youths)
    for g in inst.companion_groups:
        if count[g].max() <= 1:
            continue
        taken = [int(p) for y in g for p in inst.pairs_of(y) if out[p]]
        out[taken] = False
        out[_deal(inst, g, [int(inst.pair_option[p]) for p in taken])] = True
    return out


def _deal(inst: Instance, group: list[int], options: list[int]) -> list[int]:
    """The pairs (member, option), one per member and one per listed option, worth the most
    among the deals placing the most members."""
    best: tuple[int, int, list[int]] = (-1, -1, [])
    for members in itertools.permutations(group, len(options)):
        pairs = [pair_index(inst, y, o) for y, o in zip(members, options, strict=True)]
        placed = [p for p in pairs if p >= 0]
        key = (len(placed), int(inst.pair_value[placed].sum()), placed)
        if key[:2] > best[:2]:
            best = key
    return best[2]
