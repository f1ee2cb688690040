"""The JSON round file: a complete allocation round in one documented file.

The records are ``matcher.roundfile_models.RoundFile``: the shared records of
``matcher.records`` (the forms', API's and importers' rules) with what a round adds. Its JSON
Schema (draft 2020-12) is generated from those models and ships as
``matcher/round-file.schema.json`` (``docs/round-file.schema.json`` is a copy; a test keeps
both equal to the generated one). ``load_round_file`` reads UTF-8 JSON (refusing other
encodings, NaN/Infinity, a key given twice and deep nesting), validates the records and then
the meaning across them (known types and corporations, codes in fixed and forbidden pairs,
capacities within persons_max, birth dates not after the month, ...) and fails with
``InvalidRound`` naming the record and field. The screening
of the text and the parsed values lives in ``matcher.roundfile_text``.
``dump_round_file`` writes a round so that loading it gives the same round back.

The CLI (``stek solve ROUND.json --out RESULT.json``) is ``load_round_file`` -> ``solve`` ->
``Result.to_json``.
"""

from __future__ import annotations

import json
import warnings
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from shapely import wkt
from shapely.errors import ShapelyError
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from matcher.policy_table import policy_at
from matcher.problem import (
    Anchor,
    Contingent,
    HousingType,
    InvalidRound,
    Option,
    Policy,
    Round,
    UnknownHousingType,
    Youth,
)
from matcher.roundfile_models import RoundFile, field_bounds
from matcher.roundfile_text import (
    MAX_DEPTH,
    check_values,
    decode_round_bytes,
    parse_round_text,
    refuse,
    round_message,
)

__all__ = [
    "MAX_DEPTH",
    "UnknownTypeInRound",
    "dump_round_file",
    "load_round_file",
    "parse_round_text",
    "round_file_schema",
    "round_file_text",
    "round_from_data",
    "round_from_snapshot",
    "round_to_data",
    "stock_from_snapshot",
    "validate_round_data",
]

FORMAT = "stek-round"
VERSION = 1
SCHEMA_RESOURCE = "round-file.schema.json"
_TYPE_FIELDS = (
    "code",
    "name",
    "min_age",
    "max_age",
    "zelfstandig",
    "provider_contract",
    "persons_min",
    "persons_max",
    "support_min",
    "support_max",
    "stay_min_months",
    "stay_max_months",
    "uses_contingent",
    "max_age_gap",
    "description",
)
_TYPE_INTS = frozenset(
    (
        "min_age",
        "max_age",
        "persons_min",
        "persons_max",
        "support_min",
        "support_max",
        "stay_min_months",
        "stay_max_months",
        "max_age_gap",
    )
)
_POLICY_FLOATS = (
    "kwaliteitskortingsgrens",
    "aftoppingsgrens_1_2",
    "aftoppingsgrens_3plus",
    "maximale_huurgrens",
    "basishuur",
    "share_above_kwaliteitskorting",
    "max_rent_share_of_income",
)


class UnknownTypeInRound(InvalidRound, UnknownHousingType):
    """A round file names a housing type it does not define."""


@cache
def round_file_schema() -> dict[str, Any]:
    """The JSON Schema of the round file (package data, so it works outside a checkout)."""
    text = resources.files("matcher").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_round_file(path: str | Path) -> Round:
    """Read and check a round file; ``InvalidRound`` names the offending record and field."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InvalidRound(f"rondebestand {p} niet te lezen: {exc}") from exc
    return round_from_data(parse_round_text(decode_round_bytes(raw, p.name), p.name))


def round_from_snapshot(data: Any) -> Round:
    """A round snapshot stored by stek (``round_to_data`` of a checked ``Round``), read back for
    a page or for finalising: every check but the JSON Schema pass. A solve still reads the
    snapshot with every check (``round_from_data``)."""
    return round_from_data(data, schema=False)


def stock_from_snapshot(data: Any) -> Round:
    """The housing side of a stored snapshot (types, options, contingents, policy) without its
    young people: for finalising, which books the contingents of the placements and reads
    nobody's income, anchors or no-go areas (a 2,000-youth snapshot took half a second)."""
    if not isinstance(data, dict):
        raise InvalidRound("rondebestand ongeldig: verwacht een object met de ronde")
    housing = {k: v for k, v in data.items() if k not in ("fixed_pairs", "forbidden_pairs")}
    housing["youths"] = []
    return round_from_snapshot(housing)


def validate_round_data(data: Any) -> None:
    """Validate parsed round file data with the round's records; ``InvalidRound`` names the
    first record and field that is refused."""
    try:
        RoundFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        raise refuse(data, loc, round_message(first, field_bounds(loc))) from None


