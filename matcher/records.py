"""One validated record per kind, with Dutch messages per field (issue 15 item 5).

Each kind's fields and rules are written once here and used by every entry path: the intake,
stock, contingent and account forms and their JSON API (``api.services``), the CSV/XLSX
importers (``store.importers`` through ``store.record_rows``) and the round file
(``matcher.roundfile_models``, whose JSON Schema is generated from these models). Where paths
differ, a base holds what is true everywhere and a subclass adds its own part:
``YouthFields`` -> ``YouthRecord`` (entry: the age on the day of intake, tighter amounts, the
support provider) and ``RoundYouth`` (a round: the regisseur); ``OptionFields`` ->
``OptionRecord`` (entry: address, location inside the Netherlands and the region) and
``RoundOption`` (owner, areas, shared house); ``ContingentFields`` -> ``ContingentRecord`` and
``RoundContingent``. Housing types and policy rows are one model for every path.

A record checks itself alone (types, ranges, finite numbers, dates, polygons); rules that need
the database (known type and area codes, the caseload, the region's outline, the age on a
given day) come in a :class:`RecordContext` passed as pydantic's validation context::

    YouthRecord.model_validate(data, context=RecordContext(today=..., type_codes=...))

Without a context those rules are skipped (the age is then checked on the real today).
:func:`field_errors` turns a ``ValidationError`` into one Dutch message per field. The module
is part of the core (pydantic, shapely and ``matcher.problem`` only), so the matcher's round
file can use it; the adapters import it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

import shapely
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from shapely.geometry.base import BaseGeometry

from matcher.problem import AreaLevel, area_level

__all__ = [
    "RD_BOUNDS",
    "YOUTH_MAX_AGE",
    "YOUTH_MIN_AGE",
    "AnchorRecord",
    "OptionRecord",
    "RecordContext",
    "YouthRecord",
    "age_on",
    "field_errors",
    "parse_polygon_wkt",
]

# Issue 15: a birth date outside 14–30 years is refused at entry (forms, API, files alike).
YOUTH_MIN_AGE, YOUTH_MAX_AGE = 14, 30
# RD New covers the Netherlands within roughly these bounds (x min, y min, x max, y max).
RD_BOUNDS = (-7000.0, 289000.0, 300000.0, 629000.0)
# A drawn polygon may stick out of the (generalised) region outline by this much.
REGION_TOLERANCE_M = 500.0

Code = Annotated[str, Field(min_length=1, max_length=40)]
GEMEENTE_CODE = r"^GM\d{4}$"
WIJK_CODE = r"^WK\d{6}$"
BUURT_CODE = r"^BU\d{8}$"
SIMPLE_CODE = r"^[A-Za-z0-9_.-]+$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    """A date, or its ISO text ``YYYY-MM-DD`` that names a real day (no number, no time)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value.strip()!r} is geen bestaande datum (jjjj-mm-dd)") from None
    raise ValueError("vul een bestaande datum in (jjjj-mm-dd)")


IsoDate = Annotated[
    date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})
]


