"""Suggestions for a young person and explanations of a proposal: workflow and access rules.

Entry points (also for the web pages; each takes the request's session and the signed-in
principal, checks access, writes the audit entry and returns the pydantic schema of
``api.schemas.suggestions`` for that audience):

* ``suggestions_for(session, principal, youth_id, k, on=None, cache=None)``
* ``explanations_for_round(session, principal, round_id, version=None)``
* ``fairness_for_round(session, principal, round_id, version=None)``
* ``pair_for_round(session, principal, round_id, youth_id, option_id, version=None)``

They raise ``NotFound`` and ``Forbidden`` (from ``api.services.rounds``) and ``InvalidDay``.
A youth, option or pair outside the caller's scope raises the same ``NotFound`` as one that does
not exist (same message), so the answer does not tell whether it exists. A round is read through
``rounds.readable_round`` (corporations: only once published). The case itself (income, rent
share, search radius, distances to anchors) is for the youth's own regisseur only
(``scope.case_filter``); admin gets the gemeente's view (docs/decisions.md 9).

The option index (``matcher.suggest.OptionIndex``) lives in ``app.state`` (``index_cache(app)``).
Freshness, in two parts:

* every commit through the app's sessions that writes options, types, contingents or policy rows
  (ORM objects or ORM bulk statements: the importers, finalising a round) invalidates the index
  at once, through SQLAlchemy session events (``IndexCache.watch``);
* for writes by other processes (a CLI import), a fingerprint of those tables (one aggregate
  query each: counts, max ids, sums of the numeric columns, the availability date range) is
  compared at most every ``check_interval_s`` (5 s) and the index rebuilt when it differs. An
  update from another process that changes only an option's area codes, or moves an
  availability date inside the current range, is not seen by the fingerprint.

``invalidate_index(app)`` forgets the index explicitly (a hook for any other write path).
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy import ColumnElement, case, event, func, select
from sqlalchemy.orm import ORMExecuteState, Session, joinedload, sessionmaker

from api.errors import InvalidInput, WorkflowError
from api.schemas.suggestions import (
    FairnessForCorporationOut,
    FairnessForGemeenteOut,
    FairnessOut,
    PairForCorporationOut,
    PairForGemeenteOut,
    RoundExplanationsOut,
    SuggestionsOut,
    explanations_out,
    fairness_for_corporation_out,
    fairness_for_gemeente_out,
    fairness_out,
    pair_for_corporation_out,
    pair_for_gemeente_out,
    suggestions_out,
)
from api.services.rounds import Actor, Forbidden, NotFound, audit, readable_round
from api.services.scope import case_filter
from matcher.explain import (
    explain_unmatched,
    fairness,
    restrict,
    result_from_dict,
    why_not,
)
from matcher.problem import Anchor, Round, Youth
from matcher.roundfile import round_from_snapshot
from matcher.suggest import OptionIndex, Suggestions, build_index, suggest
from store import models as m
from store.db import unit_of_work
from store.geometry import from_wkb
from store.repository import load_contingents, load_options, load_types, policies
from store.retention import details_removed

if TYPE_CHECKING:
    from api.auth import Principal  # api.auth imports the app, which imports this module

__all__ = [
    "Forbidden",
    "IndexCache",
    "InvalidDay",
    "NotFound",
    "explanations_for_round",
    "fairness_for_round",
    "index_cache",
    "invalidate_index",
    "options_fingerprint",
    "pair_for_round",
    "record_refused",
    "suggestions_for",
]

SUGGEST_ROLES = ("regisseur",)  # and then only for the own caseload
EXPLAIN_ROLES = ("admin", "gemeente")
FAIRNESS_ROLES = ("admin", "gemeente", "corporatie")
PAIR_ROLES = ("admin", "gemeente", "corporatie")


class InvalidDay(InvalidInput):
    """No policy is known on the asked day (HTTP 422 on ``on``)."""


# ---------------------------------------------------------------------------------------------
# The option index and its freshness


def options_fingerprint(session: Session) -> tuple[Any, ...]:
    """A cheap fingerprint of everything the index is built from (see the module docstring)."""
    o, c, t, p = m.HousingOption, m.Contingent, m.HousingType, m.PolicyRow
    opt = session.execute(
        select(
            func.count(),
            func.max(o.id),
            func.sum(o.capacity),
            func.sum(o.kale_huur),
            func.sum(o.servicekosten),
            func.sum(o.x),
            func.sum(o.y),
            func.sum(o.type_id),
            func.sum(func.coalesce(o.corporation_id, 0)),
            func.min(o.available_from),
            func.max(o.available_from),
        ).where(o.status == "available")
    ).one()
    cont = session.execute(
        select(func.count(), func.max(c.id), func.sum(c.amount), func.sum(c.used), func.sum(c.year))
    ).one()
    types = session.execute(
        select(
            func.count(),
            func.max(t.id),
            func.sum(t.min_age + 100 * t.max_age),
            func.sum(
                t.support_min + 10 * t.support_max + 100 * t.persons_min + 1000 * t.persons_max
            ),
            func.sum(case((t.zelfstandig, 1), else_=0) + case((t.provider_contract, 2), else_=0)),
            func.sum(case((t.uses_contingent, 1), else_=0)),
        )
    ).one()
    pol = session.execute(
        select(
            func.count(),
            func.max(p.valid_from),
            func.sum(p.kwaliteitskortingsgrens + p.maximale_huurgrens + p.basishuur),
            func.sum(p.max_rent_share_of_income + p.young_tenant_max_age),
        )
    ).one()
    return (*opt, *cont, *types, *pol)


def _build(session: Session, on: date, fingerprint: object) -> OptionIndex:
    years = session.scalars(select(m.Contingent.year).distinct().order_by(m.Contingent.year))
    contingents = tuple(c for year in years for c in load_contingents(session, year))
    return build_index(
        load_options(session, status="available"),
        load_types(session),
        contingents,
        policies(session),
        built_on=on,
        fingerprint=fingerprint,
    )


WATCHED = (m.HousingOption, m.HousingType, m.Contingent, m.PolicyRow)
_CHANGED = "stek.suggestion_inputs_changed"


class IndexCache:
    """The option index of one database, kept between requests.

    Freshness (see the module docstring): a commit through a watched sessionmaker that wrote
    options, types, contingents or policy rows marks the index stale at once; otherwise the
    fingerprint is compared at most every ``check_interval_s`` seconds (0: every request), which
    catches writes by other processes.

    ``enabled=False`` builds a fresh index on every call (no memory kept) and
    ``use_index=False`` makes ``suggest`` evaluate every rule on every option: together the
    baseline of bench/suggestions.py. Thread-safe: one build at a time; readers of a built
    index never block each other.
    """

    def __init__(
        self, enabled: bool = True, use_index: bool = True, check_interval_s: float = 5.0
    ) -> None:
        self.enabled = enabled
        self.use_index = use_index
        self.check_interval_s = check_interval_s
        self.builds = 0
        self._index: OptionIndex | None = None
        self._checked_at = 0.0
        self._generation = 0  # bumped by invalidate()
        self._lock = threading.Lock()
        self._watched: list[sessionmaker[Session]] = []

    def get(self, session: Session, on: date) -> OptionIndex:
        """The index, rebuilt first when stale or when the fingerprint changed."""
        index = self._index
        now = time.monotonic()
        if self.enabled and index is not None and now - self._checked_at < self.check_interval_s:
            return index
        generation = self._generation
        fingerprint = options_fingerprint(session)
        if self.enabled and index is not None and index.fingerprint == fingerprint:
            self._fresh(generation, now)
            return index
        with self._lock:
            index = self._index
            if self.enabled and index is not None and index.fingerprint == fingerprint:
                self._fresh(generation, now)
                return index
            try:
                index = _build(session, on, fingerprint)
            except LookupError as exc:
                raise InvalidDay(str(exc)) from exc
            self.builds += 1
            if self.enabled:
                self._index = index
                self._fresh(generation, now)
            return index

    def _fresh(self, generation: int, now: float) -> None:
        # An invalidation that came in meanwhile keeps the index due for a check.
        if generation == self._generation:
            self._checked_at = now

    def invalidate(self) -> None:
        """Forget the index; the next request rebuilds it."""
        with self._lock:
            self._generation += 1
            self._index = None
            self._checked_at = 0.0

    def watch(self, factory: sessionmaker[Session]) -> None:
        """Invalidate after every commit through ``factory`` that wrote a watched table (ORM
        objects or ORM bulk insert/update/delete). Idempotent."""
        if any(f is factory for f in self._watched):
            return
        self._watched.append(factory)

        def after_flush(session: Session, _context: Any) -> None:
            changed = itertools.chain(session.new, session.dirty, session.deleted)
            if any(isinstance(obj, WATCHED) for obj in changed):
                session.info[_CHANGED] = True

        def on_execute(state: ORMExecuteState) -> None:
            if (state.is_insert or state.is_update or state.is_delete) and any(
                mapper.class_ in WATCHED for mapper in state.all_mappers
            ):
                state.session.info[_CHANGED] = True

        def after_commit(session: Session) -> None:
            if session.info.pop(_CHANGED, False):
                self.invalidate()

        def after_rollback(session: Session) -> None:
            session.info.pop(_CHANGED, None)

        event.listen(factory, "after_flush", after_flush)
        event.listen(factory, "do_orm_execute", on_execute)
        event.listen(factory, "after_commit", after_commit)
        event.listen(factory, "after_soft_rollback", lambda s, _t: after_rollback(s))


def index_cache(app: FastAPI) -> IndexCache:
    """The app's index cache (created on first use), watching the app's sessions."""
    cache: IndexCache | None = getattr(app.state, "suggestion_index", None)
    if cache is None:
        cache = app.state.suggestion_index = IndexCache()
    cache.watch(app.state.sessions)
    return cache


def invalidate_index(app: FastAPI) -> None:
    """Hook for code that writes options, types, contingents or policy rows in this process."""
    cache: IndexCache | None = getattr(app.state, "suggestion_index", None)
    if cache is not None:
        cache.invalidate()


# ---------------------------------------------------------------------------------------------
# Suggestions


def _actor(principal: Principal) -> Actor:
    return Actor(principal.user_id, principal.organisation_id, principal.role)


MAX_ID = 2**31 - 1  # database ids are 32-bit: a larger one exists nowhere


def _not_in_caseload(youth_id: int) -> NotFound:
    # One message for a youth that does not exist and one in someone else's caseload.
    return NotFound(f"jongere {youth_id} bestaat niet of valt buiten je caseload")


def _case_row(session: Session, actor: Actor, youth_id: int) -> m.Youth:
    """Youth ``youth_id`` if it is in ``actor``'s own caseload (the query filters on it)."""
    where = case_filter(actor)
    if not 1 <= youth_id <= MAX_ID:
        raise _not_in_caseload(youth_id)
    row = (
        session.scalars(
            select(m.Youth)
            .where(m.Youth.id == youth_id, where)
            .options(
                # One round trip: a youth has a handful of rows in each list.
                joinedload(m.Youth.accepted_types).joinedload(m.YouthAcceptedType.type),
                joinedload(m.Youth.preferred_areas),
                joinedload(m.Youth.anchors),
                joinedload(m.Youth.no_go_areas),
                joinedload(m.Youth.regisseur),
            )
        )
        .unique()
        .first()
    )
    if row is None:
        raise _not_in_caseload(youth_id)
    return row


