"""Youth intake and change by the own regisseur: register, edit, change status, history.

The form's raw text goes through ``matcher.records.YouthRecord`` (one set of field rules for every
entry path) with the database's codes, the region's outline and the regisseur's caseload as
context; any problem is a Dutch message per field and nothing is written. Every write is audited
with what changed: fields of the case itself (income, rent and distance limits, anchors,
preferred and no-go areas, companions, conflicts) are named but their values are left out,
because the gemeente reads the audit entries about its young people (``api.services.audit_log``)
and must not see a no-go area that way. The audit entries are the version history.

A change while a round is open does not change that round (it works on its snapshot);
``round_effect`` says whether the youth's current proposal still fits the new data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import shapely
from pydantic import ValidationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from api.errors import Forbidden, InvalidInput, NotFound
from api.formatting import nl_month
from api.services import places
from api.services.rounds import Actor, audit
from api.services.scope import case_filter
from api.services.suggestions import youth_from_row
from matcher.glossary import label
from matcher.records import (
    AnchorRecord,
    RecordContext,
    YouthRecord,
    field_errors,
    parse_polygon_wkt,
)
from matcher.roundfile import round_from_data
from matcher.rules import RoundContext, pair_reasons
from store import models as m
from store.geometry import from_wkb, to_wkb

ANCHOR_LABELS = ("school", "werk", "netwerk")
RANKS = 5  # accepted types and preferred areas the form offers
NO_GO_FIELDS = 5  # no-go areas by name the form offers
OPEN_ROUND_STATES = ("created", "solving", "draft", "published", "failed")
STATUS_CHOICES = ("waiting", "placed", "inactive")

# Dutch names of the fields, for messages and the history
FIELD_NAMES: dict[str, str] = {
    "birth_date": "geboortedatum",
    "gemeente_code": "gemeente",
    "income": "inkomen",
    "household_size": "huishoudgrootte",
    "support_need": "ondersteuningsbehoefte",
    "care_end_date": "einddatum zorg",
    "urgency": "urgentie",
    "max_rent": "maximale huur",
    "max_distance_m": "maximale afstand",
    "support_provider": "zorgaanbieder",
    "accepted_types": "woonvormen",
    "preferred_areas": "voorkeursgebieden",
    "anchors": "ankerpunten",
    "no_go_codes": "no-go-gebieden (op naam)",
    "no_go_wkt": "getekende no-go-gebieden",
    "companions": "samen met",
    "conflicts": "niet samen met",
    "status": "status",
    "anchor_school": "ankerpunt school",
    "anchor_werk": "ankerpunt werk",
    "anchor_netwerk": "ankerpunt netwerk",
    "code": "jongerecode",
}
# The case itself: named in the audit entry when changed, values left out (see module doc).
CASE_FIELDS = frozenset(
    {
        "income",
        "max_rent",
        "max_distance_m",
        "anchors",
        "preferred_areas",
        "no_go_codes",
        "no_go_wkt",
        "companions",
        "conflicts",
    }
)
ACTIONS = {
    "youth.create": "aangemeld",
    "youth.update": "gegevens gewijzigd",
    "youth.status": "status gewijzigd",
}


class Invalid(InvalidInput):
    """The form has problems: one Dutch message per field; nothing was written."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class YouthInput:
    """The intake form as sent: text per field, lists in rank order (empty entries dropped)."""

    birth_date: str = ""
    gemeente_code: str = ""
    income: str = ""
    household_size: str = "1"
    support_need: str = ""
    care_end_date: str = ""
    urgency: str = "1"
    max_rent: str = ""
    max_distance_km: str = ""
    support_provider: str = ""
    accepted_types: list[str] = field(default_factory=list)
    preferred_areas: list[str] = field(default_factory=list)
    anchors: dict[str, str] = field(default_factory=dict)  # label -> "lat, lon"
    no_go_areas: list[str] = field(default_factory=list)
    no_go_drawing: str = ""
    companions: str = ""
    conflicts: str = ""


@dataclass
class Saved:
    youth: m.Youth
    changed: list[str]
    round_note: str | None


