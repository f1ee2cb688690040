"""The review page's data: one proposal version as one organisation may see it.

Scoping is in the queries (as in the round API): a corporation sees the matches on its own
options, its own contingents and only counts of unmatched young people; gemeente staff the
matches, contingents and unmatched young people of their gemeente; admin everything.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.rounds import Actor, Forbidden, may_read_proposals, readable_round
from store import models as m

REVIEW_ROLES = ("admin", "gemeente", "corporatie")
STATUS_NL = {
    "proposed": "voorgesteld",
    "accepted": "geaccepteerd",
    "rejected": "afgewezen",
    "confirmed": "bevestigd",
}
ROUND_STATUS_NL = {
    "created": "aangemaakt",
    "solving": "wordt doorgerekend",
    "draft": "concept",
    "published": "gepubliceerd",
    "final": "definitief",
    "failed": "mislukt",
}
REASON_NL = {
    "woning_past_niet": "woning past niet",
    "jongere_weigert": "jongere weigert",
    "zorg_niet_rond": "zorg niet rond",
    "samenstelling_huis": "samenstelling huis",
    "anders": "anders (toelichting)",
}


@dataclass(frozen=True)
class Filters:
    gemeente: str | None = None
    type: str | None = None
    status: str | None = None


@dataclass
class ContingentBar:
    corporation: str
    gemeente: str
    amount: int
    used: int
    in_proposal: int

    @property
    def percent_used(self) -> int:
        return min(100, round(100 * self.used / self.amount)) if self.amount else 0

    @property
    def percent_total(self) -> int:
        total = self.used + self.in_proposal
        return min(100, round(100 * total / self.amount)) if self.amount else 0


@dataclass
class ReviewView:
    round: m.AllocationRound
    proposal: m.Proposal | None
    versions: list[int]
    matches: list[m.Match]
    progress: dict[str, int]
    gemeenten: list[tuple[str, str]]
    types: list[tuple[str, str]]
    bars: list[ContingentBar]
    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    previous: int | None = None
    unmatched: list[tuple[str, str]] = field(default_factory=list)
    unmatched_counts: dict[str, int] = field(default_factory=dict)
    may_decide: set[int] = field(default_factory=set)


def _check(actor: Actor) -> None:
    if actor.role not in REVIEW_ROLES:
        raise Forbidden("beoordelen is voor corporaties, gemeenten en beheer")


def _own_gemeente(session: Session, actor: Actor) -> str | None:
    org = session.get(m.Organisation, actor.organisation_id) if actor.organisation_id else None
    return org.gemeente_code if org else None


def visible_matches(session: Session, actor: Actor, proposal: m.Proposal) -> list[m.Match]:
    """The matches of ``proposal`` that ``actor`` may see (filtered in the query)."""
    _check(actor)
    stmt = (
        select(m.Match)
        .join(m.HousingOption, m.Match.option_id == m.HousingOption.id)
        .where(m.Match.proposal_id == proposal.id)
        .order_by(m.Match.id)
    )
    if actor.role == "corporatie":
        stmt = stmt.where(m.HousingOption.corporation_id == actor.organisation_id)
    elif actor.role == "gemeente":
        stmt = stmt.where(m.HousingOption.gemeente_code == _own_gemeente(session, actor))
    return list(session.scalars(stmt))


def rounds(session: Session, actor: Actor) -> list[m.AllocationRound]:
    """The rounds whose proposals ``actor`` may review (corporations: published or final)."""
    _check(actor)
    found = session.scalars(select(m.AllocationRound).order_by(m.AllocationRound.id.desc()))
    return [r for r in found if may_read_proposals(actor, r)]


def _may_decide(session: Session, actor: Actor, match: m.Match) -> bool:
    if match.status != "proposed":
        return False
    option = match.option
    if actor.role == "admin":
        return True
    if actor.role == "corporatie":
        return option.corporation_id == actor.organisation_id
    return (
        actor.role == "gemeente"
        and option.corporation_id is None
        and option.gemeente_code == _own_gemeente(session, actor)
    )


def review_view(
    session: Session,
    actor: Actor,
    round_id: int,
    version: int | None = None,
    filters: Filters | None = None,
) -> ReviewView:
    """Everything the review page shows for one round and proposal version."""
    _check(actor)
    filters = filters or Filters()
    rnd = readable_round(session, round_id, actor)
    proposals = {p.version: p for p in rnd.proposals}
    versions = sorted(proposals)
    chosen = version if version in proposals else (versions[-1] if versions else None)
    proposal = proposals.get(chosen) if chosen is not None else None
    all_visible = visible_matches(session, actor, proposal) if proposal else []
    gemeente_names = dict(
        session.execute(select(m.Area.code, m.Area.name).where(m.Area.level == "gemeente")).all()
    )
    gemeenten = sorted(
        {
            (x.option.gemeente_code, gemeente_names.get(x.option.gemeente_code, ""))
            for x in all_visible
        },
        key=lambda g: g[1],
    )
    types = sorted(
        {(x.option.type.code, x.option.type.name) for x in all_visible}, key=lambda t: t[1]
    )
    shown = [
        x
        for x in all_visible
        if (not filters.gemeente or x.option.gemeente_code == filters.gemeente)
        and (not filters.type or x.option.type.code == filters.type)
        and (not filters.status or x.status == filters.status)
    ]
    view = ReviewView(
        round=rnd,
        proposal=proposal,
        versions=versions,
        matches=shown,
        progress=dict(Counter(x.status for x in all_visible)),
        gemeenten=gemeenten,
        types=types,
        bars=_bars(session, actor, rnd, all_visible),
    )
    view.may_decide = {x.id for x in shown if _may_decide(session, actor, x)}
    if proposal is not None and chosen is not None and chosen - 1 in proposals:
        before = {
            (x.youth.code, x.option.code)
            for x in visible_matches(session, actor, proposals[chosen - 1])
        }
        now = {(x.youth.code, x.option.code) for x in all_visible}
        view.previous = chosen - 1
        view.added = sorted(now - before)
        view.removed = sorted(before - now)
    if proposal is not None:
        _unmatched(session, actor, proposal, view)
    return view


def _bars(
    session: Session, actor: Actor, rnd: m.AllocationRound, matches: list[m.Match]
) -> list[ContingentBar]:
    stmt = (
        select(m.Contingent)
        .where(m.Contingent.year == rnd.month.year)
        .order_by(m.Contingent.corporation_id, m.Contingent.gemeente_code)
    )
    if actor.role == "corporatie":
        stmt = stmt.where(m.Contingent.corporation_id == actor.organisation_id)
    elif actor.role == "gemeente":
        stmt = stmt.where(m.Contingent.gemeente_code == _own_gemeente(session, actor))
    in_proposal: Counter[tuple[int | None, str]] = Counter(
        (x.option.corporation_id, x.option.gemeente_code)
        for x in matches
        if x.option.corporation_id is not None and x.option.type.uses_contingent
    )
    bars: dict[tuple[int, str], ContingentBar] = {}
    for c in session.scalars(stmt):
        key = (c.corporation_id, c.gemeente_code)
        bar = bars.get(key)
        if bar is None:
            bar = bars[key] = ContingentBar(
                c.corporation.name, c.gemeente_code, 0, 0, in_proposal.get(key, 0)
            )
        bar.amount += c.amount
        bar.used += c.used
    return list(bars.values())


def _unmatched(session: Session, actor: Actor, proposal: m.Proposal, view: ReviewView) -> None:
    entries = (proposal.result or {}).get("unmatched", {})
    if actor.role == "corporatie":
        view.unmatched_counts = dict(Counter(e.get("reason", "?") for e in entries.values()))
        return
    allowed: set[str] | None = None
    if actor.role == "gemeente":
        allowed = set(
            session.scalars(
                select(m.Youth.code).where(m.Youth.gemeente_code == _own_gemeente(session, actor))
            )
        )
    view.unmatched = [
        (code, str(e.get("message", e.get("reason", ""))))
        for code, e in sorted(entries.items())
        if allowed is None or code in allowed
    ]
    view.unmatched_counts = dict(
        Counter(str(entries[c].get("reason", "?")) for c, _ in view.unmatched)
    )
