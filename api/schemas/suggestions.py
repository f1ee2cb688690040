"""Response schemas of suggestions and proposal explanations, one per audience, and the
functions that build them from the matcher's answers.

* the own regisseur: ``SuggestionsOut`` (the only schema with the youth's own figures: income
  share, search radius, the distance to every anchor);
* gemeente and admin (who shares the gemeente's view, docs/decisions.md 9 and 25):
  ``RoundExplanationsOut``, ``FairnessOut`` (admin) / ``FairnessForGemeenteOut``,
  ``PairForGemeenteOut`` (the option's side of the figures only);
* corporatie: ``FairnessForCorporationOut`` and ``PairForCorporationOut`` (no youth figures, no
  no-go information).

Kept apart from the router so the service (``api.services.suggestions``) builds its answers
without importing the web layer.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from pydantic import BaseModel

from matcher.explain import FairnessReport, PairExplanation, UnmatchedExplanation
from matcher.problem import Option
from matcher.result import Result
from matcher.scoring import PairScore
from matcher.suggest import Counterfactual, Suggestions
from store import models as m

LISTED = 25  # option codes listed per counterfactual (the count is always complete)
ENVY_LISTED = 500  # envy pairs listed (the counts are always complete)


# ---------------------------------------------------------------------------------------------
# Regisseur: suggestions


class ReasonOut(BaseModel):
    rule: str
    code: str
    message: str
    figures: dict[str, float | int | str]


class AnchorDistanceOut(BaseModel):
    label: str
    metres: float


class ScoreOut(BaseModel):
    value: int
    urgency_weight: int
    urgency_level_points: int
    care_end_points: int
    waiting_points: int
    area_points: int
    matched_area: str | None
    matched_area_rank: int | None
    type_points: int
    type_rank: int | None
    distance_points: int
    distances: list[AnchorDistanceOut]
    nearest_anchor_m: float | None
    rent_points: int
    net_rent: float
    toeslag: float
    rent_share_of_income: float | None
    tie_break: int


class ContingentOut(BaseModel):
    corporation: str
    gemeente_code: str
    year: int
    type_code: str | None
    amount: int
    used: int
    left: int


class OptionOut(BaseModel):
    code: str
    type_code: str
    housing_type_name: str
    corporation: str | None
    gemeente_code: str
    wijk_code: str | None
    buurt_code: str | None
    x: float  # RD New
    y: float
    kale_huur: float
    servicekosten: float
    capacity: int
    shared_house_id: str | None
    available_from: date


class SuggestionOut(BaseModel):
    option: OptionOut
    score: ScoreOut
    contingent: ContingentOut | None


class MissOut(BaseModel):
    option: OptionOut
    reasons: list[ReasonOut]


class CounterfactualOut(BaseModel):
    kind: str
    message: str
    amount: float | None
    new_value: float | None
    type_code: str | None
    area_code: str | None
    until: date | None
    opens_count: int
    opens: list[str]  # the first LISTED option codes
    closes_count: int
    closes: list[str]
    better_ranked: int


class NoGoOut(BaseModel):
    options: int
    otherwise_eligible: int
    message: str


class SuggestionsOut(BaseModel):
    """For the youth's own regisseur only: it contains the youth's figures (income share, the
    distance to every anchor, from which the anchors follow)."""

    youth_id: int
    youth_code: str
    on: date
    policy_valid_from: date
    options: int
    eligible: int
    suggestions: list[SuggestionOut]
    misses: list[MissOut]
    counterfactuals: list[CounterfactualOut]
    no_go: NoGoOut


def _option(o: Option, type_name: str) -> OptionOut:
    return OptionOut.model_validate({**asdict(o), "housing_type_name": type_name})


def _counterfactual(c: Counterfactual) -> CounterfactualOut:
    return CounterfactualOut.model_validate(
        {
            **asdict(c),
            "opens_count": len(c.opens),
            "opens": c.opens[:LISTED],
            "closes_count": len(c.closes),
            "closes": c.closes[:LISTED],
        }
    )


def _score(s: PairScore) -> ScoreOut:
    distances = [{"label": k, "metres": round(d, 1)} for k, d in s.distance_per_anchor_m.items()]
    return ScoreOut.model_validate({**s.as_dict(), "distances": distances})


def suggestions_out(youth_id: int, found: Suggestions) -> SuggestionsOut:
    """The regisseur's view of ``matcher.suggest.suggest``'s answer."""
    return SuggestionsOut(
        youth_id=youth_id,
        youth_code=found.youth,
        on=found.on,
        policy_valid_from=found.policy_valid_from,
        options=found.options,
        eligible=found.eligible,
        suggestions=[
            SuggestionOut(
                option=_option(x.option, x.type_name),
                score=_score(x.score),
                contingent=None
                if x.contingent is None
                else ContingentOut.model_validate(x.contingent, from_attributes=True),
            )
            for x in found.suggestions
        ],
        misses=[
            MissOut(
                option=_option(x.option, x.type_name),
                reasons=[ReasonOut.model_validate(r, from_attributes=True) for r in x.reasons],
            )
            for x in found.misses
        ],
        counterfactuals=[_counterfactual(c) for c in found.counterfactuals],
        no_go=NoGoOut.model_validate(found.no_go, from_attributes=True),
    )


# ---------------------------------------------------------------------------------------------
# Reviewers: explanations, fairness, pairs


class UnmatchedOut(BaseModel):
    youth: str  # code
    reason: str
    sentence: str
    counts: dict[str, int]


class RoundExplanationsOut(BaseModel):
    round_id: int
    version: int
    status: str
    gap: float
    housed: int
    unmatched: list[UnmatchedOut]


class EnvyPairOut(BaseModel):
    youth: str  # code of the youth who envies
    youth_urgency: int
    option: str
    corporation: str | None
    gemeente_code: str
    occupant: str  # code of the occupant with the lowest urgency weight
    occupant_urgency: int
    preference_here: int
    preference_own: int | None


class FairnessOut(BaseModel):
    """For gemeente and admin."""

    round_id: int
    version: int
    count: int
    per_corporation: dict[str, int]
    per_gemeente: dict[str, int]
    message: str
    pairs: list[EnvyPairOut]  # the first ENVY_LISTED
    truncated: bool


class FairnessForGemeenteOut(BaseModel):
    """For a gemeente: pairs on options in its gemeente, listed only when both youths are its
    own; pairs involving a youth of another gemeente are only counted."""

    round_id: int
    version: int
    count: int  # all pairs on options in the gemeente, listed or not
    per_corporation: dict[str, int]
    per_gemeente: dict[str, int]
    message: str
    own_pairs: list[EnvyPairOut]  # the first ENVY_LISTED with both youths of the gemeente
    other_pairs: int  # pairs with a youth of another gemeente (not identified)
    truncated: bool


class FairnessForCorporationOut(BaseModel):
    """For a corporation: counts on its own options only, no youths."""

    round_id: int
    version: int
    count: int
    per_option: dict[str, int]
    message: str


class RuleFiguresOut(BaseModel):
    rule: str
    figures: dict[str, float | int | str]  # option-side figures only


class PairForGemeenteOut(BaseModel):
    """For the gemeente of the youth, and for admin (the gemeente's view for all gemeenten):
    failing rules with the option's side of the figures only (no income, support need, age,
    search radius, distances or no-go areas; no messages, no pair values), search radius and
    no-go area as one rule ``location``; occupants of other gemeenten only counted."""

    round_id: int
    version: int
    youth: str
    option: str
    status: str
    rules: list[RuleFiguresOut]
    occupants: list[str]  # occupants of the gemeente's own
    other_occupants: int
    youth_option: str | None


class PairForCorporationOut(BaseModel):
    """For a corporation (only for a youth matched to its option in the round): outcome and
    housing-side rule names only (availability, contingent); nothing derived from the youth's
    income, support need, age, search radius or no-go areas."""

    round_id: int
    version: int
    youth: str
    option: str
    status: str
    failing_rules: list[str]
    occupants: list[str]


def explanations_out(
    round_id: int, proposal: m.Proposal, result: Result, items: list[UnmatchedExplanation]
) -> RoundExplanationsOut:
    return RoundExplanationsOut(
        round_id=round_id,
        version=proposal.version,
        status=result.status,
        gap=result.gap,
        housed=result.housed,
        unmatched=[UnmatchedOut.model_validate(e, from_attributes=True) for e in items],
    )


def fairness_out(round_id: int, proposal: m.Proposal, report: FairnessReport) -> FairnessOut:
    return FairnessOut(
        round_id=round_id,
        version=proposal.version,
        count=len(report.pairs),
        per_corporation=report.per_corporation,
        per_gemeente=report.per_gemeente,
        message=report.message,
        pairs=[
            EnvyPairOut.model_validate(p, from_attributes=True) for p in report.pairs[:ENVY_LISTED]
        ],
        truncated=len(report.pairs) > ENVY_LISTED,
    )


def fairness_for_gemeente_out(
    round_id: int, proposal: m.Proposal, report: FairnessReport, own_youths: set[str]
) -> FairnessForGemeenteOut:
    own = [p for p in report.pairs if p.youth in own_youths and p.occupant in own_youths]
    return FairnessForGemeenteOut(
        round_id=round_id,
        version=proposal.version,
        count=len(report.pairs),
        per_corporation=report.per_corporation,
        per_gemeente=report.per_gemeente,
        message=report.message,
        own_pairs=[EnvyPairOut.model_validate(p, from_attributes=True) for p in own[:ENVY_LISTED]],
        other_pairs=len(report.pairs) - len(own),
        truncated=len(own) > ENVY_LISTED,
    )


def fairness_for_corporation_out(
    round_id: int, proposal: m.Proposal, report: FairnessReport
) -> FairnessForCorporationOut:
    per_option: dict[str, int] = {}
    for p in report.pairs:
        per_option[p.option] = per_option.get(p.option, 0) + 1
    return FairnessForCorporationOut(
        round_id=round_id,
        version=proposal.version,
        count=len(report.pairs),
        per_option=dict(sorted(per_option.items())),
        message=report.message,
    )


# Per rule the figures that describe the option (or the round), never the youth. Rules not
# listed here are left out for the gemeente; their figures are about the youth.
OPTION_FIGURES: dict[str, tuple[str, ...]] = {
    "type_accepted": ("type",),
    "support_level": ("support_min", "support_max"),
    "age": ("min_age", "max_age", "move_in"),
    "minor_contract": ("adult_age", "type"),
    "affordability": ("kale_huur", "servicekosten", "policy_year"),
    "available": ("available_from", "move_in", "capacity"),
    "contingent_exists": ("corporation", "gemeente", "year", "type"),
    "forbidden_pair": ("option",),
}
# Rules about where the youth's life is (search radius around the anchors, no-go areas): one
# rule ``location`` without figures, so neither is told apart (the no-go rule alone is hidden).
LOCATION_RULES = frozenset({"distance", "no_go"})
LOCATION = "location"
# The rules a corporation may see: facts of its own option, nothing about the youth.
HOUSING_RULES = frozenset({"available", "contingent_exists"})


def pair_for_gemeente_out(
    round_id: int, proposal: m.Proposal, e: PairExplanation, own_youths: set[str]
) -> PairForGemeenteOut:
    rules: list[RuleFiguresOut] = []
    for r in e.reasons:
        if r.rule in LOCATION_RULES:
            if all(x.rule != LOCATION for x in rules):
                rules.append(RuleFiguresOut(rule=LOCATION, figures={}))
        elif r.rule in OPTION_FIGURES:
            keep = OPTION_FIGURES[r.rule]
            figures = {k: v for k, v in r.figures.items() if k in keep}
            rules.append(RuleFiguresOut(rule=r.rule, figures=figures))
    own = [y for y in e.occupants if y in own_youths]
    return PairForGemeenteOut(
        round_id=round_id,
        version=proposal.version,
        youth=e.youth,
        option=e.option,
        status=e.status,
        rules=rules,
        occupants=own,
        other_occupants=len(e.occupants) - len(own),
        youth_option=e.youth_option,
    )


def pair_for_corporation_out(
    round_id: int, proposal: m.Proposal, e: PairExplanation
) -> PairForCorporationOut:
    rules = sorted({r.rule for r in e.reasons if r.rule in HOUSING_RULES})
    return PairForCorporationOut(
        round_id=round_id,
        version=proposal.version,
        youth=e.youth,
        option=e.option,
        status=e.status,
        failing_rules=rules,
        occupants=list(e.occupants),
    )