def youth_from_row(row: m.Youth) -> Youth:
    """The matcher's ``Youth`` from one database row (companions and conflicts left out: they
    are house rules of a round, not of one person's options)."""
    no_go = sorted(row.no_go_areas, key=lambda n: n.id)
    return Youth(
        code=row.code,
        birth_date=row.birth_date,
        gemeente_code=row.gemeente_code,
        income=row.income,
        support_need=row.support_need,
        accepted_types=tuple(a.type.code for a in row.accepted_types),
        preferred_areas=tuple(p.area_code for p in row.preferred_areas),
        anchors=tuple(Anchor(a.label, a.x, a.y) for a in sorted(row.anchors, key=lambda a: a.id)),
        no_go_codes=tuple(n.area_code for n in no_go if n.area_code is not None),
        no_go_polygons=tuple(
            from_wkb(n.geometry) for n in no_go if n.area_code is None and n.geometry is not None
        ),
        urgency=row.urgency,
        care_end_date=row.care_end_date,
        waiting_since=row.waiting_since,
        regisseur=row.regisseur.email if row.regisseur else None,
        max_rent=row.max_rent,
        household_size=row.household_size,
        max_distance_m=row.max_distance_m,
    )


def suggestions_for(
    session: Session,
    principal: Principal,
    youth_id: int,
    k: int = 10,
    *,
    on: date | None = None,
    cache: IndexCache | None = None,
) -> SuggestionsOut:
    """The ``k`` best options for a youth now (or ``on``), misses and counterfactuals.

    Only the youth's own regisseur: the answer holds the youth's income share, search radius
    and the distance to every anchor (from which the anchors follow). Other roles get
    ``Forbidden`` whatever the id; another regisseur gets the ``NotFound`` of an unknown youth.
    Writes an audit entry. Pass the app's cache (``index_cache(request.app)``); without one the
    index is built for this call only.
    """

    if principal.role not in SUGGEST_ROLES:
        raise Forbidden("alleen de eigen regisseur van de jongere ziet suggesties")
    row = _case_row(session, _actor(principal), youth_id)
    day = on or date.today()
    cache = cache or IndexCache(enabled=False)
    index = cache.get(session, day)
    try:
        found: Suggestions = suggest(
            index, youth_from_row(row), day, k=k, use_index=cache.use_index
        )
    except LookupError as exc:
        raise InvalidDay(str(exc)) from exc
    audit(
        session,
        _actor(principal),
        "youth.suggestions",
        "youth",
        row.code,
        {
            "youth_id": youth_id,
            "k": k,
            "on": day.isoformat(),
            "eligible": found.eligible,
            "returned": len(found.suggestions),
        },
    )
    return suggestions_out(youth_id, found)


