"""Explanations of a proposal for reviewers: why somebody got nothing, why a pair was not made,
and a fairness report (justified envy) per corporation and gemeente.

Pure functions over a ``Round`` and its ``Result`` (``result_from_dict`` reads the JSON the API
stores). The facts come from the matcher itself: unmatched reasons and their counts from the
``Result``, failing rules from ``matcher.rules`` and pair values from
``matcher.scoring``; this module only puts them into sentences and counts.

Definitions (docs/suggestions.md):

* **Why not this pair**: the failing rules when the pair is not eligible; else who got the option
  and the change in the objective if the youth took it over (the occupant moving to the youth's
  option when eligible there, else left without a place). A negative change says why the
  proposal is worth more; a change of zero or more means rules outside the pair (house
  composition, contingents, the gemeente cap) or an unproven optimum decided.
* **Justified envy**: an eligible pair (youth, option) where the youth ranks the option above
  what she got (more preference points, or she got nothing) while someone placed in the option
  has a lower urgency weight. The objective is not a stable matching, so these pairs are
  reported, not enforced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.dutch import counted, percent
from matcher.glossary import GLOSSARY
from matcher.policy import Reason, affordability
from matcher.problem import Round
from matcher.result import (
    CONTINGENT_EXHAUSTED,
    HOUSE_COMPOSITION,
    NO_ELIGIBLE_OPTION,
    NOT_SELECTED,
    OUTCOMPETED,
    PairResult,
    Result,
    Unmatched,
)
from matcher.rules import RULE_NAMES, RoundContext, contingent_of, pair_reasons, screen
from matcher.scoring import pair_values, score_breakdown

__all__ = [
    "RULE_LABELS",
    "EnvyPair",
    "FairnessReport",
    "PairExplanation",
    "UnmatchedExplanation",
    "explain_unmatched",
    "fairness",
    "result_from_dict",
    "runner_ups",
    "why_not",
]

NO_CORPORATION = "geen corporatie"

# Dutch labels of the eligibility rules, for sentences: from the one glossary.
RULE_LABELS: dict[str, str] = GLOSSARY["rule"]
assert tuple(RULE_LABELS) == RULE_NAMES


# ---------------------------------------------------------------------------------------------
# Result from its stored JSON


def result_from_dict(data: Mapping[str, Any]) -> Result:
    """A ``Result`` from ``Result.as_dict()`` output (as stored in ``proposals.result``)."""
    scores = {
        y: PairResult(
            option=s["option"],
            value=int(s["value"]),
            urgency_weight=int(s["urgency_weight"]),
            area_points=int(s["area_points"]),
            type_points=int(s["type_points"]),
            distance_points=int(s["distance_points"]),
            rent_points=int(s["rent_points"]),
            tie_break=int(s["tie_break"]),
            net_rent=float(s["net_rent"]),
            toeslag=float(s["toeslag"]),
            distance_m=None if s.get("distance_m") is None else float(s["distance_m"]),
        )
        for y, s in data.get("scores", {}).items()
    }
    unmatched = {
        y: Unmatched(
            youth=u["youth"],
            reason=u["reason"],
            message=u["message"],
            figures={k: int(v) for k, v in u.get("figures", {}).items()},
        )
        for y, u in data.get("unmatched", {}).items()
    }
    return Result(
        status=data["status"],
        objective=int(data["objective"]),
        bound=int(data["bound"]),
        gap=float(data["gap"]),
        assignment=dict(data.get("assignment", {})),
        scores=scores,
        unmatched=unmatched,
        contingent_use=dict(data.get("contingent_use", {})),
        contingent_use_detail=dict(data.get("contingent_use_detail", {})),
        seed=int(data.get("seed", 0)),
        youths=int(data.get("youths", 0)),
        options=int(data.get("options", 0)),
        pairs=int(data.get("pairs", 0)),
        method=str(data.get("method", "")),
        flow_bound=int(data.get("flow_bound", 0)),
        candidate_pairs=int(data.get("candidate_pairs", 0)),
    )


# ---------------------------------------------------------------------------------------------
# Unmatched youths


@dataclass(frozen=True)
class UnmatchedExplanation:
    """Why one youth got no place: a sentence for a reviewer and the counts behind it."""

    youth: str
    reason: str  # a matcher.result reason code
    sentence: str
    counts: dict[str, int]


def _unmatched_sentence(why: Unmatched, result: Result) -> str:
    f = why.figures
    eligible = f.get("eligible", 0)
    if why.reason == NO_ELIGIBLE_OPTION:
        rules = sorted(
            ((f.get(r, 0), r) for r in RULE_NAMES if f.get(r, 0) > 0), key=lambda p: (-p[0], p[1])
        )
        if not rules:
            return f"Voor {why.youth} past geen enkele woning in deze ronde."
        parts = [f"{RULE_LABELS[r]} ({n})" for n, r in rules[:3]]
        tail = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " en " + parts[-1]
        return (
            f"Voor {why.youth} past geen enkele van de {result.options} woningen. Woningen vallen "
            f"vooral af op: {tail} (een woning kan op meer regels afvallen)."
        )
    if why.reason == OUTCOMPETED:
        higher = f.get("options_to_higher_urgency", 0)
        fits = counted(eligible, "passende woning", "passende woningen")
        text = (
            f"Er {'was' if eligible == 1 else 'waren'} {fits} voor {why.youth}, maar "
            f"{'die is' if eligible == 1 else 'die zijn allemaal'} aan "
            "anderen toegewezen"
        )
        if higher:
            return text + f"; {higher} daarvan aan jongeren met een hogere urgentie."
        return (
            text + ", niet aan jongeren met een hogere urgentie: zo worden in totaal meer jongeren "
            "(of urgentere jongeren elders) gehuisvest."
        )
    if why.reason == CONTINGENT_EXHAUSTED:
        cont, cap = f.get("contingent_exhausted", 0), f.get("gemeente_cap_reached", 0)
        bits = []
        if cont:
            bits.append(f"bij {cont} was het contingent van de corporatie op")
        if cap:
            bits.append(f"bij {cap} was het plafond van de gemeente bereikt")
        full = f.get("options_full", 0)
        if full:
            bits.append(f"{full} waren aan anderen toegewezen")
        fits = counted(eligible, "passende woning", "passende woningen")
        return f"Er waren {fits} voor {why.youth}: " + "; ".join(bits) + "."
    if why.reason == HOUSE_COMPOSITION:
        house = f.get("house_composition", 0)
        fits = counted(eligible, "passende woning", "passende woningen")
        return (
            f"Er waren {fits} voor {why.youth}, "
            f"maar bij {house} past de jongere niet in de samenstelling van het huis (aantal "
            "bewoners, conflicten, leeftijdsverschil of samen aangemelde jongeren)."
        )
    if why.reason == NOT_SELECTED:
        fits = counted(eligible, "passende woning", "passende woningen")
        return (
            f"{why.youth} is niet gekozen terwijl er {fits} waren: het voorstel is niet bewezen "
            f"optimaal (gap {percent(result.gap)})."
        )
    return why.message


def explain_unmatched(result: Result, hidden: tuple[str, ...] = ()) -> list[UnmatchedExplanation]:
    """Per unmatched youth (by code) a Dutch sentence and the counts from the ``Result``.

    ``hidden`` names counts (e.g. ``no_go``) left out of both the counts and the sentence, for
    audiences that may not learn them."""
    out = []
    for code, why in sorted(result.unmatched.items()):
        if hidden:
            kept = {k: v for k, v in why.figures.items() if k not in hidden}
            why = Unmatched(why.youth, why.reason, why.message, kept)
        out.append(
            UnmatchedExplanation(
                youth=code,
                reason=why.reason,
                sentence=_unmatched_sentence(why, result),
                counts=dict(sorted(why.figures.items())),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# One pair


@dataclass(frozen=True)
class PairExplanation:
    """Why a (youth, option) pair was or was not made."""

    youth: str
    option: str
    status: str  # matched, ineligible, taken, free
    sentence: str
    reasons: tuple[Reason, ...] = ()  # failing rules (ineligible)
    occupant: str | None = None  # taken: the occupant it compares with (lowest pair value)
    occupants: tuple[str, ...] = ()
    value_here: int | None = None  # objective value of the pair
    occupant_value: int | None = None  # objective value of the occupant's pair
    youth_option: str | None = None  # what the youth got instead
    youth_value: int | None = None
    swap_change: int | None = None  # objective change if the youth took the option over


def _pair_value(
    round: Round, ctx: RoundContext, youth_code: str, option_code: str, seed: int
) -> int:
    youth = round.youths[ctx.youth_index[youth_code]]
    option = round.options[ctx.option_index[option_code]]
    aff = affordability(ctx.policy, youth, ctx.type_of(option), option, ctx.move_in)
    return score_breakdown(round, youth, option, aff.net_rent, aff.toeslag, seed=seed).value


def why_not(round: Round, result: Result, youth_code: str, option_code: str) -> PairExplanation:
    """Explain the pair (``KeyError`` for a code not in the round)."""
    ctx = RoundContext.build(round)
    if youth_code not in ctx.youth_index:
        raise KeyError(f"onbekende jongere {youth_code!r}")
    if option_code not in ctx.option_index:
        raise KeyError(f"onbekende woning {option_code!r}")
    youth = round.youths[ctx.youth_index[youth_code]]
    option = round.options[ctx.option_index[option_code]]
    own = result.assignment.get(youth_code)
    own_value = result.scores[youth_code].value if youth_code in result.scores else None
    if own == option_code:
        return PairExplanation(
            youth_code,
            option_code,
            "matched",
            f"{youth_code} is in dit voorstel aan {option_code} gekoppeld.",
            youth_option=own,
            youth_value=own_value,
            value_here=own_value,
        )
    reasons = tuple(pair_reasons(ctx, youth, option))
    if reasons:
        text = " ".join(r.message for r in reasons)
        return PairExplanation(
            youth_code,
            option_code,
            "ineligible",
            f"{youth_code} past niet in {option_code}: {text}",
            reasons=reasons,
            youth_option=own,
            youth_value=own_value,
        )

    seed = result.seed
    value_here = _pair_value(round, ctx, youth_code, option_code, seed)
    occupants = tuple(sorted(y for y, o in result.assignment.items() if o == option_code))
    if len(occupants) < option.capacity:
        return PairExplanation(
            youth_code,
            option_code,
            "free",
            _free_sentence(round, ctx, result, youth_code, option_code, value_here, own, own_value),
            occupants=occupants,
            value_here=value_here,
            youth_option=own,
            youth_value=own_value,
        )

    occ = min(occupants, key=lambda y: (result.scores[y].value, y))
    occ_value = result.scores[occ].value
    occ_youth = round.youths[ctx.youth_index[occ]]
    # The occupant moves to the youth's option when eligible there, else loses the place.
    occ_alt = 0
    occ_moves = False
    if own is not None:
        own_option = round.options[ctx.option_index[own]]
        if not pair_reasons(ctx, occ_youth, own_option):
            occ_alt = _pair_value(round, ctx, occ, own, seed)
            occ_moves = True
    change = value_here + occ_alt - occ_value - (own_value or 0)

    y_weight = score_breakdown(round, youth, option, 0.0, 0.0, seed=seed).urgency_weight
    o_weight = result.scores[occ].urgency_weight
    first = f"{option_code} ging naar {occ}."
    if own is None:
        swap = f"Als {youth_code} de woning krijgt, houdt {occ} geen woning"
    else:
        where = f"verhuist {occ} naar {own}" if occ_moves else f"houdt {occ} geen woning"
        swap = f"Als {youth_code} de woning krijgt in plaats van {own}, {where}"
    if change < 0:
        if o_weight > y_weight and not occ_moves:
            why = (
                f"{occ} heeft een hoger urgentiegewicht ({o_weight} tegen {y_weight}): urgenter "
                "huisvesten weegt zwaarder dan elke voorkeur."
            )
        elif own is not None and not occ_moves:
            why = f"{occ} zou dan geen woning hebben, terwijl {youth_code} er al een heeft."
        else:
            why = "de voorkeuren (gebied, woningtype, afstand, huur) passen zo samen beter."
        sentence = f"{first} {swap} en daalt de doelfunctie met {-change}: {why}"
    else:
        extra = ""
        if result.status != "optimal":
            extra = (
                f", of doordat het voorstel niet bewezen optimaal is (gap {percent(result.gap)})"
            )
        sentence = (
            f"{first} {swap}; de doelfunctie daalt daardoor niet (verschil {change:+d}). Dat het "
            "voorstel dit niet doet komt door regels buiten dit paar (samenstelling van huizen, "
            f"contingenten, gemeenteplafond){extra}."
        )
    return PairExplanation(
        youth_code,
        option_code,
        "taken",
        sentence,
        occupant=occ,
        occupants=occupants,
        value_here=value_here,
        occupant_value=occ_value,
        youth_option=own,
        youth_value=own_value,
        swap_change=change,
    )


def runner_ups(round: Round, result: Result, youth_code: str, k: int = 3) -> list[PairExplanation]:
    """The ``k`` options the youth fits best after the one they got (by pair value), each with
    why the proposal did not make that pair (``KeyError`` for an unknown youth)."""
    ctx = RoundContext.build(round)
    if youth_code not in ctx.youth_index:
        raise KeyError(f"onbekende jongere {youth_code!r}")
    youth = round.youths[ctx.youth_index[youth_code]]
    own = result.assignment.get(youth_code)
    fits = [o.code for o in round.options if o.code != own and not pair_reasons(ctx, youth, o)]
    ranked = sorted(fits, key=lambda c: (-_pair_value(round, ctx, youth_code, c, result.seed), c))
    return [why_not(round, result, youth_code, code) for code in ranked[:k]]


def _free_sentence(
    round: Round,
    ctx: RoundContext,
    result: Result,
    youth_code: str,
    option_code: str,
    value_here: int,
    own: str | None,
    own_value: int | None,
) -> str:
    option = round.options[ctx.option_index[option_code]]
    taken = sum(1 for o in result.assignment.values() if o == option_code)
    left = option.capacity - taken
    free = (
        f"{option_code} bleef leeg" if not taken else f"{option_code} hield {left} plaats(en) vrij"
    )
    k = contingent_of(ctx, option)
    if k is not None:
        c = round.contingents[k]
        used = sum(
            1
            for o in result.assignment.values()
            if contingent_of(ctx, round.options[ctx.option_index[o]]) == k
        )
        if used >= c.left:
            return (
                f"{free}: het contingent van {c.corporation} voor "
                f"{c.gemeente_code} is in dit voorstel op ({used} van {c.left} gebruikt)."
            )
    caps = dict(round.gemeente_caps)
    if option.gemeente_code in caps:
        placed = sum(
            1
            for o in result.assignment.values()
            if round.options[ctx.option_index[o]].gemeente_code == option.gemeente_code
        )
        if placed >= caps[option.gemeente_code]:
            return (
                f"{free}: het plafond van gemeente {option.gemeente_code} "
                f"({caps[option.gemeente_code]}) is bereikt."
            )
    if own is not None and own_value is not None and own_value >= value_here:
        return (
            f"{free}; {youth_code} kreeg {own}, die in de doelfunctie meer waard "
            f"is ({own_value} tegen {value_here})."
        )
    extra = (
        ""
        if result.status == "optimal"
        else f" of doordat het voorstel niet bewezen optimaal is (gap {percent(result.gap)})"
    )
    return (
        f"{free} terwijl {youth_code} er past; dat komt door regels buiten dit paar "
        f"(samenstelling van het huis, samen aangemelde jongeren){extra}."
    )


# ---------------------------------------------------------------------------------------------
# Fairness


@dataclass(frozen=True)
class EnvyPair:
    """A youth who ranks an option above her own while its occupant has lower urgency."""

    youth: str
    youth_urgency: int  # urgency weight (matcher.scoring)
    option: str
    corporation: str | None
    gemeente_code: str  # of the option
    occupant: str  # the occupant with the lowest urgency weight
    occupant_urgency: int
    preference_here: int  # the youth's preference points for this option
    preference_own: int | None  # for what she got (None: nothing)


@dataclass(frozen=True)
class FairnessReport:
    pairs: tuple[EnvyPair, ...]
    per_corporation: dict[str, int]  # NO_CORPORATION for provider-owned options
    per_gemeente: dict[str, int]  # gemeente of the option
    message: str


def fairness(round: Round, result: Result) -> FairnessReport:
    """Justified-envy pairs of the proposal (see the module docstring), counted per corporation
    and per gemeente of the option. Vectorised over the eligible pairs of the round."""
    scr = screen(round)
    values = pair_values(round, scr, seed=result.seed)
    yi = np.asarray(scr.youth_idx, dtype=np.int64)
    oi = np.asarray(scr.option_idx, dtype=np.int64)
    pref = values.preference
    weight = values.urgency
    y_index = {y.code: i for i, y in enumerate(round.youths)}
    o_index = {o.code: i for i, o in enumerate(round.options)}
    n_y, n_o = len(round.youths), len(round.options)

    assigned = np.full(n_y, -1, dtype=np.int64)
    for y_code, o_code in result.assignment.items():
        if y_code in y_index and o_code in o_index:
            assigned[y_index[y_code]] = o_index[o_code]
    # Lowest-urgency occupant per option.
    low_weight = np.full(n_o, np.iinfo(np.int64).max, dtype=np.int64)
    low_occ = np.full(n_o, -1, dtype=np.int64)
    placed = np.flatnonzero(assigned >= 0).tolist()
    for y in sorted(placed, key=lambda i: (int(weight[i]), round.youths[i].code)):
        o = int(assigned[y])
        if low_occ[o] < 0:  # the first in (weight, code) order is the lowest
            low_weight[o], low_occ[o] = weight[y], y
    # The youth's own preference (eligible pairs only; a fixed ineligible pair: not compared).
    own_pref = np.full(n_y, -1, dtype=np.int64)
    own_known = assigned < 0
    mine = assigned[yi] == oi
    own_pref[yi[mine]] = pref[mine]
    own_known[yi[mine]] = True

    envy = (
        (low_occ[oi] >= 0)
        & (assigned[yi] != oi)
        & (low_weight[oi] < weight[yi])
        & own_known[yi]
        & ((assigned[yi] < 0) | (pref > own_pref[yi]))
    )
    pairs = []
    for p in np.flatnonzero(envy).tolist():
        y, o = int(yi[p]), int(oi[p])
        option = round.options[o]
        occ = int(low_occ[o])
        pairs.append(
            EnvyPair(
                youth=round.youths[y].code,
                youth_urgency=int(weight[y]),
                option=option.code,
                corporation=option.corporation,
                gemeente_code=option.gemeente_code,
                occupant=round.youths[occ].code,
                occupant_urgency=int(weight[occ]),
                preference_here=int(pref[p]),
                preference_own=None if assigned[y] < 0 else int(own_pref[y]),
            )
        )
    pairs.sort(key=lambda e: (e.gemeente_code, e.corporation or "", e.option, e.youth))
    return _report(tuple(pairs))


def _report(pairs: tuple[EnvyPair, ...]) -> FairnessReport:
    per_corp = Counter(p.corporation or NO_CORPORATION for p in pairs)
    per_gem = Counter(p.gemeente_code for p in pairs)
    if not pairs:
        message = (
            "Geen gerechtvaardigde afgunst in dit voorstel: niemand geeft de voorkeur aan een "
            "woning die naar iemand met een lagere urgentie ging."
        )
    else:
        youths = len({p.youth for p in pairs})
        envious = counted(youths, "jongere", "jongeren")
        message = (
            f"{counted(len(pairs), 'paar', 'paren')} met gerechtvaardigde afgunst "
            f"({envious}): de jongere geeft de voorkeur aan een woning "
            "die naar iemand met een lagere urgentie ging. De verdeling maximaliseert het totaal "
            "en is geen stabiele matching; dit wordt gemeld, niet afgedwongen."
        )
    return FairnessReport(
        pairs, dict(sorted(per_corp.items())), dict(sorted(per_gem.items())), message
    )


def restrict(report: FairnessReport, keep: Any) -> FairnessReport:
    """The report on the pairs for which ``keep(pair)`` is true (counts recomputed)."""
    return _report(tuple(p for p in report.pairs if keep(p)))