def _number(text: str) -> str:
    """Dutch or plain decimals: ``1.234,50`` and ``1234.50`` both give ``1234.50``."""
    text = text.strip().replace("€", "").replace(" ", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    return text


def _codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,;]+", text.strip()) if c]


def own_youth(session: Session, actor: Actor, code: str) -> m.Youth:
    """Youth ``code`` from the actor's own caseload (regisseur only), with its lists."""
    if actor.role != "regisseur":
        raise Forbidden("alleen de eigen regisseur meldt jongeren aan en wijzigt hun gegevens")
    youth = session.scalars(
        select(m.Youth)
        .where(m.Youth.code == code, case_filter(actor))
        .options(
            selectinload(m.Youth.accepted_types).selectinload(m.YouthAcceptedType.type),
            selectinload(m.Youth.preferred_areas),
            selectinload(m.Youth.anchors),
            selectinload(m.Youth.no_go_areas),
            selectinload(m.Youth.relations).selectinload(m.YouthRelation.other),
        )
    ).first()
    if youth is None:
        raise NotFound(f"jongere {code} bestaat niet of valt buiten je caseload")
    return youth


def record_context(session: Session, actor: Actor, own_code: str | None) -> RecordContext:
    """The database's codes, the region and the caseload a youth record is checked against."""
    caseload = set(session.scalars(select(m.Youth.code).where(case_filter(actor))))
    caseload.discard(own_code or "")
    return RecordContext(
        today=date.today(),
        type_codes=frozenset(session.scalars(select(m.HousingType.code))),
        area_codes=frozenset(session.scalars(select(m.Area.code))),
        region=places.region_outline(session),
        caseload=frozenset(caseload),
    )


def _data(
    raw: YouthInput,
    choices: list[places.AreaChoice],
    ctx: RecordContext,
    locate: Callable[[str], tuple[float, float]] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The record's input from the form and the problems found while reading it (an anchor's
    problem under that anchor's own field). An anchor given as a place name (a gemeente, wijk
    or buurt from the list) lands on a point inside that area (``locate``: code -> RD point)."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for name in ("birth_date", "gemeente_code", "support_need", "care_end_date", "urgency"):
        value = getattr(raw, name).strip()
        if value:
            data[name] = value
    for name in ("income", "household_size", "max_rent"):
        value = _number(getattr(raw, name))
        if value:
            data[name] = value
    if raw.max_distance_km.strip():
        try:
            data["max_distance_m"] = float(_number(raw.max_distance_km)) * 1000
        except ValueError:
            errors["max_distance_m"] = "vul een getal in (kilometer)"
    if raw.support_provider.strip():
        data["support_provider"] = raw.support_provider.strip()
    data["accepted_types"] = [t.strip() for t in raw.accepted_types if t.strip()]
    for name, texts in (("preferred_areas", raw.preferred_areas), ("no_go_codes", raw.no_go_areas)):
        codes = []
        for text in (t for t in texts if t.strip()):
            code = places.resolve_area(text, choices)
            if code is None:
                errors.setdefault(name, f"geen gebied gevonden met de naam '{text.strip()}'")
            else:
                codes.append(code)
        data[name] = codes
    anchors = []
    for name in ANCHOR_LABELS:
        text = raw.anchors.get(name, "")
        try:
            if text.strip() and locate is not None and not places.looks_like_coordinates(text):
                code = places.resolve_area(text, choices)
                if code is None:
                    raise places.PlaceError(
                        f"geen plaats gevonden met de naam '{text.strip()[:60]}'; kies er een uit "
                        "de lijst, klik op de kaart of typ breedtegraad, lengtegraad"
                    )
                point: tuple[float, float] | None = locate(code)
            else:
                point = places.parse_latlon(text)
        except places.PlaceError as exc:
            errors[f"anchor_{name}"] = str(exc)
            continue
        if point is None:
            continue
        anchor = {"label": name, "x": point[0], "y": point[1]}
        try:
            AnchorRecord.model_validate(anchor, context=ctx)
        except ValidationError as exc:
            errors[f"anchor_{name}"] = next(iter(field_errors(exc).values()))
            continue
        anchors.append(anchor)
    data["anchors"] = anchors
    try:
        data["no_go_wkt"] = places.drawing_to_rd_wkt(raw.no_go_drawing)
    except places.PlaceError as exc:
        errors["no_go_wkt"] = str(exc)
    data["companions"] = _codes(raw.companions)
    data["conflicts"] = _codes(raw.conflicts)
    return data, errors


