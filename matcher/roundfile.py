"""The JSON round file: a complete allocation round in one documented file.

Schema: ``docs/round-file.schema.json`` (JSON Schema draft 2020-12). ``load_round_file`` checks
the schema and then the meaning (known types and corporations, codes in fixed and forbidden
pairs, ...) and fails with ``InvalidRound`` naming the record. ``dump_round_file`` writes a round
so that loading it gives the same round back.

The CLI (``stek solve ROUND.json --out RESULT.json``) is ``load_round_file`` -> ``solve`` ->
``Result.to_json``.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from shapely import wkt
from shapely.errors import ShapelyError
from shapely.geometry.base import BaseGeometry

from matcher.policy_table import policy_at
from matcher.problem import (
    Anchor,
    Contingent,
    HousingType,
    InvalidRound,
    Option,
    Policy,
    ProblemError,
    Round,
    UnknownHousingType,
    Youth,
)

FORMAT = "stek-round"
VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "round-file.schema.json"

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
    """The JSON Schema of the round file."""
    with SCHEMA_PATH.open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


def _date(s: str | None) -> date | None:
    return None if s is None else date.fromisoformat(s)


def _record(data: dict[str, Any], path: list[str | int]) -> str:
    """Human name of the record at a JSON path, e.g. ``options[3] (OPT-000003)``."""
    if not path:
        return "het rondebestand"
    node: Any = data
    name = str(path[0])
    code = None
    for k, part in enumerate(path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(part, int):
            name = f"{path[k - 1]}[{part}]" if k else f"[{part}]"
            if isinstance(node, dict):
                code = node.get("code") or node.get("youth")
            if k >= 1:
                break
    return f"{name} ({code})" if code else name


def validate_round_data(data: Any) -> None:
    """Check a parsed round file against the schema; ``InvalidRound`` names the first record."""
    validator = jsonschema.Draft202012Validator(round_file_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        err = errors[0]
        where = _record(data, list(err.absolute_path)) if isinstance(data, dict) else "bestand"
        field = ".".join(str(p) for p in err.absolute_path) or "(top)"
        raise InvalidRound(f"rondebestand ongeldig bij {where}, veld {field}: {err.message}")


def round_from_data(data: dict[str, Any]) -> Round:
    """Build a ``Round`` from parsed, schema-valid round file data, checking its meaning."""
    validate_round_data(data)
    try:
        types = tuple(
            HousingType(**{k: t[k] for k in _TYPE_FIELDS if k in t}) for t in data["types"]
        )
    except ProblemError:
        raise
    type_codes = {t.code for t in types}
    if len(type_codes) != len(types):
        raise InvalidRound("rondebestand: woningtype dubbel gedefinieerd")

    options: list[Option] = []
    seen: set[str] = set()
    for k, o in enumerate(data["options"]):
        where = f"options[{k}] ({o['code']})"
        if o["code"] in seen:
            raise InvalidRound(f"{where}: woningcode komt dubbel voor")
        seen.add(o["code"])
        if o["type_code"] not in type_codes:
            raise UnknownTypeInRound(f"{where}: onbekend woningtype {o['type_code']!r}")
        if o.get("capacity", 1) < 0:
            raise InvalidRound(f"{where}: negatieve capaciteit {o['capacity']}")
        if o.get("x") is None or o.get("y") is None:
            raise InvalidRound(f"{where}: woning zonder locatie (x, y)")
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
                capacity=int(o.get("capacity", 1)),
                shared_house_id=o.get("shared_house_id"),
                available_from=_date(o.get("available_from")) or date(2000, 1, 1),
            )
        )

    youths: list[Youth] = []
    seen = set()
    for k, y in enumerate(data["youths"]):
        where = f"youths[{k}] ({y['code']})"
        if y["code"] in seen:
            raise InvalidRound(f"{where}: jongerencode komt dubbel voor")
        seen.add(y["code"])
        if not y.get("accepted_types"):
            raise InvalidRound(f"{where}: geen geaccepteerd woningtype")
        for t in y["accepted_types"]:
            if t not in type_codes:
                raise UnknownTypeInRound(f"{where}: onbekend woningtype {t!r}")
        polygons: list[BaseGeometry] = []
        for text in y.get("no_go_wkt", []):
            try:
                geom = wkt.loads(text)
            except (ShapelyError, ValueError) as exc:
                raise InvalidRound(f"{where}: no-go-gebied is geen geldige WKT ({exc})") from exc
            if geom.geom_type not in ("Polygon", "MultiPolygon"):
                raise InvalidRound(f"{where}: no-go-gebied moet een (multi)polygoon zijn")
            polygons.append(geom)
        youths.append(
            Youth(
                code=y["code"],
                birth_date=date.fromisoformat(y["birth_date"]),
                gemeente_code=y["gemeente_code"],
                income=float(y["income"]),
                support_need=int(y["support_need"]),
                accepted_types=tuple(y["accepted_types"]),
                preferred_areas=tuple(y.get("preferred_areas", ())),
                anchors=tuple(
                    Anchor(a["label"], float(a["x"]), float(a["y"])) for a in y.get("anchors", ())
                ),
                no_go_codes=tuple(y.get("no_go_codes", ())),
                no_go_polygons=tuple(polygons),
                urgency=int(y.get("urgency", 1)),
                care_end_date=_date(y.get("care_end_date")),
                waiting_since=_date(y.get("waiting_since")),
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
        if c.get("type_code") is not None and c["type_code"] not in type_codes:
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

    month = date.fromisoformat(data["month"])
    if "policy" in data:
        pol = data["policy"]
        policy = Policy(
            valid_from=date.fromisoformat(pol["valid_from"]),
            young_tenant_min_age=int(pol["young_tenant_min_age"]),
            young_tenant_max_age=int(pol["young_tenant_max_age"]),
            servicekosten_in_rekenhuur=bool(pol["servicekosten_in_rekenhuur"]),
            verified=bool(pol.get("verified", True)),
            **{k: float(pol[k]) for k in _POLICY_FLOATS},
        )
    else:
        policy_day = _date(data.get("policy_date")) or month
        try:
            policy = policy_at(policy_day)
        except ValueError as exc:
            raise InvalidRound(f"rondebestand: {exc}") from exc

    return Round(
        month=month,
        move_in=_date(data.get("move_in")) or month,
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


def load_round_file(path: str | Path) -> Round:
    """Read and check a round file; ``InvalidRound`` names the offending record."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidRound(f"rondebestand {p} niet te lezen: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRound(
            f"rondebestand {p.name} is geen geldige JSON (regel {exc.lineno}, kolom {exc.colno}:"
            f" {exc.msg})"
        ) from exc
    return round_from_data(data)


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


def dump_round_file(round: Round, path: str | Path) -> None:
    """Write a round file (UTF-8, indented, keys in a fixed order)."""
    text = json.dumps(round_to_data(round), indent=2, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")
