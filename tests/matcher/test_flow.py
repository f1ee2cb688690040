"""The min-cost flow core against exhaustive enumeration on tiny array instances."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.flow import UNBOUNDED, FlowInput, solve_flow
from matcher.flowdual import group_bound, lagrangian_bound, potentials
from matcher.flownet import fixed_youths, flow_input, group_nodes
from matcher.problem import Round
from tests.matcher.strategies import instance_of, rounds


@st.composite
def flow_inputs(draw: st.DrawFn) -> FlowInput:
    ny = draw(st.integers(1, 4))
    no = draw(st.integers(1, 3))
    nc = draw(st.integers(0, 2))
    pairs = sorted(
        draw(st.sets(st.tuples(st.integers(0, ny - 1), st.integers(0, no - 1)), max_size=8))
    )
    py = np.array([p[0] for p in pairs], dtype=np.int32)
    po = np.array([p[1] for p in pairs], dtype=np.int32)
    values = np.array(draw(st.lists(st.integers(1, 50), min_size=len(pairs), max_size=len(pairs))))
    option_contingent = np.array([draw(st.integers(-1, nc - 1)) for _ in range(no)], dtype=np.int32)
    return FlowInput(
        n_youths=ny,
        pair_youth=py,
        pair_option=po,
        pair_value=values.astype(np.int64),
        option_capacity=np.array([draw(st.integers(0, 2)) for _ in range(no)], dtype=np.int64),
        option_house=np.full(no, -1, dtype=np.int32),
        house_capacity=np.zeros(0, dtype=np.int64),
        house_contingent=np.zeros(0, dtype=np.int32),
        house_gemeente=np.zeros(0, dtype=np.int32),
        option_contingent=option_contingent,
        option_gemeente=np.zeros(no, dtype=np.int32),
        contingent_left=np.array([draw(st.integers(0, 2)) for _ in range(nc)], dtype=np.int64),
        contingent_gemeente=np.zeros(nc, dtype=np.int32),
        gemeente_cap=np.array([draw(st.sampled_from([UNBOUNDED, 0, 1, 2]))], dtype=np.int64),
    )


def _best(data: FlowInput) -> int:
    choices = [[-1, *np.nonzero(data.pair_youth == y)[0].tolist()] for y in range(data.n_youths)]
    best = 0
    for combo in itertools.product(*choices):
        used = [p for p in combo if p >= 0]
        opts = data.pair_option[used]
        if np.any(np.bincount(opts, minlength=data.n_options) > data.option_capacity):
            continue
        oc = data.option_contingent[opts]
        if np.any(
            np.bincount(oc[oc >= 0], minlength=len(data.contingent_left)) > data.contingent_left
        ):
            continue
        cap = data.gemeente_cap[0]
        if cap != UNBOUNDED and len(used) > cap:
            continue
        best = max(best, int(data.pair_value[used].sum()))
    return best


@settings(max_examples=150, deadline=None)
@given(flow_inputs())
def test_flow_equals_enumeration(data: FlowInput) -> None:
    sol = solve_flow(data)
    assert sol.value == _best(data)
    # One pair per youth at most.
    assert np.all(np.bincount(data.pair_youth[sol.pair_used], minlength=data.n_youths) <= 1)


@settings(max_examples=150, deadline=None)
@given(flow_inputs(), st.data())
def test_the_flows_potentials_certify_its_optimum(data: FlowInput, draw: st.DataObject) -> None:
    """Any potentials bound every flow from above (weak duality, in integers); the ones
    ``potentials`` finds in the solved network meet the optimum exactly."""
    sol = solve_flow(data, keep_network=True)
    assert sol.network is not None
    assert lagrangian_bound(sol.network, potentials(sol.network)) == sol.value
    n = len(sol.network.supply)
    other = np.array(draw.draw(st.lists(st.integers(-60, 60), min_size=n, max_size=n)))
    assert lagrangian_bound(sol.network, other.astype(np.int64)) >= sol.value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=6, max_options=5, shared=True))
def test_the_group_bound_is_a_dual_of_the_group_network(rnd: Round) -> None:
    """``group_bound`` from the plain flow's potentials bounds the flow in which every
    companion group is one node (a relaxation of the round)."""
    inst = instance_of(rnd)
    fin, _ = flow_input(inst)
    sol = solve_flow(fin, keep_network=True)
    assert sol.network is not None
    grouped = group_nodes(inst, fin, fixed_youths(inst))
    p = potentials(sol.network)
    bound = group_bound(sol.network, p, grouped)
    assert bound >= solve_flow(grouped).value