def _day(data: Any, path: list[str | int], text: str | None) -> date | None:
    """A calendar date from ``YYYY-MM-DD`` (the schema checked the form), or ``None``."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise refuse(data, path, f"{text!r} is geen bestaande datum") from None


def _polygon(data: Any, path: list[str | int], text: str) -> BaseGeometry:
    """A no-go polygon: valid WKT, (multi)polygon, non-empty and valid (reported, not repaired)."""
    try:
        with warnings.catch_warnings():
            # GEOS reads "nan" coordinates with a RuntimeWarning; is_valid reports them below.
            warnings.simplefilter("ignore", RuntimeWarning)
            geom = wkt.loads(text)
    except (ShapelyError, ValueError) as exc:
        raise refuse(data, path, f"no-go-gebied is geen geldige WKT ({exc})") from exc
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise refuse(data, path, "no-go-gebied moet een (multi)polygoon zijn")
    if geom.is_empty:
        raise refuse(data, path, "no-go-gebied is leeg")
    if not geom.is_valid:
        raise refuse(
            data,
            path,
            f"no-go-gebied is geen geldige polygoon ({explain_validity(geom)}); teken het"
            " opnieuw zonder dat de rand zichzelf snijdt",
        )
    return geom


def _type_fields(t: dict[str, Any]) -> dict[str, Any]:
    # The schema lets 2.0 pass as an integer; the matcher gets a real int.
    return {
        k: (int(t[k]) if k in _TYPE_INTS and t[k] is not None else t[k])
        for k in _TYPE_FIELDS
        if k in t
    }


def round_from_data(data: Any, *, schema: bool = True) -> Round:
    """Build a ``Round`` from parsed round file data, checking form and meaning.

    Used for round files and for the round snapshots stored in the database alike. ``schema``
    False skips only the record validation (:func:`validate_round_data`): for snapshots stek
    wrote itself from a checked ``Round`` and reads back on a page (see
    :func:`round_from_snapshot`), so a rule made stricter later never hides an old round.
    Values, dates, polygons and the domain model's own checks still run.
    """
    check_values(data)
    if schema:
        validate_round_data(data)
    types = tuple(HousingType(**_type_fields(t)) for t in data["types"])
    types_by_code = {t.code: t for t in types}
    if len(types_by_code) != len(types):
        raise InvalidRound("rondebestand: woningtype dubbel gedefinieerd")
    month = _day(data, ["month"], data["month"])
    assert month is not None
    if month.day != 1:
        raise refuse(
            data, ["month"], f"{month} is niet de eerste dag van een maand (verwacht JJJJ-MM-01)"
        )
    move_in = _day(data, ["move_in"], data.get("move_in")) or month

    options: list[Option] = []
    seen: set[str] = set()
    for k, o in enumerate(data["options"]):
        where = f"options[{k}] ({o['code']})"
        if o["code"] in seen:
            raise InvalidRound(f"{where}: woningcode komt dubbel voor")
        seen.add(o["code"])
        housing_type = types_by_code.get(o["type_code"])
        if housing_type is None:
            raise UnknownTypeInRound(f"{where}: onbekend woningtype {o['type_code']!r}")
        capacity = int(o.get("capacity", 1))
        if capacity > housing_type.persons_max:
            raise refuse(
                data,
                ["options", k, "capacity"],
                f"capaciteit {capacity} is meer dan persons_max {housing_type.persons_max} van"
                f" woningtype {housing_type.code} (toegestaan: 0 t/m {housing_type.persons_max})",
            )
        options.append(
            Option(
                code=o["code"],
                type_code=o["type_code"],
                corporation=o.get("corporation"),
                gemeente_code=o["gemeente_code"],
                wijk_code=o.get("wijk_code"),
                buurt_code=o.get("buurt_code"),
                x=float(o["x"]),
                y=float(o["y"]),
                kale_huur=float(o["kale_huur"]),
                servicekosten=float(o.get("servicekosten", 0.0)),
                capacity=capacity,
                shared_house_id=o.get("shared_house_id"),
                available_from=(
                    _day(data, ["options", k, "available_from"], o.get("available_from"))
                    or date(2000, 1, 1)
                ),
            )
        )

    youths: list[Youth] = []
    seen = set()
    for k, y in enumerate(data["youths"]):
        where = f"youths[{k}] ({y['code']})"
        if y["code"] in seen:
            raise InvalidRound(f"{where}: jongerencode komt dubbel voor")
        seen.add(y["code"])
        for t in y["accepted_types"]:
            if t not in types_by_code:
                raise UnknownTypeInRound(f"{where}: onbekend woningtype {t!r}")
        birth_date = _day(data, ["youths", k, "birth_date"], y["birth_date"])
        assert birth_date is not None
        if birth_date > month:
            raise refuse(
                data,
                ["youths", k, "birth_date"],
                f"geboortedatum {birth_date} ligt na de rondemaand {month:%Y-%m}",
            )
        polygons = tuple(
            _polygon(data, ["youths", k, "no_go_wkt", j], text)
            for j, text in enumerate(y.get("no_go_wkt", []))
        )
        youths.append(
            Youth(
                code=y["code"],
                birth_date=birth_date,
                gemeente_code=y["gemeente_code"],
                income=float(y["income"]),
                support_need=int(y["support_need"]),
                accepted_types=tuple(y["accepted_types"]),
                preferred_areas=tuple(y.get("preferred_areas", ())),
                anchors=tuple(
                    Anchor(a["label"], float(a["x"]), float(a["y"])) for a in y.get("anchors", ())
                ),
                no_go_codes=tuple(y.get("no_go_codes", ())),
                no_go_polygons=polygons,
                urgency=int(y.get("urgency", 1)),
                care_end_date=_day(data, ["youths", k, "care_end_date"], y.get("care_end_date")),
                waiting_since=_day(data, ["youths", k, "waiting_since"], y.get("waiting_since")),
                companions=tuple(y.get("companions", ())),
                conflicts=tuple(y.get("conflicts", ())),
                regisseur=y.get("regisseur"),
                max_rent=None if y.get("max_rent") is None else float(y["max_rent"]),
                household_size=int(y.get("household_size", 1)),
                max_distance_m=(
                    None if y.get("max_distance_m") is None else float(y["max_distance_m"])
                ),
            )
        )
    youth_codes = {y.code for y in youths}
    for y in youths:
        for other in (*y.companions, *y.conflicts):
            if other not in youth_codes:
                raise InvalidRound(f"jongere {y.code}: onbekende jongere {other!r} genoemd")

    corporations = set(data.get("corporations", ())) | {
        o.corporation for o in options if o.corporation
    }
    contingents: list[Contingent] = []
    for k, c in enumerate(data.get("contingents", ())):
        where = f"contingents[{k}] ({c['corporation']}/{c['gemeente_code']}/{c['year']})"
        if c["corporation"] not in corporations:
            raise InvalidRound(f"{where}: onbekende corporatie {c['corporation']!r}")
        if c.get("type_code") is not None and c["type_code"] not in types_by_code:
            raise UnknownTypeInRound(f"{where}: onbekend woningtype {c['type_code']!r}")
        contingents.append(
            Contingent(
                corporation=c["corporation"],
                gemeente_code=c["gemeente_code"],
                year=int(c["year"]),
                amount=int(c["amount"]),
                type_code=c.get("type_code"),
                used=int(c.get("used", 0)),
                month_budget=None if c.get("month_budget") is None else int(c["month_budget"]),
            )
        )

    option_codes = {o.code for o in options}
    pairs: dict[str, tuple[tuple[str, str], ...]] = {}
    for key in ("fixed_pairs", "forbidden_pairs"):
        out = []
        for k, p in enumerate(data.get(key, ())):
            where = f"{key}[{k}] ({p['youth']} -> {p['option']})"
            if p["youth"] not in youth_codes:
                raise InvalidRound(f"{where}: onbekende jongere {p['youth']!r}")
            if p["option"] not in option_codes:
                raise InvalidRound(f"{where}: onbekende woning {p['option']!r}")
            out.append((p["youth"], p["option"]))
        pairs[key] = tuple(out)

    if "policy" in data:
        pol = data["policy"]
        valid_from = _day(data, ["policy", "valid_from"], pol["valid_from"])
        assert valid_from is not None
        policy = Policy(
            valid_from=valid_from,
            young_tenant_min_age=int(pol["young_tenant_min_age"]),
            young_tenant_max_age=int(pol["young_tenant_max_age"]),
            servicekosten_in_rekenhuur=bool(pol["servicekosten_in_rekenhuur"]),
            verified=bool(pol.get("verified", True)),
            **{k: float(pol[k]) for k in _POLICY_FLOATS},
        )
    else:
        policy_day = _day(data, ["policy_date"], data.get("policy_date")) or month
        try:
            policy = policy_at(policy_day)
        except ValueError as exc:
            raise InvalidRound(f"rondebestand: {exc}") from exc

    return Round(
        month=month,
        move_in=move_in,
        types=types,
        options=tuple(options),
        youths=tuple(youths),
        contingents=tuple(contingents),
        policy=policy,
        fixed_pairs=pairs["fixed_pairs"],
        forbidden_pairs=pairs["forbidden_pairs"],
        gemeente_caps=tuple(
            (c["gemeente_code"], int(c["max_placements"])) for c in data.get("gemeente_caps", ())
        ),
        seed=int(data.get("seed", 0)),
        meta={str(k): str(v) for k, v in data.get("meta", {}).items()},
    )


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != [] and v != {}}


def round_to_data(round: Round) -> dict[str, Any]:
    """The round as round file data (JSON-ready)."""
    pol = round.policy
    corporations = sorted(
        {o.corporation for o in round.options if o.corporation}
        | {c.corporation for c in round.contingents}
    )
    required = ("types", "options", "youths")
    data = _drop_none(
        {
            "format": FORMAT,
            "version": VERSION,
            "month": round.month.isoformat(),
            "move_in": round.move_in.isoformat(),
            "seed": round.seed,
            "policy": {
                "valid_from": pol.valid_from.isoformat(),
                "young_tenant_min_age": pol.young_tenant_min_age,
                "young_tenant_max_age": pol.young_tenant_max_age,
                "servicekosten_in_rekenhuur": pol.servicekosten_in_rekenhuur,
                "verified": pol.verified,
                **{k: getattr(pol, k) for k in _POLICY_FLOATS},
            },
            "corporations": corporations,
            "types": [_drop_none({k: getattr(t, k) for k in _TYPE_FIELDS}) for t in round.types],
            "options": [
                _drop_none(
                    {
                        "code": o.code,
                        "type_code": o.type_code,
                        "corporation": o.corporation,
                        "gemeente_code": o.gemeente_code,
                        "wijk_code": o.wijk_code,
                        "buurt_code": o.buurt_code,
                        "x": o.x,
                        "y": o.y,
                        "kale_huur": o.kale_huur,
                        "servicekosten": o.servicekosten,
                        "capacity": o.capacity,
                        "shared_house_id": o.shared_house_id,
                        "available_from": o.available_from.isoformat(),
                    }
                )
                for o in round.options
            ],
            "youths": [
                _drop_none(
                    {
                        "code": y.code,
                        "birth_date": y.birth_date.isoformat(),
                        "gemeente_code": y.gemeente_code,
                        "income": y.income,
                        "support_need": y.support_need,
                        "accepted_types": list(y.accepted_types),
                        "preferred_areas": list(y.preferred_areas),
                        "anchors": [{"label": a.label, "x": a.x, "y": a.y} for a in y.anchors],
                        "no_go_codes": list(y.no_go_codes),
                        "no_go_wkt": [g.wkt for g in y.no_go_polygons],
                        "urgency": y.urgency,
                        "care_end_date": y.care_end_date and y.care_end_date.isoformat(),
                        "waiting_since": y.waiting_since and y.waiting_since.isoformat(),
                        "companions": list(y.companions),
                        "conflicts": list(y.conflicts),
                        "regisseur": y.regisseur,
                        "max_rent": y.max_rent,
                        "household_size": y.household_size,
                        "max_distance_m": y.max_distance_m,
                    }
                )
                for y in round.youths
            ],
            "contingents": [
                _drop_none(
                    {
                        "corporation": c.corporation,
                        "gemeente_code": c.gemeente_code,
                        "year": c.year,
                        "amount": c.amount,
                        "type_code": c.type_code,
                        "used": c.used,
                        "month_budget": c.month_budget,
                    }
                )
                for c in round.contingents
            ],
            "gemeente_caps": [
                {"gemeente_code": g, "max_placements": n} for g, n in round.gemeente_caps
            ],
            "fixed_pairs": [{"youth": y, "option": o} for y, o in round.fixed_pairs],
            "forbidden_pairs": [{"youth": y, "option": o} for y, o in round.forbidden_pairs],
            "meta": dict(round.meta),
        }
    )
    for key in required:
        data.setdefault(key, [])
    # Keep the documented key order: required lists in their place after dropping empties.
    return data


def round_file_text(round: Round) -> str:
    """The round file text: UTF-8 JSON, indented, keys in a fixed order, never NaN."""
    return json.dumps(round_to_data(round), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def dump_round_file(round: Round, path: str | Path) -> None:
    """Write a round file (UTF-8, indented, keys in a fixed order)."""
    Path(path).write_text(round_file_text(round), encoding="utf-8")