def age_on(birth: date, on: date) -> int:
    """Whole years between ``birth`` and ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class RecordContext:
    """What a record is checked against beyond itself; ``None`` skips that check."""

    today: date = field(default_factory=date.today)
    type_codes: frozenset[str] | None = None
    persons_max: Mapping[str, int] | None = None  # housing type -> persons per dwelling
    area_codes: frozenset[str] | None = None
    region: BaseGeometry | None = None  # union of the region's gemeenten, RD New
    caseload: frozenset[str] | None = None  # youth codes a companion or conflict may name


def _context(info: ValidationInfo) -> RecordContext:
    ctx = info.context
    return ctx if isinstance(ctx, RecordContext) else RecordContext()


def _area_code(code: str, level: AreaLevel | None, ctx: RecordContext) -> str:
    try:
        actual = area_level(code)
    except ValueError:
        raise ValueError(f"{code} is geen CBS-gebiedscode") from None
    if level is not None and actual != level:
        raise ValueError(f"{code} is geen {level.value}code")
    if ctx.area_codes is not None and code not in ctx.area_codes:
        raise ValueError(f"onbekend gebied {code}")
    return code


def _no_repeats(values: list[str]) -> list[str]:
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} staat er twee keer in")
    return values


def _in_rd_bounds(x: float, y: float) -> bool:
    minx, miny, maxx, maxy = RD_BOUNDS
    return minx <= x <= maxx and miny <= y <= maxy


def parse_polygon_wkt(text: str) -> BaseGeometry:
    """A no-go polygon from WKT in RD New: a non-empty, valid (multi)polygon, else ValueError
    with a Dutch reason (an invalid polygon is reported, never repaired)."""
    try:
        geom = shapely.from_wkt(text)
    except shapely.errors.ShapelyError as exc:
        raise ValueError(f"geen geldige WKT ({exc})") from None
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError("een no-go-gebied moet een vlak (polygoon) zijn")
    if geom.is_empty:
        raise ValueError("het no-go-gebied is leeg")
    coords = shapely.get_coordinates(geom)
    if not all(math.isfinite(v) for v in coords.ravel()):
        raise ValueError("het no-go-gebied heeft een punt zonder eindige coördinaten")
    if not shapely.is_valid(geom):
        reason = str(shapely.is_valid_reason(geom))
        what = "snijdt zichzelf" if "Self-intersection" in reason else "is ongeldig"
        raise ValueError(f"de rand van het no-go-gebied {what}; teken het opnieuw")
    return geom


class AnchorRecord(BaseModel):
    """An anchor point (school, work, network) in RD New metres."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)

    label: str = Field(min_length=1, max_length=100)
    x: float
    y: float

    @field_validator("y")
    @classmethod
    def _in_netherlands(cls, y: float, info: ValidationInfo) -> float:
        x = info.data.get("x")
        if x is not None and not _in_rd_bounds(x, y):
            raise ValueError("het ankerpunt ligt niet in Nederland")
        region = _context(info).region
        if (
            x is not None
            and region is not None
            and not shapely.dwithin(region, shapely.Point(x, y), 25_000.0)
        ):
            raise ValueError("het ankerpunt ligt ver buiten de regio")
        return y


