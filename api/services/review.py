"""The review page's data: one proposal version as one organisation may see it.

Scoping is in the queries (as in the round API): a corporation sees the matches on its own
options, its own contingents and only counts of unmatched young people; gemeente staff the
matches, contingents and unmatched young people of their gemeente; admin everything.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from api.services.rounds import (
    Actor,
    Forbidden,
    NotFound,
    decision_counts,
    get_round,
    may_confirm_match,
    may_decide_match,
    may_read_proposals,
    published_versions,
    readable_round,
)
from matcher.explain import explain_unmatched, result_from_dict
from matcher.glossary import labels
from store import models as m

REVIEW_ROLES = ("admin", "gemeente", "corporatie")
STATUS_NL = labels("match_status")
ROUND_STATUS_NL = labels("round_status")
REASON_NL = labels("reject_reason")
PAGE_SIZE = 50
# Sort keys of the match list: code -> Dutch label (the key function is in ``_SORTS``).
SORTS = {
    "status": "status (open eerst)",
    "jongere": "jongere",
    "woonplek": "woonplek",
    "woonvorm": "woonvorm",
    "gemeente": "gemeente",
    "score": "urgentie en voorkeur (hoogste eerst)",
}


@dataclass(frozen=True)
class Filters:
    """What the reviewer asked to see; every field survives every action on the page."""

    gemeente: str | None = None
    type: str | None = None
    status: str | None = None
    q: str | None = None  # youth code, option code, corporation or gemeente name
    mine: bool = False  # only what this user has to decide or confirm
    sort: str = "status"
    page: int = 1
    page_size: int = PAGE_SIZE


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
    gemeenten: list[tuple[str, str]]
    types: list[tuple[str, str]]
    bars: list[ContingentBar]
    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    previous: int | None = None
    unmatched: list[tuple[str, str]] = field(default_factory=list)
    unmatched_counts: dict[str, int] = field(default_factory=dict)
    may_decide: set[int] = field(default_factory=set)
    may_confirm: set[int] = field(default_factory=set)
    may_undo: set[int] = field(default_factory=set)
    total: int = 0  # matches through the filters (all pages)
    page: int = 1
    pages: int = 1
    mine_open: int = 0  # matches waiting for this user's decision or confirmation
    counts: dict[str, int] = field(default_factory=dict)  # the whole round, per status
    gemeente_names: dict[str, str] = field(default_factory=dict)
    decidable_total: int = 0  # proposed matches through the filters (all pages) to decide


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
        # the page shows youth, option, type and corporation of every match: load them at once
        .options(
            joinedload(m.Match.youth),
            joinedload(m.Match.option).joinedload(m.HousingOption.type),
            joinedload(m.Match.option).joinedload(m.HousingOption.corporation),
        )
    )
    if actor.role == "corporatie":
        stmt = stmt.where(m.HousingOption.corporation_id == actor.organisation_id)
    elif actor.role == "gemeente":
        stmt = stmt.where(m.HousingOption.gemeente_code == _own_gemeente(session, actor))
    return list(session.scalars(stmt))


def rounds(session: Session, actor: Actor) -> list[m.AllocationRound]:
    """The rounds whose proposals ``actor`` may review; corporations those with a published
    version (while a re-solve is a draft they keep reading the last published version)."""
    _check(actor)
    found = session.scalars(select(m.AllocationRound).order_by(m.AllocationRound.id.desc()))
    if actor.role == "corporatie":
        return [r for r in found if published_versions(r)]
    return [r for r in found if may_read_proposals(actor, r)]


def _review_round(
    session: Session, actor: Actor, round_id: int
) -> tuple[m.AllocationRound, dict[int, m.Proposal]]:
    """The round and the proposal versions ``actor`` may review in it (corporations: only
    published versions, so a re-solve's draft stays with the gemeenten until it is out)."""
    if actor.role != "corporatie":
        rnd = readable_round(session, round_id, actor)
        return rnd, {p.version: p for p in rnd.proposals}
    rnd = get_round(session, round_id)
    published = published_versions(rnd)
    if not published:
        raise Forbidden("het voorstel van deze ronde is nog niet gepubliceerd")
    return rnd, {p.version: p for p in rnd.proposals if p.version in published}


def _todo(session: Session, actor: Actor, match: m.Match) -> bool:
    """Whether ``match`` waits for ``actor``: to decide (proposed) or to confirm (accepted)."""
    if match.status == "proposed":
        return may_decide_match(session, actor, match)
    return match.status == "accepted" and may_confirm_match(session, actor, match)


def _matches_query(match: m.Match, q: str) -> bool:
    option = match.option
    haystack = (
        match.youth.code,
        option.code,
        option.type.name,
        option.corporation.name if option.corporation else "",
        option.gemeente_code,
    )
    return any(q in text.casefold() for text in haystack)


_SORTS: dict[str, Any] = {
    "status": lambda x: (m.MATCH_STATUSES.index(x.status), x.youth.code),
    "jongere": lambda x: x.youth.code,
    "woonplek": lambda x: x.option.code,
    "woonvorm": lambda x: (x.option.type.name, x.youth.code),
    "gemeente": lambda x: (x.option.gemeente_code, x.youth.code),
    "score": lambda x: (-x.score, x.youth.code),
}


def _through_filters(matches: list[m.Match], todo: set[int], filters: Filters) -> list[m.Match]:
    """The matches that pass ``filters`` (``todo``: those waiting for the reader), sorted."""
    q = (filters.q or "").strip().casefold()
    shown = [
        x
        for x in matches
        if (not filters.gemeente or x.option.gemeente_code == filters.gemeente)
        and (not filters.type or x.option.type.code == filters.type)
        and (not filters.status or x.status == filters.status)
        and (not q or _matches_query(x, q))
        and (not filters.mine or x.id in todo)
    ]
    shown.sort(key=_SORTS.get(filters.sort, _SORTS["status"]))
    return shown


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
    rnd, proposals = _review_round(session, actor, round_id)
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
    is_open = rnd.status == "published" and proposal is not None and chosen == versions[-1]
    todo = {x.id for x in all_visible if is_open and _todo(session, actor, x)}
    shown = _through_filters(all_visible, todo, filters)
    size = max(1, filters.page_size)
    pages = max(1, -(-len(shown) // size))
    page = min(max(1, filters.page), pages)
    on_page = shown[(page - 1) * size : page * size]
    view = ReviewView(
        round=rnd,
        proposal=proposal,
        versions=versions,
        matches=on_page,
        gemeenten=gemeenten,
        types=types,
        bars=_bars(session, actor, rnd, all_visible),
        total=len(shown),
        page=page,
        pages=pages,
        mine_open=len(todo),
        counts=decision_counts(session, rnd.id),
        gemeente_names=gemeente_names,
        decidable_total=sum(1 for x in shown if x.status == "proposed" and x.id in todo),
    )
    if is_open:
        view.may_decide = {x.id for x in on_page if x.status == "proposed" and x.id in todo}
        view.may_confirm = {x.id for x in on_page if x.status == "accepted" and x.id in todo}
        view.may_undo = {x.id for x in on_page if _may_undo(session, actor, x)}
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
    # no count of options in a youth's no-go areas for gemeente or admin (decisions 9, 25)
    explained = explain_unmatched(result_from_dict(proposal.result or {}), hidden=("no_go",))
    view.unmatched = [
        (e.youth, e.sentence) for e in explained if allowed is None or e.youth in allowed
    ]
    view.unmatched_counts = dict(
        Counter(str(entries[c].get("reason", "?")) for c, _ in view.unmatched)
    )


def confirmable(session: Session, actor: Actor, round_id: int) -> list[tuple[int, int]]:
    """(match id, version) of every accepted match of the latest proposal ``actor`` confirms."""
    _check(actor)
    rnd = readable_round(session, round_id, actor)
    proposal = max(rnd.proposals, key=lambda p: p.version, default=None)
    if proposal is None:
        return []
    return [
        (x.id, x.version_id)
        for x in visible_matches(session, actor, proposal)
        if x.status == "accepted" and may_confirm_match(session, actor, x)
    ]


def _may_undo(session: Session, actor: Actor, match: m.Match) -> bool:
    if match.status == "confirmed":
        return may_confirm_match(session, actor, match)
    return match.status in ("accepted", "rejected") and may_decide_match(
        session, actor, match, any_status=True
    )


def decidable(
    session: Session, actor: Actor, round_id: int, filters: Filters
) -> list[tuple[int, int]]:
    """(match id, version) of every proposed match of the open round's latest version through
    ``filters`` (all pages) that ``actor`` decides: what "alle open matches accepteren" takes."""
    _check(actor)
    rnd = readable_round(session, round_id, actor)
    if rnd.status != "published" or not rnd.proposals:
        return []
    proposal = max(rnd.proposals, key=lambda p: p.version)
    visible = visible_matches(session, actor, proposal)
    todo = {x.id for x in visible if x.status == "proposed" and _todo(session, actor, x)}
    return [(x.id, x.version_id) for x in _through_filters(visible, todo, filters) if x.id in todo]


def row_view(session: Session, actor: Actor, match_id: int) -> tuple[ReviewView, m.Match]:
    """What a fetch answer needs after one decision: the match with this actor's rights on it,
    and the round's counts and open work (not the whole page)."""
    _check(actor)
    match = session.get(m.Match, match_id)
    if match is None:
        raise NotFound(f"match {match_id} bestaat niet")
    proposal = match.proposal
    rnd = readable_round(session, proposal.round_id, actor)
    latest = max(p.version for p in rnd.proposals)
    is_open = rnd.status == "published" and proposal.version == latest
    visible = visible_matches(session, actor, proposal) if is_open else []
    if match.id not in {x.id for x in visible} and is_open:
        raise NotFound(f"match {match_id} bestaat niet")
    names = {
        code: name
        for code, name in session.execute(
            select(m.Area.code, m.Area.name).where(m.Area.level == "gemeente")
        )
    }
    view = ReviewView(
        round=rnd,
        proposal=proposal,
        versions=[],
        matches=[match],
        gemeenten=[],
        types=[],
        bars=[],
        mine_open=sum(1 for x in visible if _todo(session, actor, x)),
        counts=decision_counts(session, rnd.id),
        gemeente_names=names,
    )
    if is_open:
        view.may_decide = (
            {match.id} if _todo(session, actor, match) and match.status == "proposed" else set()
        )
        view.may_confirm = (
            {match.id} if _todo(session, actor, match) and match.status == "accepted" else set()
        )
        view.may_undo = {match.id} if _may_undo(session, actor, match) else set()
    return view, match
