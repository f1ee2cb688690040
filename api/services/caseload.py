"""A regisseur's view of one young person's options: eligible now, nearest misses.

Uses ``api.services.suggestions`` (score breakdown and counterfactuals) when it exists; until
then the matcher's scalar rules give the eligible options (nearest first) and the options that
fail exactly one rule, with that rule's Dutch reason. No-go areas are never relaxed here: options
that fail only on no-go are counted, not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from api.services.rounds import Actor, Forbidden
from api.services.scope import own_case
from store import models as m


@dataclass(frozen=True)
class OptionRow:
    code: str
    type_name: str
    gemeente_code: str
    corporation: str
    rent: float
    distance_m: float | None
    reason: str = ""
    parts: dict[str, Any] = field(default_factory=dict)


@dataclass
class YouthOptions:
    eligible: list[OptionRow]
    misses: list[OptionRow]
    no_go_blocked: int
    counterfactuals: list[str]
    source: str  # "suggestions" or "rules"
    note: str = ""


def options_for(session: Session, actor: Actor, youth: m.Youth, k: int = 10) -> YouthOptions:
    """Eligible options and nearest misses for ``youth`` (caller has checked read access)."""
    if not own_case(actor, youth):  # distances to the anchors: the own regisseur only
        raise Forbidden("alleen de eigen regisseur ziet de mogelijkheden van een jongere")
    from matcher.rules import RoundContext, min_anchor_distance, pair_reasons
    from store.repository import load_round

    month = date.today().replace(day=1)
    if youth.status != "waiting":
        return YouthOptions([], [], 0, [], "rules", "Deze jongere wacht niet (meer) op een plek.")
    problem = load_round(session, month)
    me = next((y for y in problem.youths if y.code == youth.code), None)
    if me is None:
        return YouthOptions([], [], 0, [], "rules", "Deze jongere staat niet in de ronde.")
    ctx = RoundContext.build(problem)
    corp_names = {o.code: o.name for o in session.query(m.Organisation)}
    type_names = {t.code: t.name for t in problem.types}
    eligible: list[OptionRow] = []
    misses: list[OptionRow] = []
    no_go = 0
    for option in problem.options:
        reasons = pair_reasons(ctx, me, option)
        dist = min_anchor_distance(me, option.x, option.y) if me.anchors else None
        row = OptionRow(
            option.code,
            type_names.get(option.type_code, option.type_code),
            option.gemeente_code,
            corp_names.get(option.corporation or "", "zorgaanbieder"),
            option.kale_huur + option.servicekosten,
            dist,
        )
        if not reasons:
            eligible.append(row)
        elif len(reasons) == 1:
            if reasons[0].rule == "no_go":
                no_go += 1
            else:
                misses.append(
                    OptionRow(**{**row.__dict__, "reason": reasons[0].message, "parts": {}})
                )
    key = lambda r: (r.distance_m is None, r.distance_m or 0.0, r.code)  # noqa: E731
    eligible.sort(key=key)
    misses.sort(key=key)
    hints = []
    if no_go:
        hints.append(f"{no_go} woonplek(ken) liggen in de no-go-gebieden (die blijven dicht).")
    return YouthOptions(eligible, misses[:k], no_go, hints, "rules")