def _validated(
    data: dict[str, Any], ctx: RecordContext, errors: dict[str, str]
) -> YouthRecord | None:
    try:
        record = YouthRecord.model_validate(data, context=ctx)
    except ValidationError as exc:
        for key, message in field_errors(exc).items():
            errors.setdefault(key, message)
        return None
    return record if not errors else None


def _next_code(session: Session) -> str:
    """The next free youth code ``J-nnnnnn``."""
    codes = session.scalars(select(m.Youth.code).where(m.Youth.code.like("J-%")))
    numbers = [int(c[2:]) for c in codes if c[2:].isdigit()]
    return f"J-{max(numbers, default=0) + 1:06d}"


def _snapshot(youth: m.Youth) -> dict[str, Any]:
    """The youth's fields as plain values (for the change list and the audit entry)."""
    no_go = sorted(youth.no_go_areas, key=lambda n: n.id)
    return {
        "birth_date": youth.birth_date.isoformat(),
        "gemeente_code": youth.gemeente_code,
        "income": youth.income,
        "household_size": youth.household_size,
        "support_need": youth.support_need,
        "care_end_date": youth.care_end_date.isoformat() if youth.care_end_date else None,
        "urgency": youth.urgency,
        "max_rent": youth.max_rent,
        "max_distance_m": youth.max_distance_m,
        "support_provider": youth.support_provider,
        "accepted_types": [a.type.code for a in youth.accepted_types],
        "preferred_areas": [p.area_code for p in youth.preferred_areas],
        "anchors": sorted((a.label, round(a.x), round(a.y)) for a in youth.anchors),
        "no_go_codes": [n.area_code for n in no_go if n.area_code],
        "no_go_wkt": [from_wkb(n.geometry).wkt for n in no_go if n.geometry is not None],
        "companions": sorted(r.other.code for r in youth.relations if r.kind == "companion"),
        "conflicts": sorted(r.other.code for r in youth.relations if r.kind == "conflict"),
    }


def _audit_values(snapshot: dict[str, Any], changed: list[str]) -> dict[str, Any]:
    return {k: snapshot[k] for k in changed if k not in CASE_FIELDS}


def _write(session: Session, youth: m.Youth, rec: YouthRecord) -> None:
    youth.birth_date = rec.birth_date
    youth.gemeente_code = rec.gemeente_code
    youth.income = rec.income
    youth.household_size = rec.household_size
    youth.support_need = rec.support_need
    youth.care_end_date = rec.care_end_date
    youth.urgency = rec.urgency
    youth.max_rent = rec.max_rent
    youth.max_distance_m = rec.max_distance_m
    youth.support_provider = rec.support_provider
    type_ids = dict(session.execute(select(m.HousingType.code, m.HousingType.id)).all())
    youth.accepted_types = [
        m.YouthAcceptedType(rank=k, type_id=type_ids[t]) for k, t in enumerate(rec.accepted_types)
    ]
    youth.preferred_areas = [
        m.YouthPreferredArea(rank=k, area_code=c) for k, c in enumerate(rec.preferred_areas)
    ]
    youth.anchors = [m.YouthAnchor(label=a.label, x=a.x, y=a.y) for a in rec.anchors]
    youth.no_go_areas = [m.YouthNoGoArea(area_code=c) for c in rec.no_go_codes] + [
        m.YouthNoGoArea(geometry=to_wkb(parse_polygon_wkt(w))) for w in rec.no_go_wkt
    ]
    session.flush()
    ids = dict(
        session.execute(
            select(m.Youth.code, m.Youth.id).where(m.Youth.code.in_(rec.companions + rec.conflicts))
        ).all()
    )
    r = m.YouthRelation
    # companions are stored both ways (as the importer does); conflicts from this youth
    session.execute(
        delete(r).where(
            or_(
                r.youth_id == youth.id,
                (r.other_youth_id == youth.id) & (r.kind == "companion"),
            )
        )
    )
    for other in rec.companions:
        session.add(r(youth_id=youth.id, other_youth_id=ids[other], kind="companion"))
        session.add(r(youth_id=ids[other], other_youth_id=youth.id, kind="companion"))
    for other in rec.conflicts:
        session.add(r(youth_id=youth.id, other_youth_id=ids[other], kind="conflict"))
    session.flush()
    session.expire(youth, ["relations"])