class YouthFields(BaseModel):
    """A young person's fields and the rules that hold wherever the record comes from."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)

    code: Code
    birth_date: IsoDate
    gemeente_code: str = Field(min_length=1, max_length=10)
    income: float = Field(ge=0, le=1_000_000)
    support_need: int = Field(ge=0, le=3)
    urgency: int = Field(default=1, ge=1, le=5)
    care_end_date: IsoDate | None = None
    waiting_since: IsoDate | None = None
    max_rent: float | None = Field(default=None, ge=0, le=1_000_000)
    household_size: int = Field(default=1, ge=1, le=20)
    max_distance_m: float | None = Field(default=None, gt=0, le=10_000_000)
    accepted_types: list[Code] = Field(min_length=1, description="Ranked, most preferred first.")
    preferred_areas: list[str] = Field(default_factory=list, description="Ranked CBS codes.")
    anchors: list[AnchorRecord] = Field(default_factory=list)
    no_go_codes: list[str] = Field(default_factory=list)
    no_go_wkt: list[str] = Field(
        default_factory=list, description="POLYGON or MULTIPOLYGON in WKT, RD New."
    )
    companions: list[Code] = Field(default_factory=list)
    conflicts: list[Code] = Field(default_factory=list)

    @field_validator("gemeente_code")
    @classmethod
    def _gemeente(cls, code: str, info: ValidationInfo) -> str:
        return _area_code(code, AreaLevel.GEMEENTE, _context(info))

    @field_validator("accepted_types")
    @classmethod
    def _types(cls, codes: list[str], info: ValidationInfo) -> list[str]:
        known = _context(info).type_codes
        unknown = [c for c in codes if known is not None and c not in known]
        if unknown:
            raise ValueError(f"onbekend woningtype {', '.join(unknown)}")
        return _no_repeats(codes)

    @field_validator("preferred_areas", "no_go_codes")
    @classmethod
    def _areas(cls, codes: list[str], info: ValidationInfo) -> list[str]:
        ctx = _context(info)
        return _no_repeats([_area_code(c, None, ctx) for c in codes])

    @field_validator("no_go_wkt")
    @classmethod
    def _polygons(cls, texts: list[str], info: ValidationInfo) -> list[str]:
        region = _context(info).region
        for k, text in enumerate(texts, start=1):
            try:
                geom = parse_polygon_wkt(text)
            except ValueError as exc:
                raise ValueError(f"getekend gebied {k}: {exc}") from None
            if region is not None and not region.buffer(REGION_TOLERANCE_M).covers(geom):
                raise ValueError(f"getekend gebied {k} ligt (deels) buiten de regio")
        return texts

    @field_validator("companions", "conflicts")
    @classmethod
    def _others(cls, codes: list[str], info: ValidationInfo) -> list[str]:
        own = info.data.get("code")
        caseload = _context(info).caseload
        for other in codes:
            if other == own:
                raise ValueError(f"{other} is de jongere zelf")
            if caseload is not None and other not in caseload:
                raise ValueError(f"{other} is geen jongere uit je eigen caseload")
        return _no_repeats(codes)


class YouthRecord(YouthFields):
    """A young person as entered: the age on the day of intake, amounts and list lengths a
    person enters, and the support provider."""

    income: float = Field(ge=0, le=100_000)
    max_rent: float | None = Field(default=None, ge=0, le=10_000)
    max_distance_m: float | None = Field(default=None, gt=0, le=400_000)
    accepted_types: list[Code] = Field(min_length=1, max_length=20)
    preferred_areas: list[str] = Field(default_factory=list, max_length=20)
    anchors: list[AnchorRecord] = Field(default_factory=list, max_length=10)
    no_go_codes: list[str] = Field(default_factory=list, max_length=50)
    no_go_wkt: list[str] = Field(default_factory=list, max_length=20)
    companions: list[Code] = Field(default_factory=list, max_length=5)
    conflicts: list[Code] = Field(default_factory=list, max_length=50)
    support_provider: str | None = Field(default=None, max_length=200)

    @field_validator("birth_date")
    @classmethod
    def _age(cls, birth: date, info: ValidationInfo) -> date:
        today = _context(info).today
        if birth > today:
            raise ValueError("de geboortedatum ligt in de toekomst")
        age = age_on(birth, today)
        if not YOUTH_MIN_AGE <= age <= YOUTH_MAX_AGE:
            raise ValueError(
                f"leeftijd {age} ligt niet tussen {YOUTH_MIN_AGE} en {YOUTH_MAX_AGE} jaar"
            )
        return birth


class OptionFields(BaseModel):
    """A housing option's fields and the rules that hold wherever it comes from."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)

    code: Code
    type_code: Code
    x: float = Field(ge=-10_000_000, le=10_000_000, description="RD New metres.")
    y: float = Field(ge=-10_000_000, le=10_000_000, description="RD New metres.")
    kale_huur: float = Field(ge=0, le=1_000_000)
    servicekosten: float = Field(default=0.0, ge=0, le=1_000_000)
    capacity: int = Field(default=1, ge=0, le=100, description="Places; at most persons_max.")
    available_from: IsoDate | None = None

    @field_validator("type_code")
    @classmethod
    def _type(cls, code: str, info: ValidationInfo) -> str:
        known = _context(info).type_codes
        if known is not None and code not in known:
            raise ValueError(f"onbekend woningtype {code}")
        return code

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, capacity: int, info: ValidationInfo) -> int:
        limits = _context(info).persons_max
        kind = str(info.data.get("type_code") or "")
        if limits is not None and kind in limits and capacity > limits[kind]:
            raise ValueError(
                f"capaciteit {capacity} is meer dan de {limits[kind]} personen die deze woonvorm "
                "toestaat"
            )
        return capacity


