"""Suggestions: eligible options ranked as the objective ranks them, misses with reasons, and
counterfactuals that open exactly the options they list (checked by brute force with the scalar
rules on a round with the changed youth)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from shapely.geometry import box

from matcher.policy_table import default_policies, policy_at
from matcher.problem import Anchor, Option, Round, Youth
from matcher.rules import RoundContext, min_anchor_distance, pair_reasons, screen
from matcher.scoring import pair_values
from matcher.suggest import REACH_FACTOR, OptionIndex, Suggestions, build_index, suggest
from matcher.verifier import verify
from tests.matcher.strategies import X0, Y0, make_option, make_round, make_youth, rounds

POLICIES = default_policies()


def index_of(rnd: Round) -> OptionIndex:
    return build_index(rnd.options, rnd.types, rnd.contingents, POLICIES, rnd.move_in)


def alone(rnd: Round, youth: Youth, day: date | None = None) -> Round:
    """``rnd`` with only ``youth``, on ``day`` (default the round's move-in), no pairs fixed."""
    day = day or rnd.move_in
    return Round(
        month=day,
        move_in=day,
        types=rnd.types,
        options=rnd.options,
        youths=(youth,),
        contingents=rnd.contingents,
        policy=policy_at(day),
        seed=0,
    )


def failing(rnd: Round, youth: Youth, day: date | None = None) -> dict[str, list[str]]:
    """Brute force: the failing rule names per option code (scalar rules)."""
    r = alone(rnd, youth, day)
    ctx = RoundContext.build(r)
    return {o.code: [x.rule for x in pair_reasons(ctx, youth, o)] for o in r.options}


def eligible(rnd: Round, youth: Youth, day: date | None = None) -> set[str]:
    return {code for code, rules in failing(rnd, youth, day).items() if not rules}


def changed_youth(youth: Youth, kind: str, cf_value: float | None, type_code: str | None) -> Youth:
    if kind == "max_rent":
        assert cf_value is not None
        return replace(youth, max_rent=cf_value)
    if kind == "income":
        assert cf_value is not None
        return replace(youth, income=cf_value)
    if kind == "search_radius":
        return replace(youth, max_distance_m=cf_value)
    if kind == "accept_type":
        assert type_code is not None
        return replace(youth, accepted_types=(*youth.accepted_types, type_code))
    return youth


def check_against_brute_force(rnd: Round, youth: Youth, got: Suggestions) -> None:
    fails = failing(rnd, youth)
    now = {c for c, rules in fails.items() if not rules}
    assert got.eligible == len(now)

    # Suggestions: the k best eligible pairs by the objective's value, then option code.
    r = alone(rnd, youth)
    scr = screen(r)
    values = pair_values(r, scr)
    ranked = sorted(
        (
            (int(v), r.options[int(o)].code)
            for v, o in zip(values.value, scr.option_idx, strict=True)
        ),
        key=lambda p: (-p[0], p[1]),
    )
    assert {c for _, c in ranked} == now
    assert [s.option.code for s in got.suggestions] == [
        c for _, c in ranked[: len(got.suggestions)]
    ]
    assert len(got.suggestions) == min(len(now), 10)
    by_code = dict((c, v) for v, c in ranked)
    for s in got.suggestions:
        assert s.score.value == by_code[s.option.code]
        # every suggested option passes the verifier's pair rules
        bad = [v for v in verify(r, {youth.code: s.option.code}) if v.kind == "ineligible"]
        assert bad == []

    # Misses: exactly the options failing one or two rules, none of them no-go.
    # Misses lie within reach (REACH_FACTOR search radii of an anchor) for a youth with a radius.
    options = {o.code: o for o in rnd.options}
    limited = youth.max_distance_m is not None and youth.anchors

    def in_reach(code: str) -> bool:
        o = options[code]
        assert youth.max_distance_m is not None
        return min_anchor_distance(youth, o.x, o.y) <= REACH_FACTOR * youth.max_distance_m

    expected_misses = {
        c
        for c, rules in fails.items()
        if 1 <= len(rules) <= 2 and "no_go" not in rules and (not limited or in_reach(c))
    }
    assert {m.option.code for m in got.misses} == expected_misses
    for m in got.misses:
        assert [x.rule for x in m.reasons] == fails[m.option.code]

    # No-go: counted, never in a suggestion, miss or counterfactual.
    in_no_go = {c for c, rules in fails.items() if "no_go" in rules}
    assert got.no_go.options == len(in_no_go)
    assert got.no_go.otherwise_eligible == sum(1 for c in in_no_go if fails[c] == ["no_go"])

    for cf in got.counterfactuals:
        event(f"counterfactual {cf.kind}")
        assert not set(cf.opens) & in_no_go
        if cf.kind == "preferred_area":
            assert cf.opens == () and cf.better_ranked > 0
            continue
        if cf.kind == "wait":
            assert cf.until is not None and cf.until > rnd.move_in
            later = eligible(rnd, youth, cf.until)
            assert set(cf.opens) == later - now
            assert set(cf.closes) == now - later
            continue
        after = eligible(rnd, changed_youth(youth, cf.kind, cf.new_value, cf.type_code))
        assert set(cf.opens) == after - now, cf
        assert cf.closes == () and now <= after
        assert cf.opens


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=4, max_options=10, forbidden=False))
def test_suggestions_agree_with_the_scalar_rules_and_the_objective(rnd: Round) -> None:
    index = index_of(rnd)
    for drawn in rnd.youths:
        # Also a tighter variant of each youth, so every kind of counterfactual comes up.
        tight = replace(
            drawn,
            accepted_types=drawn.accepted_types[:1],
            max_rent=drawn.max_rent or 300.0,
            max_distance_m=100.0 if drawn.anchors else None,
        )
        for youth in (drawn, tight):
            got = suggest(index, youth, rnd.move_in, k=10, n_misses=1000)
            check_against_brute_force(rnd, youth, got)
            assert suggest(index, youth, rnd.move_in, k=10, n_misses=1000, use_index=False) == got