def save_youth(session: Session, actor: Actor, code: str | None, raw: YouthInput) -> Saved:
    """Register a new youth in the actor's caseload (``code`` None) or change one of it, from
    the intake form (areas by name, anchors and drawings in WGS84).

    Raises Invalid (field -> Dutch message) with nothing written, NotFound for a youth outside
    the caseload, Forbidden for any role but regisseur.
    """
    youth, ctx = _target(session, actor, code)
    data, errors = _data(
        raw, places.area_choices(session), ctx, lambda code: places.area_point(session, code)
    )
    return _save(session, actor, youth, ctx, data, errors)


def save_youth_record(
    session: Session, actor: Actor, code: str | None, data: dict[str, Any]
) -> Saved:
    """The same from a JSON object with ``YouthRecord``'s fields (areas by CBS code, anchors
    and no-go polygons in RD New); the youth's code is the server's, never the caller's."""
    youth, ctx = _target(session, actor, code)
    return _save(session, actor, youth, ctx, {k: v for k, v in data.items() if k != "code"}, {})


def _target(
    session: Session, actor: Actor, code: str | None
) -> tuple[m.Youth | None, RecordContext]:
    if actor.role != "regisseur" or actor.user_id is None:
        raise Forbidden("alleen een regisseur meldt jongeren aan en wijzigt hun gegevens")
    youth = own_youth(session, actor, code) if code is not None else None
    own_code = youth.code if youth else _next_code(session)
    return youth, record_context(session, actor, own_code)


def _save(
    session: Session,
    actor: Actor,
    youth: m.Youth | None,
    ctx: RecordContext,
    data: dict[str, Any],
    errors: dict[str, str],
) -> Saved:
    data["code"] = youth.code if youth else _next_code(session)
    record = _validated(data, ctx, errors)
    if record is None:
        raise Invalid(errors)
    before = _snapshot(youth) if youth else None
    if youth is None:
        youth = m.Youth(
            code=record.code,
            birth_date=record.birth_date,
            gemeente_code=record.gemeente_code,
            income=record.income,
            support_need=record.support_need,
            regisseur_id=actor.user_id,
            status="waiting",
            waiting_since=date.today(),
            synthetic=False,
        )
        session.add(youth)
        session.flush()
    _write(session, youth, record)
    session.refresh(youth)
    after = _snapshot(youth)
    if before is None:  # a registration lists what was filled in
        changed = [k for k, v in after.items() if v not in (None, [], "")]
    else:
        changed = [k for k in after if before[k] != after[k]]
    if before is None:
        audit(
            session,
            actor,
            "youth.create",
            "youth",
            youth.code,
            {"changed": changed, "after": _audit_values(after, changed)},
        )
    elif changed:
        audit(
            session,
            actor,
            "youth.update",
            "youth",
            youth.code,
            {
                "changed": changed,
                "before": _audit_values(before, changed),
                "after": _audit_values(after, changed),
            },
        )
    return Saved(youth, changed, round_effect(session, youth) if before else None)


