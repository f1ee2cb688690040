"""The eligibility rules in scalar form: one function per rule, passing or giving a Dutch reason.

``rule_<name>(ctx, youth, option) -> Reason | None`` for every name in ``RULE_NAMES``, in that
order in ``SCALAR_RULES``. They explain a pair (``explain_pair``, ``pair_reasons``) and the
independent verifier checks proposals with them. ``matcher.rules.arrays`` evaluates the same
rules over arrays of pairs with the same floating-point expressions; the tests check that both
forms agree on random rounds.
"""

from __future__ import annotations

import math

import shapely

from matcher.dutch import km, short_date
from matcher.policy import ADULT_AGE, Reason, affordability
from matcher.problem import Option, Round, Youth
from matcher.rules.context import (
    RULE_NAMES,
    RoundContext,
    contingent_of,
    needs_contingent,
    round_context,
)

__all__ = [
    "SCALAR_RULES",
    "SUPPORT_LABELS",
    "explain_pair",
    "min_anchor_distance",
    "pair_reasons",
    "rule_affordability",
    "rule_age",
    "rule_available",
    "rule_contingent_exists",
    "rule_distance",
    "rule_forbidden_pair",
    "rule_minor_contract",
    "rule_no_go",
    "rule_support_level",
    "rule_type_accepted",
]

SUPPORT_LABELS = {0: "geen", 1: "licht", 2: "regulier", 3: "intensief"}


