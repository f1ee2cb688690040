"""Eligibility rules: hand-made boundary cases and screen (vectorised) == scalar rules."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

import matcher.rules.search as search
from matcher.policy import affordability
from matcher.problem import Anchor, Contingent, Round, UnknownHousingType
from matcher.rules import (
    RULE_NAMES,
    Reason,
    RoundContext,
    clear_cache,
    contingent_of,
    explain_pair,
    failure_counts,
    failure_figures,
    min_anchor_distance,
    pair_reasons,
    screen,
)
from matcher.rules.arrays import in_sorted
from tests.matcher.strategies import X0, Y0, make_option, make_round, make_type, make_youth, rounds

MOVE_IN = date(2026, 1, 1)


def eligible_pairs(rnd: Round) -> set[tuple[str, str]]:
    s = screen(rnd)
    return {
        (rnd.youths[y].code, rnd.options[o].code)
        for y, o in zip(s.youth_idx.tolist(), s.option_idx.tolist(), strict=True)
    }


def codes_of(reasons: list[Reason]) -> list[str]:
    return [r.code for r in reasons]


def one_pair(
    youth_kw: dict[str, Any], option_kw: dict[str, Any], **round_kw: Any
) -> tuple[Round, list[Reason]]:
    """(round, reasons) for one youth and one option; also checks screen agrees."""
    rnd = make_round([make_youth("J-1", **youth_kw)], [make_option("O-1", **option_kw)], **round_kw)
    reasons = explain_pair(rnd, "J-1", "O-1")
    assert (("J-1", "O-1") in eligible_pairs(rnd)) == (not reasons)
    return rnd, reasons


# --- type, support, age, minors -------------------------------------------------------------------


def test_plain_pair_is_eligible() -> None:
    _, reasons = one_pair({}, {})
    assert reasons == []


def test_type_not_accepted_and_support_outside_range() -> None:
    _, reasons = one_pair({"accepted_types": ("kma",), "support_need": 3}, {})
    assert codes_of(reasons) == ["type_not_accepted", "support_too_high"]
    assert "Urgentiewoning" in reasons[0].message
    _, reasons = one_pair({"support_need": 0}, {"type_code": "kma"})
    assert codes_of(reasons) == ["support_too_low"]


@pytest.mark.parametrize(
    ("birth", "code"),
    [
        (date(2008, 1, 1), None),  # 18 exactly on the move-in day: minimum age of urgentie
        (date(2008, 1, 2), "age_too_low"),  # 18 one day later
        (date(1998, 1, 2), None),  # turns 28 a day after move-in: 27 is the maximum, fits
        (date(1998, 1, 1), "age_too_high"),  # turns 28 on the move-in day
    ],
)
def test_age_exactly_at_type_min_and_max_on_the_move_in_day(birth: date, code: str | None) -> None:
    _, reasons = one_pair({"birth_date": birth}, {})
    age_codes = [r.code for r in reasons if r.rule == "age"]
    assert age_codes == ([] if code is None else [code])


def test_minors_only_in_provider_contract_types() -> None:
    minor = {"birth_date": date(2009, 6, 1), "income": 0.0}  # 16 on move-in
    _, reasons = one_pair(minor, {"type_code": "urgentie"})
    assert "minor_needs_provider_contract" in codes_of(reasons)
    reason = next(r for r in reasons if r.rule == "minor_contract")
    assert reason.figures["age"] == 16
    # Mentorhuis: a provider holds the contract; without income the provider pays.
    _, reasons = one_pair(minor, {"type_code": "mentorhuis", "corporation": None})
    assert reasons == []


def test_affordability_message_names_the_figures() -> None:
    youth = {"birth_date": date(2005, 6, 1)}  # 20 on 2026-01-01
    _, reasons = one_pair(youth, {"kale_huur": 612.0, "servicekosten": 0.0})
    assert codes_of(reasons) == ["above_kwaliteitskortingsgrens"]
    assert reasons[0].message == (
        "Kale huur € 612,00 ligt boven de kwaliteitskortingsgrens € 498,20 die in 2026 geldt voor "
        "huurders van 18 t/m 20 jaar (leeftijd 20)."
    )


# --- no-go ----------------------------------------------------------------------------------------

# A 1 km square with a 400 m square hole, and a triangle (its bounding box is the square).
RING = Polygon(
    [(X0 + x, Y0 + y) for x, y in [(0, 0), (1000, 0), (1000, 1000), (0, 1000)]],
    [[(X0 + x, Y0 + y) for x, y in [(300, 300), (700, 300), (700, 700), (300, 700)]]],
)
TRIANGLE = Polygon([(X0, Y0), (X0 + 1000, Y0), (X0, Y0 + 1000)])


@pytest.mark.parametrize(
    ("polygon", "dx", "dy", "inside"),
    [
        (RING, 100, 100, True),  # in the ring
        (RING, 500, 500, False),  # in the hole: allowed
        (RING, 0, 500, True),  # on the outer boundary: counts as in
        (RING, 300, 500, True),  # on the hole's boundary: part of the polygon
        (RING, 1000.001, 500, False),  # just outside
        (TRIANGLE, 800, 800, False),  # inside the bounding box, outside the triangle
        (TRIANGLE, 500, 500, True),  # on the hypotenuse
        (TRIANGLE, 100, 100, True),
    ],
)
def test_no_go_polygon_exact_containment(
    polygon: Polygon, dx: float, dy: float, inside: bool
) -> None:
    _, reasons = one_pair({"no_go_polygons": (polygon,)}, {"x": X0 + dx, "y": Y0 + dy})
    assert codes_of(reasons) == (["no_go_area"] if inside else [])


@pytest.mark.parametrize("code", ["GM0796", "WK079601", "BU07960101"])
def test_no_go_code_at_every_level(code: str) -> None:
    _, reasons = one_pair({"no_go_codes": (code,)}, {})
    assert codes_of(reasons) == ["no_go_code"]
    assert code in reasons[0].message


def test_no_go_code_of_another_area_allows() -> None:
    _, reasons = one_pair({"no_go_codes": ("GM0828", "WK079602", "BU07960102")}, {})
    assert reasons == []


# --- distance, availability, contingents, forbidden ----------------------------------------------


def test_distance_exactly_at_the_radius_is_within_and_a_centimetre_more_is_not() -> None:
    youth = {"anchors": (Anchor("school", X0, Y0),), "max_distance_m": 300.0}
    _, reasons = one_pair(youth, {"x": X0 + 300.0, "y": Y0})
    assert reasons == []
    _, reasons = one_pair(youth, {"x": X0 + 180.0, "y": Y0 + 240.0})  # 3-4-5: exactly 300
    assert reasons == []
    _, reasons = one_pair(youth, {"x": X0 + 300.01, "y": Y0})
    assert codes_of(reasons) == ["too_far"]
    assert "0,3 km" in reasons[0].message


def test_distance_uses_the_nearest_anchor_and_no_anchor_means_no_limit() -> None:
    anchors = (Anchor("school", X0, Y0), Anchor("werk", X0 + 5000.0, Y0))
    rnd, reasons = one_pair(
        {"anchors": anchors, "max_distance_m": 300.0}, {"x": X0 + 4800.0, "y": Y0}
    )
    assert reasons == []
    assert screen(rnd).distance_m.tolist() == [200.0]
    rnd, reasons = one_pair({"max_distance_m": 300.0}, {"x": X0 + 9000.0, "y": Y0})
    assert reasons == []
    assert np.isnan(screen(rnd).distance_m).all()


def test_available_from_after_move_in_and_no_capacity() -> None:
    _, reasons = one_pair({}, {"available_from": MOVE_IN + timedelta(days=1)})
    assert codes_of(reasons) == ["not_available_yet"]
    _, reasons = one_pair({}, {"available_from": MOVE_IN})
    assert reasons == []
    _, reasons = one_pair({}, {"capacity": 0})
    assert codes_of(reasons) == ["no_capacity"]


def test_contingent_typed_preferred_then_general_then_missing() -> None:
    general = Contingent("WC-A", "GM0796", 2026, 5)
    typed = Contingent("WC-A", "GM0796", 2026, 2, type_code="urgentie")
    other_year = Contingent("WC-A", "GM0796", 2025, 9)
    option = make_option("O-1")
    youth = make_youth("J-1")
    rnd = make_round([youth], [option], contingents=[other_year, general, typed])
    assert contingent_of(rnd, option) == 2
    assert screen(rnd).option_contingent.tolist() == [2]
    rnd = make_round([youth], [option], contingents=[other_year, general])
    assert contingent_of(RoundContext.build(rnd), option) == 1
    rnd = make_round([youth], [option], contingents=[other_year])
    assert contingent_of(rnd, option) is None
    assert codes_of(explain_pair(rnd, "J-1", "O-1")) == ["no_contingent"]
    assert eligible_pairs(rnd) == set()
    assert screen(rnd).option_contingent.tolist() == [-1]


def test_provider_owned_or_non_contingent_type_needs_no_contingent() -> None:
    provider = make_option("O-1", corporation=None)
    bw = make_option("O-2", type_code="bwlight")  # uses_contingent False
    rnd = make_round([make_youth("J-1")], [provider, bw], contingents=())
    assert contingent_of(rnd, provider) is None and contingent_of(rnd, bw) is None
    assert eligible_pairs(rnd) == {("J-1", "O-1"), ("J-1", "O-2")}
    assert screen(rnd).option_contingent.tolist() == [-1, -1]


def test_forbidden_pair_is_excluded() -> None:
    rnd = make_round(
        [make_youth("J-1"), make_youth("J-2")],
        [make_option("O-1")],
        forbidden_pairs=(("J-1", "O-1"),),
    )
    assert eligible_pairs(rnd) == {("J-2", "O-1")}
    assert codes_of(explain_pair(rnd, "J-1", "O-1")) == ["forbidden_pair"]


def test_unknown_type_of_an_option_is_refused() -> None:
    rnd = make_round([make_youth()], [make_option(type_code="paleis")])
    with pytest.raises(UnknownHousingType, match="paleis"):
        screen(rnd)


def test_failure_counts_count_every_failing_rule() -> None:
    options = [
        make_option("O-1"),
        make_option("O-2", capacity=0),
        make_option("O-3", capacity=0, type_code="kma", kale_huur=2000.0),
    ]
    rnd = make_round([make_youth("J-1", accepted_types=("urgentie",))], options)
    counts = failure_counts(rnd, "J-1")
    assert counts["eligible"] == 1
    assert counts["available"] == 2
    assert counts["type_accepted"] == 1 and counts["affordability"] == 1
    assert set(counts) == {*RULE_NAMES, "eligible"}


def test_screening_is_sorted_and_typed() -> None:
    youths = [make_youth(f"J-{k}") for k in range(3)]
    options = [make_option(f"O-{k}", x=X0 + 10 * k) for k in range(4)]
    s = screen(make_round(youths, options))
    assert s.youth_idx.dtype == np.int32 and s.option_idx.dtype == np.int32
    keys = s.youth_idx.astype(np.int64) * 4 + s.option_idx
    assert np.all(np.diff(keys) > 0)
    assert len(s) == 12


# --- vectorised == scalar on random rounds -------------------------------------------------------


def check_screen_equals_scalar(rnd: Round) -> None:
    s = screen(rnd)
    ctx = RoundContext.build(rnd)
    got = list(zip(s.youth_idx.tolist(), s.option_idx.tolist(), strict=True))
    expected = []
    for i, y in enumerate(rnd.youths):
        counts = dict.fromkeys(RULE_NAMES, 0)
        eligible = 0
        for j, o in enumerate(rnd.options):
            reasons = explain_pair(rnd, y.code, o.code)
            assert reasons == pair_reasons(ctx, y, o)
            for r in reasons:
                counts[r.rule] += 1
            if not reasons:
                expected.append((i, j))
                eligible += 1
        assert failure_counts(rnd, y.code) == {**counts, "eligible": eligible}
    assert got == expected  # same pairs, sorted by (youth, option)
    for k, (i, j) in enumerate(got):
        y, o = rnd.youths[i], rnd.options[j]
        a = affordability(rnd.policy, y, ctx.types[o.type_code], o, rnd.move_in)
        assert s.net_rent[k] == a.net_rent
        assert s.toeslag[k] == a.toeslag
        d = min_anchor_distance(y, o.x, o.y)
        assert (np.isnan(d) and np.isnan(s.distance_m[k])) or s.distance_m[k] == d
    for j, o in enumerate(rnd.options):
        c = contingent_of(ctx, o)
        assert s.option_contingent[j] == (-1 if c is None else c)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=6, max_options=8))
def test_screen_equals_scalar_rules(rnd: Round) -> None:
    check_screen_equals_scalar(rnd)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=8, max_options=10, shared=False, contingents=False))
def test_screen_equals_scalar_rules_in_tiny_chunks(rnd: Round) -> None:
    # Chunks of a few pairs exercise every chunk boundary of both candidate paths.
    with mock.patch.object(search, "CHUNK_PAIRS", 3):
        clear_cache()
        check_screen_equals_scalar(rnd)


def test_screen_equals_scalar_rules_on_a_generated_region() -> None:
    from fixtures.generate import generate_region, to_round

    rnd = to_round(generate_region(40, 120, seed=7))
    check_screen_equals_scalar(rnd)
    # Without search radius every youth takes the per-type path.
    from dataclasses import replace

    wide = replace(rnd, youths=tuple(replace(y, max_distance_m=None) for y in rnd.youths))
    check_screen_equals_scalar(wide)
    assert len(screen(wide)) >= len(screen(rnd))


def test_many_youths_with_radius_over_a_grid_of_options() -> None:
    # Enough anchors and options for several grid rows and chunks; compared with the scalar rules.
    rng = np.random.default_rng(3)
    options = [
        make_option(
            f"O-{k}", x=X0 + float(rng.integers(0, 40)) * 50, y=Y0 + float(rng.integers(0, 40)) * 50
        )
        for k in range(150)
    ]
    youths = [
        make_youth(
            f"J-{k}",
            anchors=tuple(
                Anchor(
                    f"a{i}",
                    X0 + float(rng.integers(0, 40)) * 50,
                    Y0 + float(rng.integers(0, 40)) * 50,
                )
                for i in range(int(rng.integers(1, 4)))
            ),
            max_distance_m=float(rng.choice([100.0, 250.0, 500.0])),
        )
        for k in range(40)
    ]
    rnd = make_round(youths, options, types=(make_type("urgentie"),))
    with mock.patch.object(search, "CHUNK_PAIRS", 50):
        check_screen_equals_scalar(rnd)
    assert len(screen(rnd)) > 100


def test_no_go_polygon_square_grid_boundaries() -> None:
    # Options on every grid point of a 5 x 5 block against a 200 m square: 9 inside or on edge.
    square = box(X0 + 100, Y0 + 100, X0 + 300, Y0 + 300)
    options = [
        make_option(f"O-{i}-{j}", x=X0 + 100 * i, y=Y0 + 100 * j)
        for i in range(5)
        for j in range(5)
    ]
    rnd = make_round([make_youth("J-1", no_go_polygons=(square,))], options)
    assert len(eligible_pairs(rnd)) == 25 - 9


coordinate = st.floats(0, 3000, allow_nan=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=25),
    st.lists(
        st.tuples(
            st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=3),
            st.floats(0.5, 4000, allow_nan=False),
        ),
        min_size=1,
        max_size=8,
    ),
    st.integers(1, 40),
)
def test_radius_grid_finds_exactly_the_options_within_reach(
    points: list[tuple[float, float]],
    searches: list[tuple[list[tuple[float, float]], float]],
    chunk: int,
) -> None:
    """Off-grid coordinates and radii: the grid scan loses no pair and invents none."""
    options = [make_option(f"O-{k}", x=X0 + x, y=Y0 + y) for k, (x, y) in enumerate(points)]
    youths = [
        make_youth(
            f"J-{k}",
            anchors=tuple(Anchor(f"a{i}", X0 + x, Y0 + y) for i, (x, y) in enumerate(anchors)),
            max_distance_m=radius,
        )
        for k, (anchors, radius) in enumerate(searches)
    ]
    rnd = make_round(youths, options, types=(make_type("urgentie"),))
    with mock.patch.object(search, "CHUNK_PAIRS", chunk):
        got = eligible_pairs(rnd)
    expected = {
        (y.code, o.code)
        for y in youths
        for o in options
        if min_anchor_distance(y, o.x, o.y) <= (y.max_distance_m or 0.0)
    }
    assert got == expected


@given(
    st.lists(st.integers(-5, 40), max_size=30),
    st.lists(st.integers(-5, 40), max_size=12),
)
def test_in_sorted_is_isin_for_sorted_keys(values: list[int], keys: list[int]) -> None:
    """The binary-search membership the no-go and forbidden-pair rules use equals np.isin."""
    v = np.array(values, dtype=np.int64)
    k = np.unique(np.array(keys, dtype=np.int64))
    assert in_sorted(v, k).tolist() == np.isin(v, k).tolist()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_failure_figures_with_known_eligible_counts_are_the_same(rnd: Round) -> None:
    """Told each youth's eligible count, ``failure_figures`` counts the type rules per housing
    type: the same figures as counting every option."""
    codes = [y.code for y in rnd.youths]
    full = failure_figures(rnd, codes)
    eligible = np.array([full[c]["eligible"] for c in codes], dtype=np.int64)
    assert failure_figures(rnd, codes, eligible) == full