class OptionRecord(OptionFields):
    """A housing option as registered by its corporation; the areas follow from x, y."""

    kale_huur: float = Field(ge=0, le=10_000)
    servicekosten: float = Field(default=0.0, ge=0, le=10_000)
    capacity: int = Field(default=1, ge=1, le=100)
    available_from: IsoDate
    address: str = Field(default="", max_length=200)
    accessibility_notes: str = Field(default="", max_length=1000)

    @field_validator("y")
    @classmethod
    def _located(cls, y: float, info: ValidationInfo) -> float:
        x = info.data.get("x")
        if x is None:
            return y
        if not _in_rd_bounds(x, y):
            raise ValueError("de locatie ligt niet in Nederland")
        region = _context(info).region
        if region is not None and not region.covers(shapely.Point(x, y)):
            raise ValueError("de locatie ligt in geen enkele gemeente van de regio")
        return y


# --- Dutch messages -----------------------------------------------------------------------------

_MESSAGES: dict[str, str] = {
    "missing": "dit veld is verplicht",
    "float_parsing": "vul een getal in",
    "float_type": "vul een getal in",
    "int_parsing": "vul een geheel getal in",
    "int_type": "vul een geheel getal in",
    "int_from_float": "vul een geheel getal in",
    "finite_number": "het getal moet eindig zijn (geen NaN of oneindig)",
    "date_parsing": "vul een bestaande datum in (jjjj-mm-dd)",
    "date_from_datetime_parsing": "vul een bestaande datum in (jjjj-mm-dd)",
    "date_from_datetime_inexact": "vul een datum zonder tijd in",
    "date_type": "vul een bestaande datum in (jjjj-mm-dd)",
    "string_type": "vul tekst in",
    "list_type": "verwacht een lijst",
    "extra_forbidden": "onbekend veld",
    "enum": "kies een waarde uit de lijst",
    "json_invalid": "geen geldige JSON",
    "model_attributes_type": "verwacht een object met velden",
    "dict_type": "verwacht een object met velden",
    "bool_parsing": "kies ja of nee",
    "bool_type": "kies ja of nee",
}


def dutch_message(error: Mapping[str, Any]) -> str:
    """A pydantic error (``ValidationError.errors()`` item) as a short Dutch message."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "")))
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", " of ")
        return "kies een waarde uit de lijst" + (f" ({expected})" if expected else "")
    if kind == "greater_than_equal":
        return "mag niet negatief zijn" if ctx.get("ge") == 0 else f"minstens {ctx.get('ge')}"
    if kind == "greater_than":
        return "moet groter zijn dan 0" if ctx.get("gt") == 0 else f"groter dan {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"hoogstens {ctx.get('le')}"
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return "dit veld is verplicht" if least <= 1 else f"te kort (minstens {least} tekens)"
    if kind == "string_pattern_mismatch":
        return "ongeldige vorm"
    if kind == "string_too_long":
        return f"te lang (hoogstens {ctx.get('max_length')} tekens)"
    if kind == "too_short":
        return "kies er minstens één"
    if kind == "too_long":
        return f"te veel (hoogstens {ctx.get('max_length')})"
    return _MESSAGES.get(kind, f"ongeldige waarde ({kind})")


def field_errors(exc: ValidationError) -> dict[str, str]:
    """One Dutch message per top-level field (the first problem found in it)."""
    out: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or ("",)
        name = str(loc[0])
        out.setdefault(name, dutch_message(error))
    return out


def record_messages(record: type[BaseModel], exc: ValidationError) -> list[tuple[str, str]]:
    """Every problem as ``(top-level field, Dutch message)``, in pydantic's order; a pattern
    mismatch gets the record's hint for that field (``HINTS``) when it has one."""
    hints: Mapping[str, str] = getattr(record, "HINTS", {})
    out: list[tuple[str, str]] = []
    for error in exc.errors():
        loc = error.get("loc") or ("formulier",)
        name = str(loc[0])
        text = dutch_message(error)
        if error["type"] == "string_pattern_mismatch":
            text = "heeft niet de juiste vorm" + (f" ({hints[name]})" if name in hints else "")
        out.append((name, text))
    return out


