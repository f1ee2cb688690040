"""The month history: per round, how many young people were in it, housed and still waiting,
and the contingent use per corporation and gemeente, as far as the reader may see.

Scope as the review page: admin the whole region; a gemeente its own young people and the
placements in its gemeente; a corporation only its own placements (no counts of young people).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.review import visible_matches
from api.services.rounds import Actor, Forbidden, latest_proposal, may_read_proposals
from store import models as m


@dataclass
class MonthRow:
    round_id: int
    month: date
    status: str
    youths: int | None  # young people in the round's snapshot (None: not for this reader)
    housed: int
    waiting: int | None
    use: list[tuple[str, str, int]] = field(default_factory=list)  # corporation, gemeente, n


def month_history(session: Session, actor: Actor) -> list[MonthRow]:
    """One row per round with a proposal, newest month first."""
    if actor.role not in ("admin", "gemeente", "corporatie"):
        raise Forbidden("het maandoverzicht is voor gemeenten, corporaties en beheer")
    own = None
    if actor.role == "gemeente":
        org = session.get(m.Organisation, actor.organisation_id)
        own = org.gemeente_code if org else None
    names = {
        code: name
        for code, name in session.execute(
            select(m.Area.code, m.Area.name).where(m.Area.level == "gemeente")
        )
    }
    rows = []
    rounds = session.scalars(select(m.AllocationRound).order_by(m.AllocationRound.month.desc()))
    for rnd in rounds:
        if not rnd.proposals or not may_read_proposals(actor, rnd):
            continue
        proposal = latest_proposal(session, rnd.id)
        matches = visible_matches(session, actor, proposal)
        youths: int | None = None
        if actor.role == "admin":
            youths = len((rnd.snapshot or {}).get("youths", []))
        elif actor.role == "gemeente":
            youths = sum(
                1 for y in (rnd.snapshot or {}).get("youths", []) if y.get("gemeente_code") == own
            )
            # placements of our young people, wherever they live now
            matches = [x for x in proposal.matches if x.youth.gemeente_code == own]
        use = Counter(
            (x.option.corporation.name, names.get(x.option.gemeente_code, x.option.gemeente_code))
            for x in matches
            if x.option.corporation is not None and x.option.type.uses_contingent
        )
        rows.append(
            MonthRow(
                round_id=rnd.id,
                month=rnd.month,
                status=rnd.status,
                youths=youths,
                housed=len(matches),
                waiting=None if youths is None else youths - len(matches),
                use=[(c, g, n) for (c, g), n in sorted(use.items())],
            )
        )
    return rows
