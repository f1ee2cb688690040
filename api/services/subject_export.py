"""Data-subject export (AVG art. 15, right of access): everything stek holds about one young
person, for the privacy officer (role ``privacy``) only, as one JSON-ready dict.

It gathers the youth record, preferences (accepted housing types, preferred areas), no-go areas
(code or polygon as WKT, RD New), anchors, companions and conflicts (both directions), every
match in every round with its decisions, the record as frozen in each round's snapshot,
in-app notifications that mention the young person, and the audit entries about them (on the
youth, on their matches, or naming them in an entry's detail). The export itself is audited
(``subject.export``) before it is returned.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import shapely
from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session, aliased

from api.services.rounds import Actor, Forbidden, NotFound, audit
from store import models as m

EXPORT_ROLES = ("privacy",)
FORMAT_VERSION = 1


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _record(youth: m.Youth) -> dict[str, Any]:
    regisseur = youth.regisseur
    return {
        "code": youth.code,
        "birth_date": _iso(youth.birth_date),
        "gemeente_code": youth.gemeente_code,
        "income": youth.income,
        "support_need": youth.support_need,
        "urgency": youth.urgency,
        "care_end_date": _iso(youth.care_end_date),
        "waiting_since": _iso(youth.waiting_since),
        "max_rent": youth.max_rent,
        "household_size": youth.household_size,
        "max_distance_m": youth.max_distance_m,
        "support_provider": youth.support_provider,
        "status": youth.status,
        "placed_on": _iso(youth.placed_on),
        "regisseur": {"name": regisseur.name, "email": regisseur.email} if regisseur else None,
    }


def _no_go(area: m.YouthNoGoArea) -> dict[str, Any]:
    if area.area_code is not None:
        return {"area_code": area.area_code, "polygon_wkt": None}
    geometry = shapely.from_wkb(area.geometry) if area.geometry is not None else None
    return {"area_code": None, "polygon_wkt": geometry.wkt if geometry is not None else None}


def _relations(session: Session, youth: m.Youth) -> list[dict[str, str]]:
    other = aliased(m.Youth)
    rows = session.execute(
        select(m.YouthRelation.kind, m.YouthRelation.youth_id, other.code)
        .join(
            other,
            or_(
                (m.YouthRelation.youth_id == youth.id)
                & (other.id == m.YouthRelation.other_youth_id),
                (m.YouthRelation.other_youth_id == youth.id)
                & (other.id == m.YouthRelation.youth_id),
            ),
        )
        .order_by(m.YouthRelation.kind, other.code)
    ).all()
    return [
        {"kind": kind, "other": code, "recorded_for": "this" if owner == youth.id else "other"}
        for kind, owner, code in rows
    ]


def _matches(session: Session, youth: m.Youth) -> list[dict[str, Any]]:
    decider = aliased(m.User)
    confirmer = aliased(m.User)
    rows = session.execute(
        select(m.Match, m.Proposal, m.AllocationRound, m.HousingOption.code, decider, confirmer)
        .join(m.Proposal, m.Match.proposal_id == m.Proposal.id)
        .join(m.AllocationRound, m.Proposal.round_id == m.AllocationRound.id)
        .join(m.HousingOption, m.Match.option_id == m.HousingOption.id)
        .outerjoin(decider, m.Match.decided_by_id == decider.id)
        .outerjoin(confirmer, m.Match.confirmed_by_id == confirmer.id)
        .where(m.Match.youth_id == youth.id)
        .order_by(m.AllocationRound.month, m.Proposal.version, m.Match.id)
    ).all()
    return [
        {
            "match_id": match.id,
            "round_id": rnd.id,
            "round_month": _iso(rnd.month),
            "round_status": rnd.status,
            "proposal_version": proposal.version,
            "option": option_code,
            "score": match.score,
            "status": match.status,
            "reason_code": match.reason_code,
            "reason_text": match.reason_text,
            "decided_by": d.email if d else None,
            "decided_at": _iso(match.decided_at),
            "confirmed_by": c.email if c else None,
            "confirmed_at": _iso(match.confirmed_at),
        }
        for match, proposal, rnd, option_code, d, c in rows
    ]


def _snapshots(session: Session, youth: m.Youth) -> list[dict[str, Any]]:
    """The young person's record as frozen in each round's snapshot (kept until retention
    prunes a finished round)."""
    found = []
    for rnd in session.scalars(select(m.AllocationRound).order_by(m.AllocationRound.month)):
        for record in (rnd.snapshot or {}).get("youths", []) or []:
            if isinstance(record, dict) and record.get("code") == youth.code:
                found.append({"round_id": rnd.id, "round_month": _iso(rnd.month), "record": record})
    return found


def _notifications(session: Session, youth: m.Youth) -> list[dict[str, Any]]:
    rows = session.execute(
        select(m.Notification, m.User.email)
        .join(m.User, m.Notification.user_id == m.User.id)
        .where(
            or_(
                m.Notification.subject.contains(youth.code, autoescape=True),
                m.Notification.body.contains(youth.code, autoescape=True),
            )
        )
        .order_by(m.Notification.id)
    ).all()
    return [
        {
            "id": n.id,
            "to": email,
            "kind": n.kind,
            "subject": n.subject,
            "body": n.body,
            "created_at": _iso(n.created_at),
            "read_at": _iso(n.read_at),
        }
        for n, email in rows
    ]


def _names(value: Any, youth: m.Youth) -> bool:
    """Whether an audit entry's detail names the young person (by code, or as ``youth`` id)."""
    if isinstance(value, dict):
        if value.get("youth") in (youth.id, youth.code):
            return True
        return any(_names(v, youth) for v in value.values())
    if isinstance(value, list):
        return any(_names(v, youth) for v in value)
    return value == youth.code