# ---------------------------------------------------------------------------------------------
# Constructed cases


def rents(*totals: float) -> list[Option]:
    return [
        make_option(f"O-{k}", kale_huur=t, servicekosten=0.0, x=X0 + 100 * k)
        for k, t in enumerate(totals)
    ]


def test_raising_max_rent_by_exactly_the_amount_opens_exactly_the_listed_options() -> None:
    # A 24-year-old (no young-tenant limit in 2026) with a personal maximum of 470.
    youth = make_youth("J-1", birth_date=date(2001, 6, 1), income=3000.0, max_rent=470.0)
    rnd = make_round([youth], rents(400.0, 480.01, 480.01, 495.5, 520.0, 530.0, 540.0, 560.0))
    got = suggest(index_of(rnd), youth, rnd.move_in)
    steps = [cf for cf in got.counterfactuals if cf.kind == "max_rent"]
    assert [(cf.amount, cf.opens) for cf in steps] == [
        (10.01, ("O-1", "O-2")),
        (60.0, ("O-1", "O-2", "O-3", "O-4", "O-5")),
    ]
    now = eligible(rnd, youth)
    assert now == {"O-0"}
    for cf in steps:
        assert cf.amount is not None
        raised = eligible(rnd, replace(youth, max_rent=470.0 + cf.amount))
        assert raised - now == set(cf.opens)
        # a cent less opens fewer
        lower = eligible(rnd, replace(youth, max_rent=470.0 + cf.amount - 0.01))
        assert len(lower - now) < len(cf.opens)
    assert "€ 10,01" in steps[0].message and "2 woningen" in steps[0].message


def test_income_counterfactual_names_the_income_that_opens_options() -> None:
    youth = make_youth("J-1", birth_date=date(2004, 6, 1), income=1000.0)  # 35 %: 350 net
    rnd = make_round(
        [youth],
        [make_option("O-0", type_code="kma", kale_huur=360.0, servicekosten=0.0)],
    )
    got = suggest(index_of(rnd), youth, rnd.move_in)
    (cf,) = [c for c in got.counterfactuals if c.kind == "income"]
    assert cf.opens == ("O-0",)
    assert cf.new_value is not None and cf.amount is not None
    assert eligible(rnd, replace(youth, income=cf.new_value)) == {"O-0"}
    assert eligible(rnd, replace(youth, income=cf.new_value - 0.01)) == set()


def test_accepting_another_type_and_no_go_never_relaxed() -> None:
    youth = make_youth(
        "J-1",
        accepted_types=("urgentie",),
        no_go_polygons=(box(X0 - 50, Y0 - 50, X0 + 50, Y0 + 50),),
    )
    options = [
        make_option("O-in-no-go"),  # at (X0, Y0): inside the polygon, otherwise fine
        make_option("O-kma-1", type_code="kma", x=X0 + 500),
        make_option("O-kma-2", type_code="kma", x=X0 + 600),
        make_option("O-kma-no-go", type_code="kma"),  # kma and in the polygon
        make_option("O-free", x=X0 + 900),
    ]
    rnd = make_round([youth], options)
    got = suggest(index_of(rnd), youth, rnd.move_in)
    assert [s.option.code for s in got.suggestions] == ["O-free"]
    (cf,) = [c for c in got.counterfactuals if c.kind == "accept_type"]
    assert cf.type_code == "kma" and cf.opens == ("O-kma-1", "O-kma-2")
    assert "Kamers met Aandacht" in cf.message
    assert got.no_go.options == 2 and got.no_go.otherwise_eligible == 1
    assert got.no_go.message.startswith("1 woning die verder past")
    assert all("no-go" not in m.option.code for m in got.misses)


