"""Pair values: housing dominates preference, breakdown agrees, tie-break is seeded and stable."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from itertools import pairwise

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.problem import Round
from matcher.rules import screen
from matcher.scoring import (
    PREF_MAX,
    PREF_UNIT,
    TIE_MAX,
    URGENCY_BASE,
    URGENCY_MAX,
    housing_scale,
    pair_values,
    score_breakdown,
    urgency_weight,
)
from matcher.solve import canonical_round
from tests.matcher.strategies import make_youth, rounds


@given(st.integers(0, 50_000))
def test_one_unit_of_housing_beats_all_preference(n: int) -> None:
    """The dominance argument of docs/objective.md, with the real constants."""
    assert housing_scale(n) > max(1, n) * (PREF_UNIT * PREF_MAX + TIE_MAX)
    # The national worst case stays far inside int64.
    assert housing_scale(n) * URGENCY_MAX * max(1, n) < 2**62


def test_urgency_weight_parts() -> None:
    move_in = date(2026, 12, 1)
    calm = make_youth(urgency=1)
    acute = make_youth(urgency=5, care_end_date=date(2026, 11, 1), waiting_since=date(2025, 12, 1))
    assert urgency_weight(calm, move_in) == URGENCY_BASE
    assert urgency_weight(acute, move_in) == URGENCY_BASE + 800 + 150 + 12
    later = make_youth(care_end_date=date(2027, 6, 1))
    sooner = make_youth(care_end_date=date(2027, 1, 1))
    assert urgency_weight(sooner, move_in) > urgency_weight(later, move_in) > URGENCY_BASE


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=5, max_options=5), st.integers(0, 1000))
def test_breakdown_agrees_with_vectorised_values(rnd: Round, seed: int) -> None:
    canon = canonical_round(rnd)
    sc = screen(canon)
    pv = pair_values(canon, sc, seed)
    for p, (y, o) in enumerate(zip(sc.youth_idx.tolist(), sc.option_idx.tolist(), strict=True)):
        b = score_breakdown(
            canon, canon.youths[y], canon.options[o], sc.net_rent[p], sc.toeslag[p], seed
        )
        assert b.value == pv.value[p]
        assert (b.area_points, b.type_points, b.distance_points, b.rent_points) == (
            pv.area[p],
            pv.type[p],
            pv.distance[p],
            pv.rent[p],
        )
        assert 0 <= b.tie_break <= TIE_MAX
        assert 0 <= pv.preference[p] <= PREF_MAX


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=5, max_options=5))
def test_values_do_not_depend_on_input_order(rnd: Round) -> None:
    canon = canonical_round(rnd)
    rev = canonical_round(replace(rnd, youths=rnd.youths[::-1], options=rnd.options[::-1]))
    a, b = pair_values(canon, screen(canon)), pair_values(rev, screen(rev))
    assert np.array_equal(a.value, b.value)


def test_type_rank_order_is_monotone() -> None:
    from matcher.scoring import type_points_of_rank

    pts = [type_points_of_rank(r) for r in range(6)]
    assert all(a >= b for a, b in pairwise(pts)) and pts[0] > pts[1]