def rule_type_accepted(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """The option's housing type is among the types accepted for this youth."""
    if option.type_code in youth.accepted_types:
        return None
    t = ctx.type_of(option)
    accepted = ", ".join(youth.accepted_types)
    return Reason(
        "type_accepted",
        "type_not_accepted",
        f"Woningtype {t.name} staat niet bij de geaccepteerde woningtypes van de jongere "
        f"({accepted}).",
        {"type": t.code, "accepted": accepted},
    )


def rule_support_level(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """The youth's support need lies in the type's support range."""
    t = ctx.type_of(option)
    need = youth.support_need
    figures: dict[str, float | int | str] = {
        "support_need": need,
        "support_min": t.support_min,
        "support_max": t.support_max,
    }
    if need > t.support_max:
        return Reason(
            "support_level",
            "support_too_high",
            f"Ondersteuningsbehoefte {need} ({SUPPORT_LABELS[need]}) is hoger dan wat "
            f"{t.name} biedt (tot en met {t.support_max}, {SUPPORT_LABELS[t.support_max]}).",
            figures,
        )
    if need < t.support_min:
        return Reason(
            "support_level",
            "support_too_low",
            f"Ondersteuningsbehoefte {need} ({SUPPORT_LABELS[need]}) is lager dan {t.name} "
            f"vraagt (minstens {t.support_min}, {SUPPORT_LABELS[t.support_min]}).",
            figures,
        )
    return None


def rule_age(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """Age on the move-in day within the type's range (both ends inclusive)."""
    t = ctx.type_of(option)
    age = ctx.age(youth)
    figures: dict[str, float | int | str] = {
        "age": age,
        "min_age": t.min_age,
        "max_age": t.max_age,
        "move_in": ctx.move_in.isoformat(),
    }
    if age < t.min_age:
        return Reason(
            "age",
            "age_too_low",
            f"Leeftijd {age} op de verhuisdatum {short_date(ctx.move_in)} is lager dan de "
            f"minimumleeftijd {t.min_age} voor {t.name}.",
            figures,
        )
    if age > t.max_age:
        return Reason(
            "age",
            "age_too_high",
            f"Leeftijd {age} op de verhuisdatum {short_date(ctx.move_in)} is hoger dan de "
            f"maximumleeftijd {t.max_age} voor {t.name}.",
            figures,
        )
    return None


def rule_minor_contract(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """Minors cannot sign a rental contract: only types where a provider holds it."""
    t = ctx.type_of(option)
    age = ctx.age(youth)
    if age >= ADULT_AGE or t.provider_contract:
        return None
    return Reason(
        "minor_contract",
        "minor_needs_provider_contract",
        f"De jongere is op de verhuisdatum {age} jaar en kan nog geen huurcontract tekenen; "
        f"bij {t.name} houdt geen zorgaanbieder het contract.",
        {"age": age, "adult_age": ADULT_AGE, "type": t.code},
    )


def rule_affordability(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """Rent after huurtoeslag within the income share, young-tenant and huurgrens limits and the
    personal maximum (see ``matcher.policy``)."""
    return affordability(ctx.policy, youth, ctx.type_of(option), option, ctx.move_in).reason


def rule_no_go(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """The option lies in none of the youth's no-go areas: codes at gemeente, wijk or buurt
    level, and polygons by exact containment (a point on the boundary counts as inside)."""
    no_go = set(youth.no_go_codes)
    for level, code in (
        ("gemeente", option.gemeente_code),
        ("wijk", option.wijk_code),
        ("buurt", option.buurt_code),
    ):
        if code and code in no_go:
            return Reason(
                "no_go",
                "no_go_code",
                f"De woning ligt in {level} {code}, een gebied waar de jongere niet wil of kan "
                "wonen.",
                {"level": level, "code": code},
            )
    for k, polygon in enumerate(youth.no_go_polygons):
        if bool(shapely.intersects_xy(polygon, option.x, option.y)):
            return Reason(
                "no_go",
                "no_go_area",
                "De woning ligt binnen een door de regisseur getekend no-go-gebied van de jongere.",
                {"polygon": k},
            )
    return None


def min_anchor_distance(youth: Youth, x: float, y: float) -> float:
    """Euclidean distance in metres (RD New) to the nearest anchor; NaN without anchors."""
    best = math.nan
    for a in youth.anchors:
        dx = x - a.x
        dy = y - a.y
        d = math.sqrt(dx * dx + dy * dy)
        if not d >= best:  # also true while best is NaN
            best = d
    return best


def rule_distance(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """Within ``max_distance_m`` of the nearest anchor (no limit without a radius or anchors)."""
    if youth.max_distance_m is None or not youth.anchors:
        return None
    d = min_anchor_distance(youth, option.x, option.y)
    if d <= youth.max_distance_m:
        return None
    return Reason(
        "distance",
        "too_far",
        f"De woning ligt {km(d)} van het dichtstbijzijnde ankerpunt van de jongere; de "
        f"zoekstraal is {km(youth.max_distance_m)}.",
        {"distance_m": d, "max_distance_m": youth.max_distance_m},
    )


def rule_available(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """Available on the move-in day and with at least one place."""
    if option.available_from > ctx.move_in:
        return Reason(
            "available",
            "not_available_yet",
            f"De woning is pas beschikbaar vanaf {short_date(option.available_from)}, na de "
            f"verhuisdatum {short_date(ctx.move_in)}.",
            {
                "available_from": option.available_from.isoformat(),
                "move_in": ctx.move_in.isoformat(),
            },
        )
    if option.capacity <= 0:
        return Reason(
            "available",
            "no_capacity",
            "De woning heeft geen vrije plaatsen (capaciteit 0).",
            {"capacity": option.capacity},
        )
    return None


def rule_contingent_exists(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """A corporation's option of a contingent type needs a contingent for its gemeente/year."""
    if not needs_contingent(ctx, option) or contingent_of(ctx, option) is not None:
        return None
    year = ctx.move_in.year
    return Reason(
        "contingent_exists",
        "no_contingent",
        f"Er is geen contingent van {option.corporation} voor {option.gemeente_code} in {year} "
        f"(algemeen of voor type {option.type_code}).",
        {
            "corporation": option.corporation or "",
            "gemeente": option.gemeente_code,
            "year": year,
            "type": option.type_code,
        },
    )


def rule_forbidden_pair(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """The pair was rejected in an earlier review of this round."""
    if (youth.code, option.code) not in ctx.forbidden:
        return None
    return Reason(
        "forbidden_pair",
        "forbidden_pair",
        f"De koppeling van {youth.code} aan {option.code} is eerder afgewezen.",
        {"youth": youth.code, "option": option.code},
    )


SCALAR_RULES = {
    "type_accepted": rule_type_accepted,
    "support_level": rule_support_level,
    "age": rule_age,
    "minor_contract": rule_minor_contract,
    "affordability": rule_affordability,
    "no_go": rule_no_go,
    "distance": rule_distance,
    "available": rule_available,
    "contingent_exists": rule_contingent_exists,
    "forbidden_pair": rule_forbidden_pair,
}
assert tuple(SCALAR_RULES) == RULE_NAMES


def pair_reasons(ctx: RoundContext, youth: Youth, option: Option) -> list[Reason]:
    """Every failing rule for the pair, in ``RULE_NAMES`` order (empty: eligible)."""
    out = []
    for rule in SCALAR_RULES.values():
        r = rule(ctx, youth, option)
        if r is not None:
            out.append(r)
    return out


def explain_pair(round: Round, youth_code: str, option_code: str) -> list[Reason]:
    """Every failing rule for one pair (empty list: eligible), using the scalar rules."""
    ctx = round_context(round)
    try:
        youth = round.youths[ctx.youth_index[youth_code]]
    except KeyError:
        raise KeyError(f"onbekende jongere {youth_code!r}") from None
    try:
        option = round.options[ctx.option_index[option_code]]
    except KeyError:
        raise KeyError(f"onbekende woning {option_code!r}") from None
    return pair_reasons(ctx, youth, option)
