"""Reference data the administrator keeps: the menukaart (housing type rules) and the policy
rows by date. Every change is checked as a record (matcher.records) and audited with the fields
it changed, from and to."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.rounds import Actor, Forbidden, NotFound, audit
from matcher.records import HousingTypeRecord, PolicyRecord, RecordInvalid
from store import models as m

TYPE_FIELDS = tuple(HousingTypeRecord.model_fields)
POLICY_FIELDS = tuple(PolicyRecord.model_fields)


def _admin_only(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden("alleen beheer wijzigt de menukaart en de beleidstabel")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _apply(row: Any, record: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """Copy ``fields`` from ``record`` onto ``row``; what changed, from and to."""
    changes: dict[str, Any] = {}
    for name in fields:
        new = getattr(record, name)
        old = getattr(row, name, None)
        if old != new:
            changes[name] = {"from": _json(old), "to": _json(new)}
            setattr(row, name, new)
    return changes


def list_types(session: Session) -> list[m.HousingType]:
    return list(session.scalars(select(m.HousingType).order_by(m.HousingType.code)))


def get_type(session: Session, code: str) -> m.HousingType:
    found = session.scalars(select(m.HousingType).where(m.HousingType.code == code)).first()
    if found is None:
        raise NotFound(f"woonvorm {code} bestaat niet")
    return found


def save_type(
    session: Session, actor: Actor, record: HousingTypeRecord, *, new: bool
) -> m.HousingType:
    """Create (``new``) or change a menukaart row; the code names the row and does not
    change. Options and youths refer to the row, so a type is never deleted here."""
    _admin_only(actor)
    existing = session.scalars(
        select(m.HousingType).where(m.HousingType.code == record.code)
    ).first()
    if new and existing is not None:
        raise RecordInvalid("housing_type", [("code", f"code: woonvorm {record.code} bestaat al")])
    if not new and existing is None:
        raise NotFound(f"woonvorm {record.code} bestaat niet")
    row = existing if existing is not None else m.HousingType()
    changes = _apply(row, record, TYPE_FIELDS)
    if existing is None:
        session.add(row)
    session.flush()
    if changes:
        action = "housing_type.create" if new else "housing_type.update"
        audit(session, actor, action, "housing_type", record.code, changes)
    return row


def list_policies(session: Session) -> list[m.PolicyRow]:
    return list(session.scalars(select(m.PolicyRow).order_by(m.PolicyRow.valid_from.desc())))


def get_policy(session: Session, valid_from: date) -> m.PolicyRow:
    found = session.scalars(select(m.PolicyRow).where(m.PolicyRow.valid_from == valid_from)).first()
    if found is None:
        raise NotFound(f"er is geen beleidsrij geldig vanaf {valid_from.isoformat()}")
    return found


def save_policy(
    session: Session,
    actor: Actor,
    record: PolicyRecord,
    *,
    valid_from: date | None = None,
) -> m.PolicyRow:
    """Add a policy row (``valid_from`` None) or change the row in force from ``valid_from``
    (its date may move, not onto another row's date)."""
    _admin_only(actor)
    row: m.PolicyRow | None = None
    if valid_from is not None:
        row = get_policy(session, valid_from)
    clash = session.scalars(
        select(m.PolicyRow).where(m.PolicyRow.valid_from == record.valid_from)
    ).first()
    if clash is not None and clash is not row:
        raise RecordInvalid(
            "policy",
            [
                (
                    "valid_from",
                    f"geldig vanaf: er is al een rij vanaf {record.valid_from.isoformat()}",
                )
            ],
        )
    new = row is None
    target = row if row is not None else m.PolicyRow()
    changes = _apply(target, record, POLICY_FIELDS)
    if new:
        session.add(target)
    session.flush()
    if changes:
        action = "policy.create" if new else "policy.update"
        audit(session, actor, action, "policy", record.valid_from.isoformat(), changes)
    return target
