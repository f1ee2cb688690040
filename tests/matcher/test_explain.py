"""Explanations of a proposal: unmatched sentences, pair why-not, and the fairness report."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, event, given, settings

from matcher.explain import (
    NO_CORPORATION,
    explain_unmatched,
    fairness,
    restrict,
    result_from_dict,
    why_not,
)
from matcher.policy import affordability
from matcher.problem import Contingent, Round
from matcher.result import PairResult, Result, Unmatched
from matcher.rules import RoundContext, pair_reasons
from matcher.scoring import score_breakdown
from matcher.solve import solve
from tests.matcher.strategies import make_option, make_round, make_youth, rounds


def result_of(rnd: Round, assignment: dict[str, str], **kw: object) -> Result:
    """A hand-made result with true pair values (as the solver would report them)."""
    ctx = RoundContext.build(rnd)
    scores = {}
    for y, o in assignment.items():
        youth = rnd.youths[ctx.youth_index[y]]
        option = rnd.options[ctx.option_index[o]]
        aff = affordability(rnd.policy, youth, ctx.type_of(option), option, rnd.move_in)
        s = score_breakdown(rnd, youth, option, aff.net_rent, aff.toeslag)
        scores[y] = PairResult(
            o, s.value, s.urgency_weight, s.area_points, s.type_points, s.distance_points,
            s.rent_points, s.tie_break, s.net_rent, s.toeslag, s.nearest_anchor_m,
        )  # fmt: skip
    values: dict[str, object] = {
        "status": "optimal",
        "objective": sum(s.value for s in scores.values()),
        "bound": sum(s.value for s in scores.values()),
        "gap": 0.0,
        "assignment": assignment,
        "scores": scores,
        "unmatched": {},
        "contingent_use": {},
        "contingent_use_detail": {},
        "seed": rnd.seed,
        "youths": len(rnd.youths),
        "options": len(rnd.options),
        "pairs": 0,
        "method": "hand",
        "flow_bound": 0,
    }
    values.update(kw)
    return Result(**values)  # type: ignore[arg-type]


def envy_round() -> Round:
    """J-high (urgency 5) prefers O-near (her preferred gemeente) but only J-low (urgency 1)
    fits there; the allocation puts J-low in O-near and J-high in O-far."""
    high = make_youth("J-high", urgency=5, preferred_areas=("GM0828",))
    low = make_youth("J-low", urgency=1, accepted_types=("urgentie",))
    near = make_option("O-near", gemeente_code="GM0828", wijk_code=None, buurt_code=None)
    far = make_option("O-far", type_code="kma", corporation="WC-B", kale_huur=300.0)
    return make_round([high, low], [near, far])


def test_fairness_counts_a_constructed_justified_envy_pair() -> None:
    rnd = envy_round()
    report = fairness(rnd, result_of(rnd, {"J-low": "O-near", "J-high": "O-far"}))
    assert [(p.youth, p.option, p.occupant) for p in report.pairs] == [
        ("J-high", "O-near", "J-low")
    ]
    (pair,) = report.pairs
    assert pair.youth_urgency > pair.occupant_urgency
    assert pair.preference_own is not None and pair.preference_here > pair.preference_own
    assert report.per_corporation == {"WC-A": 1}
    assert report.per_gemeente == {"GM0828": 1}
    assert report.message.startswith("1 paar met gerechtvaardigde afgunst (1 jongere)")
    # Restricted to another corporation's options: none, and it says so.
    other = restrict(report, lambda p: p.corporation == "WC-B")
    assert other.pairs == () and other.per_corporation == {}
    assert other.message.startswith("Geen gerechtvaardigde afgunst")


def test_fairness_none_when_the_urgent_youth_gets_her_first_choice() -> None:
    rnd = envy_round()
    report = fairness(rnd, result_of(rnd, {"J-high": "O-near"}))
    # J-low envies O-near but J-high has the higher urgency: not justified.
    assert report.pairs == () and report.per_gemeente == {}
    assert "Geen gerechtvaardigde afgunst" in report.message


def test_fairness_unmatched_youth_envies_any_option_of_lower_urgency() -> None:
    a = make_youth("J-a", urgency=4)
    b = make_youth("J-b", urgency=2)
    rnd = make_round(
        [a, b], [make_option("O-1", corporation=None, gemeente_code="GM1948", wijk_code=None,
                             buurt_code=None)],
    )  # fmt: skip
    report = fairness(rnd, result_of(rnd, {"J-b": "O-1"}))
    assert [(p.youth, p.preference_own) for p in report.pairs] == [("J-a", None)]
    assert report.per_corporation == {NO_CORPORATION: 1}


def brute_force_envy(rnd: Round, result: Result) -> set[tuple[str, str]]:
    ctx = RoundContext.build(rnd)
    youths = {y.code: y for y in rnd.youths}
    options = {o.code: o for o in rnd.options}

    def score(y: str, o: str) -> tuple[int, int]:
        youth, option = youths[y], options[o]
        aff = affordability(rnd.policy, youth, ctx.type_of(option), option, rnd.move_in)
        s = score_breakdown(rnd, youth, option, aff.net_rent, aff.toeslag, seed=result.seed)
        pref = s.area_points + s.type_points + s.distance_points + s.rent_points
        return pref, s.urgency_weight

    out = set()
    for y in youths:
        own = result.assignment.get(y)
        if own is not None and pair_reasons(ctx, youths[y], options[own]):
            continue  # a fixed ineligible pair: not compared
        for o in options:
            occupants = [z for z, p in result.assignment.items() if p == o]
            if o == own or not occupants or pair_reasons(ctx, youths[y], options[o]):
                continue
            pref, weight = score(y, o)
            if own is not None and pref <= score(y, own)[0]:
                continue
            if any(score(z, o)[1] < weight for z in occupants):
                out.add((y, o))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=5, max_options=5))
def test_fairness_agrees_with_brute_force_on_solved_rounds(rnd: Round) -> None:
    result = solve(rnd, time_limit_s=5)
    report = fairness(rnd, result)
    event(f"envy pairs: {'some' if report.pairs else 'none'}")
    assert {(p.youth, p.option) for p in report.pairs} == brute_force_envy(rnd, result)
    assert sum(report.per_corporation.values()) == len(report.pairs)
    assert sum(report.per_gemeente.values()) == len(report.pairs)
    # every unmatched youth gets a sentence with its counts
    explained = explain_unmatched(result)
    assert [e.youth for e in explained] == sorted(result.unmatched)
    for e in explained:
        assert e.sentence and e.youth in e.sentence
        assert e.counts == dict(sorted(result.unmatched[e.youth].figures.items()))
    # the stored JSON reads back to the same result
    assert result_from_dict(result.as_dict()).as_dict() == result.as_dict()


def test_unmatched_sentences_per_reason() -> None:
    rnd = envy_round()
    figures = {
        "J-1": ("no_eligible_option", {"eligible": 0, "age": 7, "affordability": 9,
                                       "type_accepted": 2, "no_go": 1}),
        "J-2": ("outcompeted", {"eligible": 3, "options_full": 3, "options_to_higher_urgency": 2}),
        "J-3": ("contingent_exhausted", {"eligible": 4, "options_full": 1,
                                         "contingent_exhausted": 3, "gemeente_cap_reached": 0}),
        "J-4": ("house_composition", {"eligible": 2, "house_composition": 2}),
        "J-5": ("not_selected", {"eligible": 1}),
    }  # fmt: skip
    unmatched = {y: Unmatched(y, reason, "", f) for y, (reason, f) in figures.items()}
    result = result_of(rnd, {}, unmatched=unmatched, status="feasible", gap=0.0125)
    text = {e.youth: e.sentence for e in explain_unmatched(result)}
    assert text["J-1"] == (
        "Voor J-1 past geen enkele van de 2 woningen. Woningen vallen vooral af op: "
        "betaalbaarheid (9), leeftijd (7) en woningtype niet geaccepteerd (2) (een woning kan op "
        "meer regels afvallen)."
    )
    assert (
        "3 passende woningen" in text["J-2"]
        and "2 daarvan aan jongeren met een hogere" in text["J-2"]
    )
    assert "bij 3 was het contingent van de corporatie op" in text["J-3"]
    assert "1 waren aan anderen toegewezen" in text["J-3"]
    assert "bij 2 past de jongere niet in de samenstelling" in text["J-4"]
    assert "gap 1,2 %" in text["J-5"] or "gap 1,25 %" in text["J-5"]


def test_why_not_ineligible_lists_the_failing_rules() -> None:
    rnd = envy_round()
    result = result_of(rnd, {"J-low": "O-near", "J-high": "O-far"})
    got = why_not(rnd, result, "J-low", "O-far")
    assert got.status == "ineligible"
    assert [r.rule for r in got.reasons] == ["type_accepted"]
    assert "Kamers met Aandacht" in got.sentence


def test_why_not_taken_by_a_more_urgent_youth() -> None:
    a = make_youth("J-a", urgency=4)
    b = make_youth("J-b", urgency=2)
    rnd = make_round([a, b], [make_option("O-1")])
    result = result_of(rnd, {"J-a": "O-1"})
    got = why_not(rnd, result, "J-b", "O-1")
    assert got.status == "taken" and got.occupant == "J-a"
    assert got.swap_change is not None and got.swap_change < 0
    assert got.value_here is not None and got.occupant_value is not None
    assert got.swap_change == got.value_here - got.occupant_value
    assert "hoger urgentiegewicht" in got.sentence and "houdt J-a geen woning" in got.sentence
    assert why_not(rnd, result, "J-a", "O-1").status == "matched"


def test_why_not_swap_that_would_not_lower_the_objective_says_so() -> None:
    # A worse allocation than optimal: the less urgent youth holds the only option.
    a = make_youth("J-a", urgency=4)
    b = make_youth("J-b", urgency=2)
    rnd = make_round([a, b], [make_option("O-1")])
    result = result_of(rnd, {"J-b": "O-1"}, status="feasible", gap=0.5)
    got = why_not(rnd, result, "J-a", "O-1")
    assert got.swap_change is not None and got.swap_change > 0
    assert "niet bewezen optimaal" in got.sentence


def test_why_not_free_option_with_exhausted_contingent() -> None:
    a = make_youth("J-a")
    b = make_youth("J-b")
    options = [make_option("O-1"), make_option("O-2", x=150_100.0)]
    cont = (Contingent("WC-A", "GM0796", 2026, amount=1),)
    rnd = make_round([a, b], options, contingents=cont, month=date(2026, 1, 1))
    result = result_of(rnd, {"J-a": "O-1"})
    got = why_not(rnd, result, "J-b", "O-2")
    assert got.status == "free"
    assert (
        "contingent van WC-A voor GM0796 is in dit voorstel op (1 van 1 gebruikt)" in got.sentence
    )


def test_why_not_unknown_codes() -> None:
    rnd = envy_round()
    result = result_of(rnd, {})
    for y, o in (("J-x", "O-near"), ("J-high", "O-x")):
        try:
            why_not(rnd, result, y, o)
        except KeyError as exc:
            assert "onbekende" in str(exc)
        else:
            raise AssertionError("expected KeyError")


def test_why_not_option_with_a_place_left_is_free_not_taken() -> None:
    a = make_youth("J-a", urgency=4)
    b = make_youth("J-b", urgency=2)
    c = make_youth("J-c", urgency=1)
    rnd = make_round([a, b, c], [make_option("O-2", capacity=2), make_option("O-x", x=150_100.0)])
    result = result_of(rnd, {"J-a": "O-2", "J-b": "O-x"})
    got = why_not(rnd, result, "J-b", "O-2")
    assert got.status == "free" and got.occupants == ("J-a",)
    assert got.sentence.startswith("O-2 hield 1 plaats(en) vrij")