# --- Reference records: contingent, user, organisation, housing type, policy row ----------------
# Each names its fields in Dutch (``LABELS``); ``parse``/``parse_form`` raise RecordInvalid whose
# messages start with the field's Dutch name ("aantal: mag niet negatief zijn").


class RecordInvalid(ValueError):
    """A record refused: ``errors`` are ``(field, Dutch message naming the field)`` pairs."""

    def __init__(self, kind: str, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in errors))
        self.kind = kind
        self.errors = errors

    def by_field(self) -> dict[str, str]:
        """The first message per field (to show beside each form field)."""
        out: dict[str, str] = {}
        for name, message in self.errors:
            out.setdefault(name, message)
        return out


class ReferenceRecord(BaseModel):
    """Base of the reference records: unknown fields refused, text trimmed, no NaN/infinity."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, frozen=True, allow_inf_nan=False
    )

    KIND: ClassVar[str] = "record"
    LABELS: ClassVar[dict[str, str]] = {}
    HINTS: ClassVar[dict[str, str]] = {}

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        """The record from ``data``, or RecordInvalid naming every bad field."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            errors = [
                (name, f"{cls.LABELS.get(name, name)}: {text}")
                for name, text in record_messages(cls, exc)
            ]
            raise RecordInvalid(cls.KIND, errors) from None

    @classmethod
    def parse_form(cls, form: Mapping[str, Any], names: tuple[str, ...] | None = None) -> Self:
        """From an HTML form: an empty field counts as not given, other form fields (CSRF
        token, buttons) are ignored, a checkbox is present (yes) or absent (no)."""
        data: dict[str, Any] = {}
        for name in names if names is not None else tuple(cls.model_fields):
            value = form.get(name)
            if cls.model_fields[name].annotation is bool:
                data[name] = value in ("on", "true", "1", "ja")
            elif value not in (None, ""):
                data[name] = value
        return cls.parse(data)


class ContingentFields(ReferenceRecord):
    """What every contingent names: ``amount`` places of ``corporation`` in ``gemeente_code``
    in ``year``."""

    KIND: ClassVar[str] = "contingent"

    corporation: str = Field(min_length=1, max_length=40, pattern=SIMPLE_CODE)
    gemeente_code: str = Field(pattern=GEMEENTE_CODE)
    year: int = Field(ge=2000, le=2100)
    amount: int = Field(ge=0, le=100_000)


class ContingentRecord(ContingentFields):
    """An agreement as entered: of one housing type or of any (``housing_type`` empty), with a
    note. Whether the amount covers what is already used needs the database:
    api.services.contingents checks that."""

    LABELS: ClassVar[dict[str, str]] = {
        "corporation": "corporatie",
        "gemeente_code": "gemeentecode",
        "year": "jaar",
        "housing_type": "woonvorm",
        "amount": "aantal",
        "note": "toelichting",
    }
    HINTS: ClassVar[dict[str, str]] = {"gemeente_code": "GM gevolgd door vier cijfers"}

    housing_type: str | None = Field(default=None, max_length=40, pattern=SIMPLE_CODE)
    note: str = Field(default="", max_length=1000)