def audit_entries_about(session: Session, youth: m.Youth) -> list[dict[str, Any]]:
    """Audit entries about the young person: on the youth, on one of their matches, or naming
    them in the detail (candidates by text, then checked on the parsed detail)."""
    match_ids = [
        str(i) for i in session.scalars(select(m.Match.id).where(m.Match.youth_id == youth.id))
    ]
    detail_text = cast(m.AuditEntry.detail, String)
    rows = session.execute(
        select(m.AuditEntry, m.User.email)
        .outerjoin(m.User, m.AuditEntry.user_id == m.User.id)
        .where(
            or_(
                (m.AuditEntry.entity == "youth") & (m.AuditEntry.entity_id == youth.code),
                (m.AuditEntry.entity == "match") & m.AuditEntry.entity_id.in_(match_ids),
                detail_text.contains(f'"{youth.code}"', autoescape=True),
                detail_text.contains(f'"youth": {youth.id}', autoescape=True),
            )
        )
        .order_by(m.AuditEntry.id)
    ).all()
    out = []
    for entry, email in rows:
        direct = entry.entity in ("youth", "match") and (
            entry.entity_id == youth.code or entry.entity_id in match_ids
        )
        if not direct and not _names(entry.detail, youth):
            continue
        out.append(
            {
                "id": entry.id,
                "at": _iso(entry.at),
                "user": email,
                "action": entry.action,
                "entity": entry.entity,
                "entity_id": entry.entity_id,
                "detail": entry.detail,
            }
        )
    return out


def subject_export(session: Session, actor: Actor, code: str, fmt: str) -> dict[str, Any]:
    """Everything stek holds about the young person ``code``; audited as ``subject.export``
    (``fmt``: ``json`` or ``html``). Only the privacy officer may ask."""
    if actor.role not in EXPORT_ROLES:
        raise Forbidden("alleen de functionaris gegevensbescherming maakt een inzage-export")
    youth = session.scalar(select(m.Youth).where(m.Youth.code == code))
    if youth is None:
        raise NotFound(f"jongere {code} bestaat niet")
    export = {
        "format_version": FORMAT_VERSION,
        "made_at": _iso(datetime.now(UTC)),
        "youth": _record(youth),
        "accepted_types": [
            {"rank": t.rank, "type": t.type.code, "name": t.type.name} for t in youth.accepted_types
        ],
        "preferred_areas": [
            {"rank": a.rank, "area_code": a.area_code} for a in youth.preferred_areas
        ],
        "no_go_areas": [_no_go(a) for a in youth.no_go_areas],
        "anchors": [{"label": a.label, "x": a.x, "y": a.y} for a in youth.anchors],
        "relations": _relations(session, youth),
        "matches": _matches(session, youth),
        "round_snapshots": _snapshots(session, youth),
        "notifications": _notifications(session, youth),
        "audit_entries": audit_entries_about(session, youth),
    }
    json.dumps(export, allow_nan=False)  # fails here, not in the response, on a bad value
    audit(session, actor, "subject.export", "youth", youth.code, {"format": fmt})
    return export
