"""The allocation as a min-cost flow: the exact core without side rules, and the bound with them.

Network (one unit of flow = one young person)::

    youth --(pair, cap 1, cost -value)--> option --(cap)--> [house] --> [contingent] --> gemeente
    youth --(bypass, cap 1, cost 0)-----------------------------------------------------> sink
                                                                              gemeente --> sink

* option arc capacity: ``capacity`` (remaining after fixed pairs), and at most the type's
  ``persons_max`` for a house of one option;
* house node (a house of several options that all use the same contingent): ``persons_max``;
* contingent node (corporation x gemeente x year [x type]): ``Contingent.left``;
* gemeente node: the round's gemeente cap for that gemeente (cross-corporation), else unbounded.
  The corporation level carries no capacity in the data, so the flow ends at the gemeente (each
  contingent belongs to exactly one gemeente) and the gemeente caps are exact in the flow.

Options needing no contingent go from option (or house) straight to their gemeente node.
Every arc is added with one vectorised call (``add_arcs_with_capacity_and_unit_cost``).
Without the side rules (persons_min, conflicts, age gap, companions) this flow is exact; with
them it is a relaxation, so its optimum is an upper bound on the value of any allocation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

UNBOUNDED = -1  # capacity marker: no limit


class FlowError(RuntimeError):
    """The min-cost flow solver did not return an optimal flow (a bug, never bad input)."""


@dataclass(frozen=True)
class FlowInput:
    """The flow part of a round as arrays. Indices: youths 0..n_youths-1, options by index."""

    n_youths: int
    pair_youth: Int32Array  # per pair
    pair_option: Int32Array  # per pair
    pair_value: IntArray  # per pair, > 0
    option_capacity: IntArray  # per option (remaining places)
    option_house: Int32Array  # per option: flow house node index, or -1 (no house node)
    house_capacity: IntArray  # per flow house
    house_contingent: Int32Array  # per flow house: contingent index or -1
    house_gemeente: Int32Array  # per flow house
    option_contingent: Int32Array  # per option: contingent index or -1
    option_gemeente: Int32Array  # per option: gemeente index
    contingent_left: IntArray  # per contingent
    contingent_gemeente: Int32Array  # per contingent
    gemeente_cap: IntArray  # per gemeente: cap or UNBOUNDED
    # Units each youth node sends (its bypass arc's capacity too): 1 by default; a companion
    # group's first member carries the whole group and the other members 0 (``youth_supply``).
    youth_supply: IntArray | None = None

    @property
    def n_options(self) -> int:
        return len(self.option_capacity)


@dataclass(frozen=True)
class Network:
    """The solved network arc by arc (pair arcs first, then the youths' bypass arcs)."""

    tails: Int32Array
    heads: Int32Array
    capacity: IntArray
    cost: IntArray
    flow: IntArray
    supply: IntArray  # per node
    level: IntArray  # per node: 0 youth, 1 option, 2 house, 3 contingent, 4 gemeente, 5 sink
    n_pairs: int  # the first arcs are the pair arcs, tails (youths) ascending


@dataclass(frozen=True)
class FlowSolution:
    """An optimal flow: which pairs carry flow and the total value."""

    pair_used: BoolArray  # per pair
    value: int  # sum of pair values used (= -optimal cost)
    seconds: float
    network: Network | None = None  # with ``solve_flow(..., keep_network=True)``


def solve_flow(data: FlowInput, keep_network: bool = False) -> FlowSolution:
    """Solve the min-cost flow; the result is optimal for the flow part (raises on failure)."""
    t0 = time.perf_counter()
    ny, no = data.n_youths, data.n_options
    nh, nc, ng = len(data.house_capacity), len(data.contingent_left), len(data.gemeente_cap)
    o0 = ny
    h0 = o0 + no
    c0 = h0 + nh
    g0 = c0 + nc
    sink = g0 + ng
    n_nodes = sink + 1
    n_pairs = len(data.pair_youth)
    supply = (
        np.ones(ny, dtype=np.int64)
        if data.youth_supply is None
        else np.asarray(data.youth_supply, dtype=np.int64)
    )
    total = int(supply.sum())
    # More than every youth can pass any arc: "unbounded" for practical purposes.
    big = np.int64(total + 1)

    def cap(a: IntArray) -> IntArray:
        a = np.asarray(a, dtype=np.int64)
        return np.where(a < 0, big, a)

    # Where an option's flow goes next: its house, else its contingent, else its gemeente.
    opt_next = np.where(
        data.option_house >= 0,
        h0 + data.option_house.astype(np.int64),
        np.where(
            data.option_contingent >= 0,
            c0 + data.option_contingent.astype(np.int64),
            g0 + data.option_gemeente.astype(np.int64),
        ),
    )
    house_next = np.where(
        data.house_contingent >= 0,
        c0 + data.house_contingent.astype(np.int64),
        g0 + data.house_gemeente.astype(np.int64),
    )
    tails = np.concatenate(
        [
            data.pair_youth.astype(np.int64),
            np.arange(ny, dtype=np.int64),
            o0 + np.arange(no, dtype=np.int64),
            h0 + np.arange(nh, dtype=np.int64),
            c0 + np.arange(nc, dtype=np.int64),
            g0 + np.arange(ng, dtype=np.int64),
        ]
    ).astype(np.int32)
    heads = np.concatenate(
        [
            o0 + data.pair_option.astype(np.int64),
            np.full(ny, sink, dtype=np.int64),
            opt_next,
            house_next,
            g0 + data.contingent_gemeente.astype(np.int64),
            np.full(ng, sink, dtype=np.int64),
        ]
    ).astype(np.int32)
    caps = np.concatenate(
        [
            np.ones(n_pairs, dtype=np.int64),
            supply,
            cap(data.option_capacity),
            cap(data.house_capacity),
            cap(data.contingent_left),
            cap(data.gemeente_cap),
        ]
    )
    costs = np.zeros(len(tails), dtype=np.int64)
    costs[:n_pairs] = -np.asarray(data.pair_value, dtype=np.int64)

    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(n_nodes, dtype=np.int64)
    supplies[:ny] = supply
    supplies[sink] = -total
    smcf.set_nodes_supplies(np.arange(n_nodes, dtype=np.int32), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise FlowError(f"min-cost flow status {status}")
    if keep_network:
        all_flows = np.asarray(smcf.flows(np.asarray(arcs, dtype=np.int32)), dtype=np.int64)
        flows = all_flows[:n_pairs]
        level = np.repeat(np.arange(6), [ny, no, nh, nc, ng, 1])
        network = Network(tails, heads, caps, costs, all_flows, supplies, level, n_pairs)
    else:
        flows = np.asarray(smcf.flows(np.asarray(arcs[:n_pairs], dtype=np.int32)))
        network = None
    used = flows > 0
    value = int(np.asarray(data.pair_value, dtype=np.int64)[used].sum())
    return FlowSolution(used, value, time.perf_counter() - t0, network)
