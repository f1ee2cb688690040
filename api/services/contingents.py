"""Contingent agreements between a gemeente and a corporation, changed two-sidedly.

A gemeente or corporation user proposes an amount for an agreement (corporation × gemeente ×
year, optionally per housing type); the counted ``Contingent.amount`` stays as it was until the
other party accepts. Every step is a row of ``contingent_changes`` (proposed → accepted,
rejected or withdrawn, with who and when) and an audit entry. An amount below what is already
used is refused, when proposed and again when accepted (placements may have used more since).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from api.services import notifications
from api.services.rounds import Actor, Forbidden, NotFound, WorkflowError, audit
from api.services.scope import own_gemeente
from matcher.records import ContingentRecord, RecordInvalid
from store import models as m

PARTIES = ("gemeente", "corporatie")


def _refuse(field: str, message: str) -> RecordInvalid:
    return RecordInvalid("contingent", [(field, f"{ContingentRecord.LABELS[field]}: {message}")])


@dataclass(frozen=True)
class Agreement:
    """One agreement as a party sees it: the counted amount, its use, and what waits."""

    contingent: m.Contingent | None
    corporation: m.Organisation
    gemeente_code: str
    year: int
    housing_type: m.HousingType | None
    pending: m.ContingentChange | None

    @property
    def amount(self) -> int:
        return self.contingent.amount if self.contingent is not None else 0

    @property
    def used(self) -> int:
        return self.contingent.used if self.contingent is not None else 0


def party(session: Session, actor: Actor, corporation_id: int, gemeente_code: str) -> str | None:
    """Which side of the agreement ``actor`` is on (``gemeente``/``corporatie``), if any."""
    if actor.role == "corporatie" and actor.organisation_id == corporation_id:
        return "corporatie"
    if actor.role == "gemeente" and own_gemeente(session, actor) == gemeente_code:
        return "gemeente"
    return None


def _change_scope(session: Session, actor: Actor) -> ColumnElement[bool]:
    if actor.role in ("admin", "planner"):
        return true()
    if actor.role == "corporatie":
        return m.ContingentChange.corporation_id == actor.organisation_id
    if actor.role == "gemeente":
        return m.ContingentChange.gemeente_code == (own_gemeente(session, actor) or "")
    raise Forbidden("deze rol mag geen contingenten inzien")


def _key_filter(
    corporation_id: int, gemeente_code: str, year: int, type_id: int | None
) -> list[ColumnElement[bool]]:
    return [
        m.ContingentChange.corporation_id == corporation_id,
        m.ContingentChange.gemeente_code == gemeente_code,
        m.ContingentChange.year == year,
        m.ContingentChange.type_id.is_(None)
        if type_id is None
        else m.ContingentChange.type_id == type_id,
    ]


def _contingent(
    session: Session, corporation_id: int, gemeente_code: str, year: int, type_id: int | None
) -> m.Contingent | None:
    return session.scalars(
        select(m.Contingent).where(
            m.Contingent.corporation_id == corporation_id,
            m.Contingent.gemeente_code == gemeente_code,
            m.Contingent.year == year,
            m.Contingent.type_id.is_(None) if type_id is None else m.Contingent.type_id == type_id,
        )
    ).first()


def _open_change(
    session: Session, corporation_id: int, gemeente_code: str, year: int, type_id: int | None
) -> m.ContingentChange | None:
    return session.scalars(
        select(m.ContingentChange).where(
            *_key_filter(corporation_id, gemeente_code, year, type_id),
            m.ContingentChange.status == "proposed",
        )
    ).first()


def list_agreements(session: Session, actor: Actor, year: int | None = None) -> list[Agreement]:
    """The agreements in ``actor``'s scope with the proposal waiting on each (a proposed new
    agreement without a contingent yet is listed too), by corporation, gemeente, year, type."""
    scope = _change_scope(session, actor)  # also refuses roles without contingents
    stmt = select(m.Contingent)
    if actor.role == "corporatie":
        stmt = stmt.where(m.Contingent.corporation_id == actor.organisation_id)
    elif actor.role == "gemeente":
        stmt = stmt.where(m.Contingent.gemeente_code == (own_gemeente(session, actor) or ""))
    if year is not None:
        stmt = stmt.where(m.Contingent.year == year)
    pending_stmt = select(m.ContingentChange).where(scope, m.ContingentChange.status == "proposed")
    if year is not None:
        pending_stmt = pending_stmt.where(m.ContingentChange.year == year)
    pending = {
        (c.corporation_id, c.gemeente_code, c.year, c.type_id): c
        for c in session.scalars(pending_stmt)
    }
    out: list[Agreement] = []
    for c in session.scalars(stmt):
        key = (c.corporation_id, c.gemeente_code, c.year, c.type_id)
        out.append(
            Agreement(c, c.corporation, c.gemeente_code, c.year, c.type, pending.pop(key, None))
        )
    for change in pending.values():  # a new agreement, waiting for its first confirmation
        out.append(
            Agreement(
                None,
                change.corporation,
                change.gemeente_code,
                change.year,
                change.type,
                change,
            )
        )
    out.sort(
        key=lambda a: (
            a.year,
            a.corporation.code,
            a.gemeente_code,
            a.housing_type.code if a.housing_type else "",
        )
    )
    return out


def list_changes(
    session: Session, actor: Actor, year: int | None = None, limit: int = 200
) -> list[m.ContingentChange]:
    """The history of proposals in scope, newest first."""
    stmt = select(m.ContingentChange).where(_change_scope(session, actor))
    if year is not None:
        stmt = stmt.where(m.ContingentChange.year == year)
    return list(session.scalars(stmt.order_by(m.ContingentChange.id.desc()).limit(limit)))


def get_change(session: Session, actor: Actor, change_id: int) -> m.ContingentChange:
    change = session.scalars(
        select(m.ContingentChange).where(
            m.ContingentChange.id == change_id, _change_scope(session, actor)
        )
    ).first()
    if change is None:
        raise NotFound(f"voorstel {change_id} bestaat niet of valt buiten je organisatie")
    return change


def _party_role(actor: Actor) -> None:
    if actor.role not in PARTIES:
        raise Forbidden("alleen de gemeente en de corporatie van een afspraak beslissen hierover")


def propose(session: Session, actor: Actor, record: ContingentRecord) -> m.ContingentChange:
    """Propose ``record.amount`` for the agreement ``record`` names; it counts once the other
    party accepts. Raises RecordInvalid for a field (unknown corporation, gemeente or type, an
    amount below what is used or equal to the agreed one), Forbidden outside the actor's side,
    WorkflowError while another proposal for the agreement waits."""
    _party_role(actor)
    corporation = session.scalars(
        select(m.Organisation).where(
            m.Organisation.code == record.corporation, m.Organisation.kind == "corporatie"
        )
    ).first()
    if corporation is None:
        raise _refuse("corporation", f"onbekende corporatie {record.corporation}")
    gemeente = session.scalars(
        select(m.Area).where(m.Area.code == record.gemeente_code, m.Area.level == "gemeente")
    ).first()
    if gemeente is None:
        raise _refuse("gemeente_code", f"onbekende gemeente {record.gemeente_code}")
    kind: m.HousingType | None = None
    if record.housing_type is not None:
        kind = session.scalars(
            select(m.HousingType).where(m.HousingType.code == record.housing_type)
        ).first()
        if kind is None:
            raise _refuse("housing_type", f"onbekende woonvorm {record.housing_type}")
    side = party(session, actor, corporation.id, gemeente.code)
    if side is None:
        raise Forbidden("je kunt alleen afspraken van je eigen organisatie voorstellen")
    type_id = kind.id if kind is not None else None
    current = _contingent(session, corporation.id, gemeente.code, record.year, type_id)
    used = current.used if current is not None else 0
    if record.amount < used:
        raise _refuse("amount", f"mag niet lager zijn dan wat al gebruikt is ({used})")
    if current is not None and record.amount == current.amount:
        raise _refuse("amount", f"is al het afgesproken aantal ({current.amount})")
    waiting = _open_change(session, corporation.id, gemeente.code, record.year, type_id)
    if waiting is not None:
        raise WorkflowError(
            f"voor deze afspraak wacht al voorstel {waiting.id} ({waiting.new_amount}); "
            "beslis daarover of trek het in voordat je een nieuw voorstel doet"
        )
    change = m.ContingentChange(
        contingent_id=current.id if current is not None else None,
        corporation_id=corporation.id,
        gemeente_code=gemeente.code,
        year=record.year,
        type_id=type_id,
        old_amount=current.amount if current is not None else None,
        new_amount=record.amount,
        status="proposed",
        note=record.note,
        proposed_by_id=actor.user_id,
        proposed_by_org_id=actor.organisation_id,
        proposed_at=datetime.now(UTC),
    )
    session.add(change)
    session.flush()
    audit(session, actor, "contingent.propose", "contingent_change", change.id, _detail(change))
    notifications.contingent_proposed(session, change, side)  # inbox now, e-mail after commit
    return change


def _detail(change: m.ContingentChange) -> dict[str, object]:
    return {
        "corporation": change.corporation.code,
        "gemeente": change.gemeente_code,
        "year": change.year,
        "type": change.type.code if change.type is not None else None,
        "from": change.old_amount,
        "to": change.new_amount,
    }


def proposer_side(session: Session, change: m.ContingentChange) -> str | None:
    if change.proposed_by_org_id is None:
        return None
    org = session.get(m.Organisation, change.proposed_by_org_id)
    return org.kind if org is not None else None


def can_decide(session: Session, actor: Actor, change: m.ContingentChange) -> bool:
    """Whether ``actor`` is the other party of a waiting proposal."""
    side = party(session, actor, change.corporation_id, change.gemeente_code)
    return (
        change.status == "proposed" and side is not None and side != proposer_side(session, change)
    )


def can_withdraw(session: Session, actor: Actor, change: m.ContingentChange) -> bool:
    side = party(session, actor, change.corporation_id, change.gemeente_code)
    return (
        change.status == "proposed" and side is not None and side == proposer_side(session, change)
    )


def _waiting(change: m.ContingentChange) -> None:
    if change.status != "proposed":
        raise WorkflowError(f"voorstel {change.id} is al afgehandeld")


def decide(
    session: Session, actor: Actor, change_id: int, accept: bool, note: str = ""
) -> m.ContingentChange:
    """The other party accepts (the amount then counts) or rejects a waiting proposal."""
    _party_role(actor)
    change = get_change(session, actor, change_id)
    _waiting(change)
    if not can_decide(session, actor, change):
        raise Forbidden("alleen de andere partij van de afspraak beslist over dit voorstel")
    now = datetime.now(UTC)
    if accept:
        current = _contingent(
            session, change.corporation_id, change.gemeente_code, change.year, change.type_id
        )
        agreed = current.amount if current is not None else None
        if agreed != change.old_amount:
            raise WorkflowError(
                f"de afspraak is sinds het voorstel gewijzigd ({change.old_amount} → {agreed})"
            )
        if current is not None and change.new_amount < current.used:
            raise _refuse("amount", f"mag niet lager zijn dan wat al gebruikt is ({current.used})")
        if current is None:
            current = m.Contingent(
                corporation_id=change.corporation_id,
                gemeente_code=change.gemeente_code,
                year=change.year,
                type_id=change.type_id,
                amount=change.new_amount,
                used=0,
            )
            session.add(current)
            session.flush()
            change.contingent_id = current.id
        else:
            current.amount = change.new_amount
    change.status = "accepted" if accept else "rejected"
    change.decided_by_id = actor.user_id
    change.decided_at = now
    change.decision_note = note or None
    audit(
        session,
        actor,
        "contingent.accept" if accept else "contingent.reject",
        "contingent_change",
        change.id,
        {**_detail(change), "note": note or None},
    )
    notifications.contingent_decided(session, change)
    return change


def withdraw(session: Session, actor: Actor, change_id: int) -> m.ContingentChange:
    """The proposing side takes its waiting proposal back."""
    _party_role(actor)
    change = get_change(session, actor, change_id)
    _waiting(change)
    if not can_withdraw(session, actor, change):
        raise Forbidden("alleen de indienende partij trekt een voorstel in")
    change.status = "withdrawn"
    change.decided_by_id = actor.user_id
    change.decided_at = datetime.now(UTC)
    audit(session, actor, "contingent.withdraw", "contingent_change", change.id, _detail(change))
    return change


def corporations(session: Session) -> list[m.Organisation]:
    """Corporations a gemeente can make an agreement with."""
    return list(
        session.scalars(
            select(m.Organisation)
            .where(m.Organisation.kind == "corporatie", m.Organisation.active.is_(True))
            .order_by(m.Organisation.name)
        )
    )


def gemeenten(session: Session) -> list[m.Area]:
    return list(
        session.scalars(select(m.Area).where(m.Area.level == "gemeente").order_by(m.Area.name))
    )


def housing_types(session: Session) -> list[m.HousingType]:
    return list(session.scalars(select(m.HousingType).order_by(m.HousingType.name)))