def set_status(session: Session, actor: Actor, code: str, status: str, reason: str) -> m.Youth:
    """Change a youth's status (wachtend, geplaatst, uitgeschreven) with a reason, audited."""
    youth = own_youth(session, actor, code)
    errors = {}
    if status not in STATUS_CHOICES:
        errors["status"] = "kies een status"
    elif status == youth.status:
        errors["status"] = f"de status is al '{label('youth_status', status)}'"
    reason = reason.strip()
    if not reason:
        errors["reason"] = "geef een reden"
    elif len(reason) > 500:
        errors["reason"] = "te lang (hoogstens 500 tekens)"
    if errors:
        raise Invalid(errors)
    before = youth.status
    youth.status = status
    if status == "placed" and youth.placed_on is None:
        youth.placed_on = date.today()
    if status == "waiting":
        youth.placed_on = None
        youth.waiting_since = youth.waiting_since or date.today()
    audit(
        session,
        actor,
        "youth.status",
        "youth",
        youth.code,
        {
            "changed": ["status"],
            "before": {"status": before},
            "after": {"status": status},
            "reason": reason,
        },
    )
    return youth


def round_effect(session: Session, youth: m.Youth) -> str | None:
    """What a change means for the open round, if there is one (Dutch), else None."""
    rnd = session.scalars(
        select(m.AllocationRound)
        .where(m.AllocationRound.status.in_(OPEN_ROUND_STATES))
        .order_by(m.AllocationRound.month.desc(), m.AllocationRound.id.desc())
        .limit(1)
    ).first()
    if rnd is None:
        return None
    where = f"Er loopt een ronde voor {nl_month(rnd.month)} ({label('round_status', rnd.status)})"
    snapshot = rnd.snapshot or {}
    if youth.code not in {y.get("code") for y in snapshot.get("youths", [])}:
        return f"{where}; {youth.code} zit daar niet in. De wijziging telt vanaf de volgende ronde."
    version = session.scalar(
        select(func.max(m.Proposal.version)).where(m.Proposal.round_id == rnd.id)
    )
    match = None
    if version is not None:
        match = session.scalars(
            select(m.Match)
            .join(m.Proposal)
            .where(
                m.Proposal.round_id == rnd.id,
                m.Proposal.version == version,
                m.Match.youth_id == youth.id,
            )
        ).first()
    if match is None:
        return (
            f"{where}; daarin heeft {youth.code} geen voorgestelde woonplek. De ronde rekent met "
            "de gegevens van het moment van aanmaken: de wijziging telt vanaf de volgende ronde."
        )
    if youth.status != "waiting":
        return (
            f"{where}. Dit raakt het huidige voorstel: {youth.code} heeft daarin woonplek "
            f"{match.option.code}, maar staat nu op '{label('youth_status', youth.status)}'. "
            "Het voorstel verandert niet vanzelf; laat de match afwijzen."
        )
    problem = round_from_data(snapshot)
    option = next((o for o in problem.options if o.code == match.option.code), None)
    reasons = []
    if option is not None:
        reasons = pair_reasons(RoundContext.build(problem), youth_from_row(youth), option)
    if reasons:
        why = "; ".join(r.message for r in reasons)
        return (
            f"{where}. Dit raakt het huidige voorstel: woonplek {match.option.code} past met de "
            f"nieuwe gegevens niet meer ({why}). Het voorstel verandert niet vanzelf; laat de "
            "match afwijzen of opnieuw doorrekenen."
        )
    return (
        f"{where}. Het huidige voorstel (woonplek {match.option.code}) past ook met de nieuwe "
        "gegevens; het blijft staan. De wijziging telt verder vanaf de volgende ronde."
    )


@dataclass
class HistoryEntry:
    at: Any
    who: str
    action: str
    changes: list[str]
    reason: str | None