def record_refused(
    factory: sessionmaker[Session], principal: Principal, action: str, entity: str,
    entity_id: object, why: str,
) -> None:  # fmt: skip
    """Audit a refused call in its own transaction (the request's own one rolls back).

    A youth is audited by its code (the gemeente's audit view matches youths by code); a youth
    id that exists nowhere is kept as the id, with ``youth_id`` in the detail either way."""
    detail: dict[str, Any] = {"refused": why}
    with unit_of_work(factory) as session:
        if entity == "youth" and isinstance(entity_id, int):
            detail["youth_id"] = entity_id
            row = session.get(m.Youth, entity_id) if 1 <= entity_id <= MAX_ID else None
            if row is not None:
                entity_id = row.code
        audit(session, _actor(principal), action, entity, entity_id, detail)


# ---------------------------------------------------------------------------------------------
# Explanations of a proposal


def _proposal(
    session: Session, principal: Principal, round_id: int, version: int | None
) -> m.Proposal:
    """The proposal (default: the latest) of a round ``principal`` may read."""
    if not 1 <= round_id <= MAX_ID or not 1 <= (version or 1) <= MAX_ID:
        raise NotFound(f"ronde {round_id} (versie {version}) bestaat niet")
    readable_round(session, round_id, _actor(principal))
    stmt = select(m.Proposal).where(m.Proposal.round_id == round_id)
    if version is None:
        stmt = stmt.order_by(m.Proposal.version.desc()).limit(1)
    else:
        stmt = stmt.where(m.Proposal.version == version)
    proposal = session.scalars(stmt).first()
    if proposal is None or proposal.result is None:
        what = "nog geen voorstel" if version is None else f"geen voorstel versie {version}"
        raise NotFound(f"ronde {round_id} heeft {what}")
    return proposal