def test_waiting_until_the_18th_birthday_opens_an_urgentiewoning() -> None:
    youth = make_youth("J-1", birth_date=date(2008, 3, 15), income=1200.0)  # 17 on 2026-01-01
    options = [
        make_option("O-urg", kale_huur=400.0, servicekosten=0.0),
        make_option("O-later", kale_huur=400.0, servicekosten=0.0, available_from=date(2026, 2, 1)),
    ]
    rnd = make_round([youth], options)
    got = suggest(index_of(rnd), youth, rnd.move_in)
    waits = [c for c in got.counterfactuals if c.kind == "wait"]
    assert [c.until for c in waits] == [date(2026, 3, 15)]
    assert waits[0].opens == ("O-later", "O-urg")
    assert "15-3-2026" in waits[0].message
    misses = {m.option.code: [r.rule for r in m.reasons] for m in got.misses}
    assert misses == {
        "O-urg": ["age", "minor_contract"],
        "O-later": ["age", "minor_contract"],
    } or misses == {"O-urg": ["age", "minor_contract"]}


def test_ageing_out_is_reported_as_closing() -> None:
    youth = make_youth("J-1", birth_date=date(2002, 1, 20), income=3000.0)  # 23, 24 on 20 Jan
    rnd = make_round([youth], [make_option("O-kma", type_code="kma", kale_huur=300.0)])
    got = suggest(index_of(rnd), youth, rnd.move_in)
    assert [s.option.code for s in got.suggestions] == ["O-kma"]
    # Nothing opens by waiting, so no wait counterfactual even though the kma closes on 20 Jan
    assert [c for c in got.counterfactuals if c.kind == "wait"] == []
    later = (*rnd.options, make_option("O-soon", kale_huur=300.0, available_from=date(2026, 1, 20)))
    rnd2 = make_round([youth], later)
    got2 = suggest(index_of(rnd2), youth, rnd2.move_in)
    (cf,) = [c for c in got2.counterfactuals if c.kind == "wait"]
    assert cf.until == date(2026, 1, 20) and cf.opens == ("O-soon",) and cf.closes == ("O-kma",)
    assert "1 vallen dan af" in cf.message


def test_search_radius_in_whole_hundreds_of_metres() -> None:
    youth = make_youth("J-1", anchors=(Anchor("school", X0, Y0),), max_distance_m=1000.0)
    options = [make_option(f"O-{d}", x=X0 + d) for d in (500, 1050, 1250, 3000, 3100)]
    rnd = make_round([youth], options)
    got = suggest(index_of(rnd), youth, rnd.move_in)
    steps = [c for c in got.counterfactuals if c.kind == "search_radius"]
    assert [(c.new_value, c.opens) for c in steps] == [(1100.0, ("O-1050",))]
    # misses within reach (three radii) only: 3100 m is out of reach
    assert sorted(m.option.code for m in got.misses) == ["O-1050", "O-1250", "O-3000"]
    (s,) = got.suggestions
    assert s.score.distance_per_anchor_m == {"school": 500.0}


def test_score_breakdown_rent_and_contingent_of_a_suggestion() -> None:
    youth = make_youth(
        "J-1", birth_date=date(2001, 6, 1), income=1500.0, preferred_areas=("GM0828",)
    )
    options = [
        make_option("O-1", kale_huur=600.0, servicekosten=30.0),
        make_option("O-2", gemeente_code="GM0828", wijk_code=None, buurt_code=None),
    ]
    rnd = make_round([youth], options)
    got = suggest(index_of(rnd), youth, rnd.move_in, k=1)
    (s,) = got.suggestions
    assert s.option.code == "O-2"  # the preferred gemeente wins
    assert s.score.matched_area == "GM0828" and s.score.area_points > 0
    assert s.contingent is not None and s.contingent.corporation == "WC-A"
    assert s.contingent.gemeente_code == "GM0828" and s.contingent.left == 100
    assert s.score.rent_share_of_income == pytest.approx(s.score.net_rent / 1500.0)
    assert s.score.toeslag > 0 and s.score.net_rent < 470.0
    area = [c for c in got.counterfactuals if c.kind == "preferred_area"]
    assert [(c.area_code, c.better_ranked) for c in area] == [("GM0796", 1)]


def test_k_zero_and_negative_k() -> None:
    youth = make_youth("J-1")
    rnd = make_round([youth], [make_option("O-1")])
    index = index_of(rnd)
    assert suggest(index, youth, rnd.move_in, k=0).suggestions == ()
    with pytest.raises(ValueError):
        suggest(index, youth, rnd.move_in, k=-1)


def test_policy_missing_on_the_day_is_an_error() -> None:
    youth = make_youth("J-1")
    rnd = make_round([youth], [make_option("O-1")])
    with pytest.raises(LookupError):
        suggest(index_of(rnd), youth, date(2019, 1, 1))


def test_empty_index() -> None:
    youth = make_youth("J-1")
    rnd = make_round([youth], [])
    got = suggest(index_of(rnd), youth, rnd.move_in)
    assert got.eligible == 0 and got.suggestions == () and got.counterfactuals == ()
    assert np.isfinite(got.options) and got.options == 0