class UserRecord(ReferenceRecord):
    """A user account (a password is never part of the record)."""

    KIND: ClassVar[str] = "user"
    LABELS: ClassVar[dict[str, str]] = {
        "email": "e-mailadres",
        "name": "naam",
        "role": "rol",
        "organisation": "organisatie",
        "active": "actief",
    }
    HINTS: ClassVar[dict[str, str]] = {"email": "bijvoorbeeld naam@organisatie.nl"}

    email: str = Field(min_length=1, max_length=200, pattern=EMAIL)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "gemeente", "corporatie", "regisseur", "planner", "privacy"]
    organisation: str = Field(min_length=1, max_length=40, pattern=SIMPLE_CODE)
    active: bool = True

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @field_validator("role", mode="before")
    @classmethod
    def _role_lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class OrganisationRecord(ReferenceRecord):
    """An organisation: a gemeente carries its CBS code, other kinds none."""

    KIND: ClassVar[str] = "organisation"
    LABELS: ClassVar[dict[str, str]] = {
        "code": "code",
        "name": "naam",
        "kind": "soort",
        "gemeente_code": "gemeentecode",
        "active": "actief",
    }
    HINTS: ClassVar[dict[str, str]] = {
        "code": "letters, cijfers, punt, streepje of liggend streepje",
        "gemeente_code": "GM gevolgd door vier cijfers",
    }

    code: str = Field(min_length=1, max_length=40, pattern=SIMPLE_CODE)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["gemeente", "corporatie", "zorgaanbieder", "regio"]
    gemeente_code: str | None = Field(default=None, pattern=GEMEENTE_CODE, validate_default=True)
    active: bool = True

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("gemeente_code")
    @classmethod
    def _gemeente_has_code(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if kind == "gemeente" and value is None:
            raise ValueError("is verplicht voor een gemeente")
        if kind is not None and kind != "gemeente" and value is not None:
            raise ValueError("hoort alleen bij een gemeente")
        return value


def _not_below(info: ValidationInfo, other: str, what: str, value: float | None) -> None:
    low = info.data.get(other)
    if value is not None and low is not None and value < low:
        raise ValueError(f"mag niet lager zijn dan {what} ({low})")


class HousingTypeRecord(ReferenceRecord):
    """A row of the menukaart: the rules the matcher reads."""

    KIND: ClassVar[str] = "housing_type"
    LABELS: ClassVar[dict[str, str]] = {
        "code": "code",
        "name": "naam",
        "min_age": "minimumleeftijd",
        "max_age": "maximumleeftijd",
        "zelfstandig": "zelfstandig",
        "provider_contract": "contract via zorgaanbieder",
        "persons_min": "minimum aantal bewoners",
        "persons_max": "maximum aantal bewoners",
        "support_min": "minimale begeleidingsbehoefte",
        "support_max": "maximale begeleidingsbehoefte",
        "stay_min_months": "minimale verblijfsduur (maanden)",
        "stay_max_months": "maximale verblijfsduur (maanden)",
        "uses_contingent": "telt mee voor contingent",
        "max_age_gap": "maximaal leeftijdsverschil",
        "description": "omschrijving",
    }
    HINTS: ClassVar[dict[str, str]] = {
        "code": "letters, cijfers, punt, streepje of liggend streepje"
    }

    code: str = Field(min_length=1, max_length=40, pattern=SIMPLE_CODE)
    name: str = Field(min_length=1, max_length=200)
    min_age: int = Field(ge=0, le=99)
    max_age: int = Field(ge=0, le=99)
    zelfstandig: bool = False
    provider_contract: bool = False
    persons_min: int = Field(ge=1, le=50)
    persons_max: int = Field(ge=1, le=50)
    support_min: int = Field(ge=0, le=3)
    support_max: int = Field(ge=0, le=3)
    stay_min_months: int | None = Field(default=None, ge=0, le=600)
    stay_max_months: int | None = Field(default=None, ge=1, le=600)
    uses_contingent: bool = True  # as the matcher's HousingType and the round file
    max_age_gap: int | None = Field(default=None, ge=0, le=99)
    # Kept exactly as written, so an export read back in gives the same text (tests/store).
    description: Annotated[str, StringConstraints(strip_whitespace=False)] = Field(
        default="", max_length=2000
    )

    @field_validator("max_age")
    @classmethod
    def _ages(cls, value: int, info: ValidationInfo) -> int:
        _not_below(info, "min_age", "de minimumleeftijd", value)
        return value

    @field_validator("persons_max")
    @classmethod
    def _persons(cls, value: int, info: ValidationInfo) -> int:
        _not_below(info, "persons_min", "het minimum aantal bewoners", value)
        return value

    @field_validator("support_max")
    @classmethod
    def _support(cls, value: int, info: ValidationInfo) -> int:
        _not_below(info, "support_min", "de minimale begeleidingsbehoefte", value)
        return value

    @field_validator("stay_max_months")
    @classmethod
    def _stay(cls, value: int | None, info: ValidationInfo) -> int | None:
        _not_below(info, "stay_min_months", "de minimale verblijfsduur", value)
        return value


class PolicyRecord(ReferenceRecord):
    """Huurtoeslag and affordability figures in force from ``valid_from`` (DOMAIN.md)."""

    KIND: ClassVar[str] = "policy"
    LABELS: ClassVar[dict[str, str]] = {
        "valid_from": "geldig vanaf",
        "kwaliteitskortingsgrens": "kwaliteitskortingsgrens",
        "aftoppingsgrens_1_2": "aftoppingsgrens (1–2 personen)",
        "aftoppingsgrens_3plus": "aftoppingsgrens (3+ personen)",
        "maximale_huurgrens": "maximale huurgrens",
        "young_tenant_min_age": "jonge huurder vanaf leeftijd",
        "young_tenant_max_age": "jonge huurder tot en met leeftijd",
        "servicekosten_in_rekenhuur": "servicekosten in rekenhuur",
        "basishuur": "basishuur",
        "share_above_kwaliteitskorting": "aandeel boven kwaliteitskortingsgrens",
        "max_rent_share_of_income": "maximaal huuraandeel van inkomen",
        "verified": "geverifieerd",
        "source": "bron",
    }

    valid_from: IsoDate
    kwaliteitskortingsgrens: float = Field(gt=0, le=10_000)
    aftoppingsgrens_1_2: float = Field(gt=0, le=10_000)
    aftoppingsgrens_3plus: float = Field(gt=0, le=10_000)
    maximale_huurgrens: float = Field(gt=0, le=10_000)
    young_tenant_min_age: int = Field(ge=0, le=30)
    young_tenant_max_age: int = Field(ge=0, le=30)
    servicekosten_in_rekenhuur: bool = False
    basishuur: float = Field(ge=0, le=10_000)
    share_above_kwaliteitskorting: float = Field(ge=0, le=1)
    max_rent_share_of_income: float = Field(gt=0, le=1)
    verified: bool = False
    source: str = Field(default="", max_length=2000)

    @field_validator("valid_from")
    @classmethod
    def _first_of_month(cls, value: date) -> date:
        if value.day != 1:
            raise ValueError("moet de eerste dag van een maand zijn")
        return value

    @field_validator("aftoppingsgrens_1_2")
    @classmethod
    def _above_kwaliteitskorting(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, "kwaliteitskortingsgrens", "de kwaliteitskortingsgrens", value)
        return value

    @field_validator("aftoppingsgrens_3plus")
    @classmethod
    def _above_aftopping_1_2(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, "aftoppingsgrens_1_2", "de aftoppingsgrens voor 1–2 personen", value)
        return value

    @field_validator("maximale_huurgrens")
    @classmethod
    def _above_aftopping(cls, value: float, info: ValidationInfo) -> float:
        _not_below(info, "aftoppingsgrens_3plus", "de aftoppingsgrens voor 3+ personen", value)
        return value

    @field_validator("young_tenant_max_age")
    @classmethod
    def _young_ages(cls, value: int, info: ValidationInfo) -> int:
        _not_below(info, "young_tenant_min_age", "de beginleeftijd", value)
        return value