def _shown(name: str, value: Any, names: dict[str, str]) -> str:
    if value is None or value == []:
        return "–"
    if name == "accepted_types":
        return ", ".join(names.get(v, v) for v in value)
    if name == "gemeente_code":
        return names.get(value, value)
    if name == "status":
        return label("youth_status", value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def history(session: Session, actor: Actor, code: str) -> list[HistoryEntry]:
    """The youth's versions: who registered or changed what, when (newest first)."""
    youth = own_youth(session, actor, code)
    type_names = dict(session.execute(select(m.HousingType.code, m.HousingType.name)).all())
    type_names |= dict(  # gemeente names (area codes and type codes never overlap)
        session.execute(select(m.Area.code, m.Area.name).where(m.Area.level == "gemeente")).all()
    )
    rows = session.execute(
        select(m.AuditEntry, m.User.name)
        .outerjoin(m.User, m.AuditEntry.user_id == m.User.id)
        .where(
            m.AuditEntry.entity == "youth",
            m.AuditEntry.entity_id == youth.code,
            m.AuditEntry.action.in_(tuple(ACTIONS)),
        )
        .order_by(m.AuditEntry.at.desc(), m.AuditEntry.id.desc())
    ).all()
    out = []
    for entry, who in rows:
        detail = entry.detail or {}
        before, after = detail.get("before") or {}, detail.get("after") or {}
        changes = []
        for name in detail.get("changed", []):
            what = FIELD_NAMES.get(name, name)
            if name in CASE_FIELDS:
                changes.append(f"{what} (waarde alleen in het dossier)")
            elif entry.action == "youth.create":
                changes.append(f"{what}: {_shown(name, after.get(name), type_names)}")
            else:
                changes.append(
                    f"{what}: {_shown(name, before.get(name), type_names)} → "
                    f"{_shown(name, after.get(name), type_names)}"
                )
        out.append(
            HistoryEntry(
                entry.at, who or "systeem", ACTIONS[entry.action], changes, detail.get("reason")
            )
        )
    return out


def form_values(youth: m.Youth, choices: list[places.AreaChoice]) -> YouthInput:
    """The edit form filled with the youth's current data."""
    no_go = sorted(youth.no_go_areas, key=lambda n: n.id)
    return YouthInput(
        birth_date=youth.birth_date.isoformat(),
        gemeente_code=youth.gemeente_code,
        income=f"{youth.income:.2f}",
        household_size=str(youth.household_size),
        support_need=str(youth.support_need),
        care_end_date=youth.care_end_date.isoformat() if youth.care_end_date else "",
        urgency=str(youth.urgency),
        max_rent=f"{youth.max_rent:.2f}" if youth.max_rent is not None else "",
        max_distance_km=f"{youth.max_distance_m / 1000:g}" if youth.max_distance_m else "",
        support_provider=youth.support_provider or "",
        accepted_types=[a.type.code for a in youth.accepted_types],
        preferred_areas=[places.area_label(p.area_code, choices) for p in youth.preferred_areas],
        anchors={
            a.label: "{:.6f}, {:.6f}".format(*places.rd_to_latlon(a.x, a.y))
            for a in youth.anchors
            if a.label in ANCHOR_LABELS
        },
        no_go_areas=[places.area_label(n.area_code, choices) for n in no_go if n.area_code],
        no_go_drawing=places.rd_wkt_to_geojson(
            [from_wkb(n.geometry).wkt for n in no_go if n.geometry is not None]
        ),
        companions=" ".join(sorted(r.other.code for r in youth.relations if r.kind == "companion")),
        conflicts=" ".join(sorted(r.other.code for r in youth.relations if r.kind == "conflict")),
    )


@dataclass
class Preview:
    removed: int
    total: int
    message: str


def preview(session: Session, actor: Actor, area: str, drawing: str, types: list[str]) -> Preview:
    """How many available options (of the chosen types, if any) a no-go choice removes."""
    if actor.role != "regisseur":
        raise Forbidden("alleen een regisseur")
    types = [t for t in types if t]
    if area.strip():
        code = places.resolve_area(area, places.area_choices(session))
        if code is None:
            raise Invalid({"area": f"geen gebied gevonden met de naam '{area.strip()}'"})
        inside, total = places.options_inside(session, code, types)
    else:
        try:
            wkts = places.drawing_to_rd_wkt(drawing)
            geoms = [parse_polygon_wkt(w) for w in wkts]
        except ValueError as exc:
            raise Invalid({"no_go_wkt": str(exc)}) from None
        if not geoms:
            return Preview(0, 0, "Nog geen gebied getekend.")
        inside, total = places.options_inside(session, shapely.union_all(geoms), types)
    scope = "van de gekozen woonvormen" if types else "in de regio"
    return Preview(
        inside,
        total,
        f"Dit gebied sluit {inside} van de {total} beschikbare woonplekken {scope} uit.",
    )