def _round_and_result(
    session: Session, principal: Principal, round_id: int, version: int | None
) -> tuple[m.Proposal, Round, Any]:
    proposal = _proposal(session, principal, round_id, version)
    removed = details_removed(proposal.round.snapshot)
    if removed:  # suggestions need the inputs retention removed
        raise WorkflowError(f"ronde {round_id}: {removed}")
    problem = round_from_snapshot(proposal.round.snapshot or {})
    return proposal, problem, result_from_dict(proposal.result or {})


def _own_gemeente(session: Session, principal: Principal) -> str | None:
    org = session.get(m.Organisation, principal.organisation_id)
    return org.gemeente_code if org is not None else None


def _own_corporation(session: Session, principal: Principal) -> str | None:
    org = session.get(m.Organisation, principal.organisation_id)
    return org.code if org is not None else None


def explanations_for_round(
    session: Session, principal: Principal, round_id: int, version: int | None = None
) -> RoundExplanationsOut:
    """Per unmatched youth a Dutch sentence and counts (admin: all; gemeente: its youths)."""

    if principal.role not in EXPLAIN_ROLES:
        raise Forbidden("alleen gemeente en beheer zien de uitleg per jongere")
    proposal, problem, result = _round_and_result(session, principal, round_id, version)
    # A per-youth no-go count says something about the youth's life: not for the gemeente's
    # view, which admin shares (docs/decisions.md 9).
    items = explain_unmatched(result, hidden=("no_go",))
    if principal.role == "gemeente":
        mine = _own_gemeente(session, principal)
        gemeente_of = {y.code: y.gemeente_code for y in problem.youths}
        items = [e for e in items if gemeente_of.get(e.youth) == mine]
    audit(
        session, _actor(principal), "round.explanations", "round", round_id,
        {"version": proposal.version, "youths": len(items)},
    )  # fmt: skip
    return explanations_out(round_id, proposal, result, items)


