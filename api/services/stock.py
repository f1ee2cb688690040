"""A corporation's own stock: register a vacancy, withdraw it or mark it occupied.

The form's text goes through ``matcher.records.OptionRecord`` with the menukaart, the type's
persons per dwelling and the region's outline as context; the location (a map click) is snapped
to the gemeente, wijk and buurt whose polygons hold it. Problems come back as one Dutch message
per field, with nothing written. Only the corporation itself (role ``corporatie``) reaches its
options: every query filters on its organisation, so another corporation's option is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from api.errors import Forbidden, NotFound
from api.services import places
from api.services.intake import Invalid
from api.services.rounds import Actor, audit
from matcher.glossary import label
from matcher.records import OptionRecord, RecordContext, field_errors
from store import models as m

# status changes a corporation makes by hand: from -> allowed targets
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "available": ("withdrawn", "placed"),
    "withdrawn": ("available",),
    "placed": ("available",),
}


@dataclass
class OptionInput:
    """The vacancy form as sent (text per field)."""

    type_code: str = ""
    address: str = ""
    location: str = ""  # "lat, lon" from a map click
    kale_huur: str = ""
    servicekosten: str = "0"
    capacity: str = "1"
    available_from: str = ""
    accessibility_notes: str = ""


def _corporation(session: Session, actor: Actor) -> m.Organisation:
    if actor.role != "corporatie" or actor.organisation_id is None:
        raise Forbidden("alleen een woningcorporatie beheert haar eigen woningaanbod")
    org = session.get(m.Organisation, actor.organisation_id)
    if org is None or org.kind != "corporatie":
        raise Forbidden("je organisatie is geen woningcorporatie")
    return org


def own_options(session: Session, actor: Actor) -> list[m.HousingOption]:
    """The corporation's options, newest registrations first within status."""
    org = _corporation(session, actor)
    return list(
        session.scalars(
            select(m.HousingOption)
            .where(m.HousingOption.corporation_id == org.id)
            .options(joinedload(m.HousingOption.type))
            .order_by(m.HousingOption.status, m.HousingOption.code)
        )
    )


def _number(text: str) -> str:
    text = text.strip().replace("€", "").replace(" ", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    return text


def _next_code(session: Session, org: m.Organisation) -> str:
    prefix = f"{org.code}-W"
    codes = session.scalars(
        select(m.HousingOption.code).where(m.HousingOption.code.like(f"{prefix}%"))
    )
    numbers = [int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:04d}"[:40]


def register_option(session: Session, actor: Actor, raw: OptionInput) -> m.HousingOption:
    """A new available option of the actor's corporation from the form (location "lat, lon"
    from a map click); Invalid with nothing written."""
    org = _corporation(session, actor)
    errors: dict[str, str] = {}
    data: dict[str, object] = {}
    for name in ("type_code", "available_from"):
        value = getattr(raw, name).strip()
        if value:
            data[name] = value
    for name in ("kale_huur", "servicekosten", "capacity"):
        value = _number(getattr(raw, name))
        if value:
            data[name] = value
    data["address"] = raw.address.strip()
    data["accessibility_notes"] = raw.accessibility_notes.strip()
    try:
        point = places.parse_latlon(raw.location)
    except places.PlaceError as exc:
        errors["location"] = str(exc)
        point = None
    if point is None:
        errors.setdefault("location", "klik op de kaart waar de woning ligt")
    else:
        data["x"], data["y"] = round(point[0], 1), round(point[1], 1)
    return _register(session, actor, org, data, errors)


def register_option_record(session: Session, actor: Actor, data: dict[str, Any]) -> m.HousingOption:
    """The same from a JSON object with ``OptionRecord``'s fields (x, y in RD New); the code
    is the server's, never the caller's."""
    org = _corporation(session, actor)
    return _register(session, actor, org, {k: v for k, v in data.items() if k != "code"}, {})


def _register(
    session: Session,
    actor: Actor,
    org: m.Organisation,
    data: dict[str, Any],
    errors: dict[str, str],
) -> m.HousingOption:
    data["code"] = _next_code(session, org)
    types = dict(session.execute(select(m.HousingType.code, m.HousingType.persons_max)).all())
    ctx = RecordContext(
        today=date.today(),
        type_codes=frozenset(types),
        persons_max=types,
        region=places.region_outline(session),
    )
    record = None
    try:
        record = OptionRecord.model_validate(data, context=ctx)
    except ValidationError as exc:
        for key, message in field_errors(exc).items():
            errors.setdefault("location" if key in ("x", "y") else key, message)
    where = places.locate(session, record.x, record.y) if record is not None else None
    if record is not None and where is None:
        errors.setdefault("location", "de locatie ligt in geen enkele gemeente van de regio")
    if errors or record is None or where is None:
        raise Invalid(errors)
    type_id = session.scalar(select(m.HousingType.id).where(m.HousingType.code == record.type_code))
    option = m.HousingOption(
        code=record.code,
        type_id=type_id,
        corporation_id=org.id,
        gemeente_code=where["gemeente"],
        wijk_code=where["wijk"],
        buurt_code=where["buurt"],
        x=record.x,
        y=record.y,
        kale_huur=record.kale_huur,
        servicekosten=record.servicekosten,
        capacity=record.capacity,
        available_from=record.available_from,
        status="available",
        address=record.address or None,
        accessibility_notes=record.accessibility_notes or None,
        synthetic=False,
    )
    session.add(option)
    session.flush()
    audit(
        session,
        actor,
        "option.create",
        "option",
        option.code,
        {
            "type": record.type_code,
            "gemeente": where["gemeente"],
            "wijk": where["wijk"],
            "buurt": where["buurt"],
            "kale_huur": record.kale_huur,
            "servicekosten": record.servicekosten,
            "capacity": record.capacity,
            "available_from": record.available_from.isoformat(),
        },
    )
    return option


def set_option_status(session: Session, actor: Actor, code: str, status: str) -> m.HousingOption:
    """Withdraw an option, mark it occupied, or make it available again (own options only)."""
    org = _corporation(session, actor)
    option = session.scalars(
        select(m.HousingOption).where(
            m.HousingOption.code == code, m.HousingOption.corporation_id == org.id
        )
    ).first()
    if option is None:
        raise NotFound(f"woning {code} bestaat niet of is niet van jouw corporatie")
    if status not in TRANSITIONS.get(option.status, ()):
        raise Invalid(
            {
                "status": f"van '{label('option_status', option.status)}' naar "
                f"'{label('option_status', status)}' kan niet"
            }
        )
    before = option.status
    option.status = status
    audit(session, actor, "option.status", "option", option.code, {"from": before, "to": status})
    return option
