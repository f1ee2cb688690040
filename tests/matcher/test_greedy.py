"""The greedy baseline keeps every rule, keeps fixed pairs and follows urgency order."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from matcher.greedy import greedy
from matcher.problem import Round
from matcher.verifier import verify
from tests.matcher.strategies import (
    instance_of,
    make_option,
    make_round,
    make_youth,
    placed_codes,
    rounds,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=8, max_options=8, shared=True))
def test_greedy_result_passes_the_verifier(rnd: Round) -> None:
    inst = instance_of(rnd)
    assign = greedy(inst)
    assert verify(inst.round, placed_codes(inst, assign)) == []


def test_greedy_serves_urgency_first() -> None:
    rnd = make_round(
        [make_youth("J-1", urgency=1), make_youth("J-2", urgency=4)], [make_option("O-1")]
    )
    inst = instance_of(rnd)
    assign = greedy(inst)
    assert assign.tolist() == [-1, 0]