def fairness_for_round(
    session: Session, principal: Principal, round_id: int, version: int | None = None
) -> FairnessOut | FairnessForGemeenteOut | FairnessForCorporationOut:
    """Justified-envy pairs (admin: all; gemeente: on options in its gemeente, listed only when
    both youths are its own, the others counted; corporatie: counts per own option only)."""

    if principal.role not in FAIRNESS_ROLES:
        raise Forbidden("alleen gemeente, corporatie en beheer zien het eerlijkheidsrapport")
    proposal, problem, result = _round_and_result(session, principal, round_id, version)
    report = fairness(problem, result)
    own_youths: set[str] = set()
    if principal.role == "gemeente":
        mine = _own_gemeente(session, principal)
        report = restrict(report, lambda p: p.gemeente_code == mine)
        own_youths = {y.code for y in problem.youths if y.gemeente_code == mine}
    elif principal.role == "corporatie":
        corp = _own_corporation(session, principal)
        report = restrict(report, lambda p: p.corporation == corp)
    audit(
        session, _actor(principal), "round.fairness", "round", round_id,
        {"version": proposal.version, "pairs": len(report.pairs)},
    )  # fmt: skip
    if principal.role == "corporatie":
        return fairness_for_corporation_out(round_id, proposal, report)
    if principal.role == "gemeente":
        return fairness_for_gemeente_out(round_id, proposal, report, own_youths)
    return fairness_out(round_id, proposal, report)


