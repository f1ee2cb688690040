"""Why this match: one match of a proposal explained in Dutch, as far as the reader may know.

Admin and gemeente reviewers read the score in words (urgency with waiting time and end of
care, preferred area and housing type with their rank, distance to the nearest anchor as a
band, rent only as affordable) and the runner-up options with why the proposal did not make
them. Distances are banded on purpose: exact distances from several options to a youth's
anchors would give the anchors away (decision 9: anchors are for the own regisseur only).
Corporations read the dwelling and that every rule holds: the score reveals the urgency
ranking, which is not theirs to see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.formatting import euro, nl_date
from api.services.review import visible_matches
from api.services.rounds import Actor, NotFound, readable_round
from matcher.explain import result_from_dict, runner_ups
from matcher.glossary import label
from matcher.roundfile import round_from_snapshot
from matcher.scoring import PairScore, score_breakdown
from store import models as m
from store.retention import details_removed

# Upper bounds (metres) of the distance bands shown to reviewers, with their words.
DISTANCE_BANDS = (
    (1_000, "binnen 1 km"),
    (3_000, "1 tot 3 km"),
    (10_000, "3 tot 10 km"),
    (25_000, "10 tot 25 km"),
)


@dataclass
class MatchExplanation:
    match: m.Match
    round: m.AllocationRound
    dwelling: list[tuple[str, str]]  # (what, value) the reader may see
    score: list[tuple[str, str]] = field(default_factory=list)  # (part, sentence)
    runner_ups: list[tuple[str, str, str]] = field(default_factory=list)  # code, type, why
    full: bool = False  # admin/gemeente: score and runner-ups shown
    removed: str | None = None  # retention removed the round's personal inputs (why, in Dutch)


def distance_band(metres: float | None) -> str:
    """A coarse Dutch band for a distance (never the exact figure)."""
    if metres is None:
        return "geen ankerpunten opgegeven"
    for bound, words in DISTANCE_BANDS:
        if metres < bound:
            return words
    return "verder dan 25 km"


def _score_lines(score: PairScore, names: dict[str, str], type_name: str) -> list[tuple[str, str]]:
    area = (
        "geen voorkeursgebieden opgegeven (neutraal)"
        if score.matched_area is None and score.area_points
        else "niet in een voorkeursgebied van de jongere"
        if score.matched_area is None
        else f"in {names.get(score.matched_area, score.matched_area)}, voorkeur "
        f"{(score.matched_area_rank or 0) + 1} van de jongere"
    )
    kind = (
        f"{type_name} is keuze {score.type_rank + 1} van de jongere"
        if score.type_rank is not None
        else f"{type_name} staat niet in de gekozen woonvormen"
    )
    return [
        (
            "Urgentie",
            f"urgentiegewicht {score.urgency_weight}: urgentieniveau "
            f"+{score.urgency_level_points}, einde zorg +{score.care_end_points}, wachttijd "
            f"+{score.waiting_points} ({score.waiting_points} maanden). Eerst worden zo veel "
            "mogelijk jongeren gehuisvest, de urgentste eerst; daarna telt voorkeur.",
        ),
        ("Gebied", f"{area} ({score.area_points} punten)"),
        ("Woonvorm", f"{kind} ({score.type_points} punten)"),
        # No points for distance and rent, no net rent or toeslag: the distance points give the
        # exact distance back, toeslag and rent points the income (decision 25).
        (
            "Afstand",
            f"dichtstbijzijnde ankerpunt (school, werk of netwerk): "
            f"{distance_band(score.nearest_anchor_m)}",
        ),
        (
            "Huur",
            "betaalbaar voor de jongere; de huurtoeslag en de huur na toeslag hangen af van het "
            "inkomen en zijn alleen voor de eigen regisseur",
        ),
    ]


def explain_match(session: Session, actor: Actor, match_id: int) -> MatchExplanation:
    """The explanation of match ``match_id`` for ``actor`` (NotFound when it is not theirs to
    see: a match outside one's scope and a missing one answer alike)."""
    match = session.get(m.Match, match_id)
    missing = NotFound(f"match {match_id} bestaat niet of is niet voor jou zichtbaar")
    if match is None:
        raise missing
    try:
        rnd = readable_round(session, match.proposal.round_id, actor)
    except Exception as exc:  # Forbidden: answer as if missing
        raise missing from exc
    if match.id not in {x.id for x in visible_matches(session, actor, match.proposal)}:
        raise missing
    option = match.option
    names = {code: name for code, name in session.execute(select(m.Area.code, m.Area.name))}
    dwelling = [
        ("Woonplek", option.code),
        ("Woonvorm", option.type.name),
        ("Gemeente", names.get(option.gemeente_code, option.gemeente_code)),
        ("Wijk", names.get(option.wijk_code or "", "–")),
        ("Corporatie", option.corporation.name if option.corporation else "zorgaanbieder"),
        ("Kale huur", euro(option.kale_huur)),
        ("Servicekosten", euro(option.servicekosten)),
        ("Plaatsen", str(option.capacity)),
        ("Beschikbaar vanaf", nl_date(option.available_from)),
        ("Status van de match", label("match_status", match.status)),
    ]
    out = MatchExplanation(match, rnd, dwelling)
    if actor.role not in ("admin", "gemeente"):
        return out
    out.full = True
    out.removed = details_removed(rnd.snapshot)
    if out.removed:  # score and runner-ups need the inputs retention removed
        return out
    problem = round_from_snapshot(rnd.snapshot or {})
    result = result_from_dict(match.proposal.result or {})
    stored = result.scores.get(match.youth.code)
    youths = {y.code: y for y in problem.youths}
    by_code = {o.code: o for o in problem.options}
    if stored is not None and match.youth.code in youths and option.code in by_code:
        score = score_breakdown(
            problem,
            youths[match.youth.code],
            by_code[option.code],
            stored.net_rent,
            stored.toeslag,
            seed=result.seed,
        )
        out.score = _score_lines(score, names, option.type.name)
    types = {t.code: t.name for t in problem.types}
    for why in runner_ups(problem, result, match.youth.code):
        kind = types.get(by_code[why.option].type_code, "") if why.option in by_code else ""
        out.runner_ups.append((why.option, kind, why.sentence))
    return out
