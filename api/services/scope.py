"""Who may see which rows: the organisation scoping every service query goes through.

A rule here is a filter on the query, so data outside a user's scope is never loaded, not merely
hidden afterwards. Roles (docs/decisions.md, "API roles"):

- admin: the gemeente view for all gemeenten (admin manages accounts and data, not cases);
- gemeente: youths, options, matches and contingents in the organisation's own gemeente;
- corporatie: options, matches and contingents of its own corporation; youths only as the
  pseudonymised view inside a match;
- regisseur: the own caseload, including no-go areas;
- planner: aggregates only.

The case itself (income, rent share, search radius, anchors and anything derived from the
distances to them, no-go areas) is for the youth's own regisseur only: ``case_filter`` and
``own_case`` are the one check for it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import Session

from api.services.rounds import Actor, Forbidden
from store import models as m


def own_gemeente(session: Session, actor: Actor) -> str | None:
    """The gemeente code of the actor's organisation (None when it has none)."""
    if actor.organisation_id is None:
        return None
    org = session.get(m.Organisation, actor.organisation_id)
    return org.gemeente_code if org is not None else None


def own_organisation_code(session: Session, actor: Actor) -> str | None:
    if actor.organisation_id is None:
        return None
    org = session.get(m.Organisation, actor.organisation_id)
    return org.code if org is not None else None


def youth_filter(session: Session, actor: Actor) -> ColumnElement[bool]:
    """Youths whose records ``actor`` may read; Forbidden for roles that read none."""
    if actor.role == "admin":
        return true()
    if actor.role == "regisseur":
        return m.Youth.regisseur_id == actor.user_id
    if actor.role == "gemeente":
        code = own_gemeente(session, actor)
        return m.Youth.gemeente_code == code if code else false()
    raise Forbidden("deze rol mag geen gegevens van jongeren inzien")


def case_filter(actor: Actor) -> ColumnElement[bool]:
    """Youths whose case (income, search radius, anchors, suggestions) ``actor`` may see: the
    own caseload of a regisseur; Forbidden for every other role, admin included."""
    if actor.role == "regisseur" and actor.user_id is not None:
        return m.Youth.regisseur_id == actor.user_id
    raise Forbidden("alleen de eigen regisseur van de jongere ziet deze gegevens")


def own_case(actor: Actor, youth: m.Youth) -> bool:
    """Whether ``actor`` is ``youth``'s own regisseur (see ``case_filter``)."""
    return (
        actor.role == "regisseur"
        and actor.user_id is not None
        and youth.regisseur_id == actor.user_id
    )


def option_filter(session: Session, actor: Actor) -> ColumnElement[bool]:
    """Options ``actor`` may read (options hold no personal data; corporations see their own)."""
    if actor.role == "corporatie":
        return m.HousingOption.corporation_id == actor.organisation_id
    if actor.role == "gemeente":
        code = own_gemeente(session, actor)
        return m.HousingOption.gemeente_code == code if code else false()
    return true()


def contingent_filter(session: Session, actor: Actor) -> ColumnElement[bool]:
    """Contingents ``actor`` may read; regisseurs have no business with them."""
    if actor.role in ("admin", "planner"):
        return true()
    if actor.role == "corporatie":
        return m.Contingent.corporation_id == actor.organisation_id
    if actor.role == "gemeente":
        code = own_gemeente(session, actor)
        return m.Contingent.gemeente_code == code if code else false()
    raise Forbidden("deze rol mag geen contingenten inzien")