def _matched_in_round(round_id: int, option_id: int) -> ColumnElement[bool]:
    """Youths matched to the option in some proposal of the round (a filter on ``Youth``)."""
    return m.Youth.id.in_(
        select(m.Match.youth_id)
        .join(m.Proposal, m.Match.proposal_id == m.Proposal.id)
        .where(m.Proposal.round_id == round_id, m.Match.option_id == option_id)
    )


def _pair_not_found(youth_id: int, option_id: int) -> NotFound:
    # One message for a pair that does not exist and one outside the caller's scope.
    return NotFound(f"jongere {youth_id} en woning {option_id}: niet gevonden in je bereik")


def _visible_pair(
    session: Session, principal: Principal, round_id: int, youth_id: int, option_id: int
) -> tuple[m.Youth, m.HousingOption]:
    """The youth and option of the pair if ``principal`` may ask about it, else the same
    ``NotFound`` whether they exist or not:

    * admin: any youth and option;
    * gemeente: a youth of its gemeente, any option;
    * corporatie: its own option and a youth matched to it in some proposal of the round.
    """
    missing = _pair_not_found(youth_id, option_id)
    if not (1 <= youth_id <= MAX_ID and 1 <= option_id <= MAX_ID):
        raise missing
    youth_where: list[Any] = [m.Youth.id == youth_id]
    option_where: list[Any] = [m.HousingOption.id == option_id]
    if principal.role == "gemeente":
        youth_where.append(m.Youth.gemeente_code == _own_gemeente(session, principal))
    elif principal.role == "corporatie":
        option_where.append(m.HousingOption.corporation_id == principal.organisation_id)
        youth_where.append(_matched_in_round(round_id, option_id))
    youth = session.scalars(select(m.Youth).where(*youth_where)).first()
    option = session.scalars(select(m.HousingOption).where(*option_where)).first()
    if youth is None or option is None:
        raise missing
    return youth, option


def pair_for_round(
    session: Session,
    principal: Principal,
    round_id: int,
    youth_id: int,
    option_id: int,
    version: int | None = None,
) -> PairForGemeenteOut | PairForCorporationOut:
    """Why the pair was (not) made.

    * admin and gemeente: for a youth in scope (admin: all; gemeente: its gemeente), the failing
      rules with the option's side of the figures, no messages, search radius and no-go area
      reported together as ``location``; occupants of other gemeenten only counted
      (``PairForGemeenteOut``; admin shares the gemeente's view, docs/decisions.md 9);
    * corporatie: only for its own option and a youth matched to it in some proposal of a
      published round; outcome and housing-side rule names only (``PairForCorporationOut``).

    A youth or option outside scope answers like an unknown one (``_visible_pair``). Writes a
    round entry and a youth entry (by code, so the youth's gemeente sees it).
    """
    if principal.role not in PAIR_ROLES:
        raise Forbidden("alleen gemeente, corporatie en beheer zien de uitleg van een koppeling")
    proposal, problem, result = _round_and_result(session, principal, round_id, version)
    youth, option = _visible_pair(session, principal, round_id, youth_id, option_id)
    try:
        explained = why_not(problem, result, youth.code, option.code)
    except KeyError as exc:
        raise NotFound(f"jongere of woning hoort niet bij ronde {round_id}") from exc
    actor = _actor(principal)
    audit(
        session, actor, "round.pair_explanation", "round", round_id,
        {"version": proposal.version, "youth": youth_id, "option": option_id},
    )  # fmt: skip
    audit(
        session, actor, "youth.pair_explanation", "youth", youth.code,
        {"round": round_id, "version": proposal.version, "option": option.code},
    )  # fmt: skip
    if principal.role == "corporatie":
        return pair_for_corporation_out(round_id, proposal, explained)
    if principal.role == "gemeente":
        own = {y.code for y in problem.youths if y.gemeente_code == youth.gemeente_code}
    else:
        own = {y.code for y in problem.youths}
    return pair_for_gemeente_out(round_id, proposal, explained, own)
