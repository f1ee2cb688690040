"""The allocation problem as immutable, validated domain objects.

This module is the contract between the outside world (``store/``, ``fixtures/``, round files)
and the optimisation core. Everything here is pure Python: no database, web or map code.

Conventions
-----------
* Coordinates are RD New (EPSG:28992) metres.
* Money is euros per month as ``float``.
* Area codes are CBS codes: ``GM`` + 4 digits, ``WK`` + 6, ``BU`` + 8.
* Ids are the external, pseudonymous codes (``youth.code``, ``option.code``): never names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

GEMEENTE_RE = re.compile(r"^GM\d{4}$")
WIJK_RE = re.compile(r"^WK\d{6}$")
BUURT_RE = re.compile(r"^BU\d{8}$")


class AreaLevel(StrEnum):
    GEMEENTE = "gemeente"
    WIJK = "wijk"
    BUURT = "buurt"


def area_level(code: str) -> AreaLevel:
    """The level of a CBS area code; raises ``ValueError`` for anything else."""
    if GEMEENTE_RE.match(code):
        return AreaLevel.GEMEENTE
    if WIJK_RE.match(code):
        return AreaLevel.WIJK
    if BUURT_RE.match(code):
        return AreaLevel.BUURT
    raise ValueError(f"geen geldige CBS-code: {code!r} (verwacht GM+4, WK+6 of BU+8 cijfers)")


def gemeente_of(code: str) -> str:
    """The gemeente code a wijk or buurt code belongs to (CBS: first 4 digits)."""
    area_level(code)
    return "GM" + code[2:6]


class ProblemError(ValueError):
    """Base class for invalid problem input; the message names the offending record."""


class InvalidRound(ProblemError):
    pass


class UnknownHousingType(ProblemError):
    pass


class ConflictingFixedPairs(ProblemError):
    """Fixed (accepted) pairs that cannot all hold; ``pairs`` names them (youth, option)."""

    def __init__(self, message: str, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = tuple(sorted(set(pairs)))
        named = ", ".join(f"{y}->{o}" for y, o in self.pairs)
        super().__init__(f"{message}: {named}")


# Counts (capacity, contingent units, caps) above this are refused: far beyond any real round,
# and low enough that sums in the flow and CP-SAT models never overflow int64.
MAX_COUNT = 1_000_000
_MAX_COUNT_NL = f"{MAX_COUNT:_}".replace("_", ".")


def check_finite(record: str, **values: float | None) -> None:
    """Refuse NaN and infinities; ``record`` names the object (e.g. ``woning O-1``).

    A NaN compares false with everything, so a rule fed by one (``rent <= max_rent``, a point
    in a polygon, an income share) silently lets everything through.
    """
    for name, value in values.items():
        if value is None or isinstance(value, int):
            continue
        if not math.isfinite(value):
            raise InvalidRound(
                f"{record}: {name} is geen eindig getal ({value!r}); NaN en oneindig zijn"
                " niet toegestaan"
            )


def check_count(record: str, **values: int | None) -> None:
    """Refuse counts that are negative, non-finite or above ``MAX_COUNT``."""
    check_finite(record, **values)
    for name, value in values.items():
        if value is not None and not 0 <= value <= MAX_COUNT:
            raise InvalidRound(
                f"{record}: {name} {value!r} buiten bereik (toegestaan: 0 t/m {_MAX_COUNT_NL})"
            )


class SupportLevel:
    """Support need of a youth / support offered by a housing type (ordinal 0..3)."""

    NONE = 0
    LIGHT = 1  # light ambulant support
    REGULAR = 2  # regular ambulant support / coach
    INTENSIVE = 3  # intensive (Housing First, 24h nearby)


@dataclass(frozen=True, slots=True)
class HousingType:
    """A row of the menukaart: the rules the matcher reads for one housing type."""

    code: str  # e.g. "friends", "kma", "mentorhuis"
    name: str  # Dutch display name, e.g. "Kamers met Aandacht"
    min_age: int
    max_age: int  # inclusive, on the move-in date
    zelfstandig: bool  # own entrance, kitchen, toilet: huurtoeslag possible
    provider_contract: bool  # a zorgaanbieder can hold the contract: minors (16-17) may live here
    persons_min: int  # persons per house (Friends 2, BW light 1)
    persons_max: int  # persons per house (Friends 3, BW light 6, KmA 1)
    support_min: int  # SupportLevel range this type serves
    support_max: int
    stay_min_months: int | None = None
    stay_max_months: int | None = None
    uses_contingent: bool = True  # a placement counts against the corporation's contingent
    max_age_gap: int | None = None  # max years between housemates in one house
    description: str = ""

    def __post_init__(self) -> None:
        if not self.code:
            raise InvalidRound("woningtype zonder code")
        if not 0 <= self.min_age <= self.max_age <= 99:
            raise InvalidRound(f"woningtype {self.code}: leeftijden {self.min_age}-{self.max_age}")
        if not 1 <= self.persons_min <= self.persons_max:
            raise InvalidRound(
                f"woningtype {self.code}: personen per huis {self.persons_min}-{self.persons_max}"
            )
        if not 0 <= self.support_min <= self.support_max <= 3:
            raise InvalidRound(
                f"woningtype {self.code}: ondersteuning {self.support_min}-{self.support_max}"
            )

    @property
    def shared(self) -> bool:
        return self.persons_max > 1


@dataclass(frozen=True, slots=True)
class Option:
    """A housing option: one or more places in one dwelling or house.

    ``capacity`` is the number of young people the option can take. Options with the same
    ``shared_house_id`` form one house (e.g. six rooms of a BW-light house); house composition
    rules apply to everybody placed in a house. An option without ``shared_house_id`` is its own
    house.
    """

    code: str
    type_code: str
    corporation: str | None  # organisation code of the owning corporatie (None: provider-owned)
    gemeente_code: str
    wijk_code: str | None
    buurt_code: str | None
    x: float
    y: float
    kale_huur: float
    servicekosten: float
    capacity: int = 1
    shared_house_id: str | None = None
    available_from: date = date(2000, 1, 1)

    def __post_init__(self) -> None:
        record = f"woning {self.code}"
        check_finite(
            record, x=self.x, y=self.y, kale_huur=self.kale_huur, servicekosten=self.servicekosten
        )
        if self.capacity < 0:
            raise InvalidRound(f"woning {self.code}: negatieve capaciteit {self.capacity}")
        check_count(record, capacity=self.capacity)
        if self.kale_huur < 0 or self.servicekosten < 0:
            raise InvalidRound(f"woning {self.code}: negatieve huur of servicekosten")

    @property
    def house_id(self) -> str:
        return self.shared_house_id or self.code

    @property
    def area_codes(self) -> tuple[str, ...]:
        return tuple(c for c in (self.gemeente_code, self.wijk_code, self.buurt_code) if c)


@dataclass(frozen=True, slots=True)
class Anchor:
    """A place that matters to a youth (school, work, network), for distance scoring."""

    label: str
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Youth:
    """A young person who needs a place. ``code`` is pseudonymous."""

    code: str
    birth_date: date
    gemeente_code: str  # gemeente responsible for the young person
    income: float  # net income per month
    support_need: int
    accepted_types: tuple[str, ...]  # ranked by preference, first is most preferred
    preferred_areas: tuple[str, ...] = ()  # ranked CBS codes, first is most preferred
    anchors: tuple[Anchor, ...] = ()
    no_go_codes: tuple[str, ...] = ()
    no_go_polygons: tuple[BaseGeometry, ...] = ()  # RD New
    urgency: int = 1  # 1 (low) .. 5 (acute), set by the gemeente
    care_end_date: date | None = None
    waiting_since: date | None = None
    companions: tuple[str, ...] = ()  # youth codes who applied together (same house or none)
    conflicts: tuple[str, ...] = ()  # youth codes this youth must not share a house with
    regisseur: str | None = None  # user identifier of the regisseur
    max_rent: float | None = None  # personal maximum (total rent) set by the regisseur
    household_size: int = 1
    # Search radius: options farther than this from every anchor are out of reach. None (or no
    # anchors) means no distance limit. Keeps national instances sparse, as real searches are.
    max_distance_m: float | None = None

    def __post_init__(self) -> None:
        record = f"jongere {self.code}"
        check_finite(
            record,
            income=self.income,
            max_rent=self.max_rent,
            max_distance_m=self.max_distance_m,
        )
        for anchor in self.anchors:
            check_finite(f"{record}, ankerpunt {anchor.label!r}", x=anchor.x, y=anchor.y)
        for k, polygon in enumerate(self.no_go_polygons):
            if not np.isfinite(shapely.get_coordinates(polygon)).all():
                raise InvalidRound(
                    f"{record}: no-go-gebied {k + 1} heeft een coördinaat die geen eindig getal is"
                )
        if not self.accepted_types:
            raise InvalidRound(f"jongere {self.code}: geen geaccepteerd woningtype")
        if self.income < 0:
            raise InvalidRound(f"jongere {self.code}: negatief inkomen")
        if not 1 <= self.urgency <= 5:
            raise InvalidRound(f"jongere {self.code}: urgentie {self.urgency} niet in 1..5")
        if not 0 <= self.support_need <= 3:
            raise InvalidRound(f"jongere {self.code}: ondersteuningsbehoefte {self.support_need}")


@dataclass(frozen=True, slots=True)
class Contingent:
    """Places a corporation committed to a gemeente for a year, optionally for one type."""

    corporation: str
    gemeente_code: str
    year: int
    amount: int
    type_code: str | None = None
    used: int = 0  # already used earlier in the year
    # Pacing: at most this many units in this round (supply.pacing.paced_contingents); None: the
    # whole remaining amount may go this month.
    month_budget: int | None = None

    def __post_init__(self) -> None:
        record = f"contingent {self.corporation}/{self.gemeente_code}/{self.year}"
        check_finite(record, amount=self.amount, used=self.used, month_budget=self.month_budget)
        if self.amount < 0 or self.used < 0 or (self.month_budget or 0) < 0:
            raise InvalidRound(f"{record}: negatief aantal")
        check_count(record, amount=self.amount, used=self.used, month_budget=self.month_budget)

    @property
    def left(self) -> int:
        """Units this round may use: what is left of the year, capped by the month's budget."""
        left = max(0, self.amount - self.used)
        return left if self.month_budget is None else min(left, self.month_budget)


@dataclass(frozen=True, slots=True)
class Policy:
    """Huurtoeslag and affordability figures in force from ``valid_from`` (DOMAIN.md)."""

    valid_from: date
    kwaliteitskortingsgrens: float
    aftoppingsgrens_1_2: float
    aftoppingsgrens_3plus: float
    maximale_huurgrens: float
    young_tenant_min_age: int  # ages in [min, max] may only rent up to kwaliteitskortingsgrens
    young_tenant_max_age: int  # 22 until 2025, 20 from 2026
    servicekosten_in_rekenhuur: bool  # before 2026 (some) servicekosten counted
    basishuur: float  # own share the tenant always pays before toeslag (verify)
    share_above_kwaliteitskorting: float  # toeslag share between kkg and aftoppingsgrens (0.65)
    max_rent_share_of_income: float  # rent after toeslag / income at most this (configurable)
    verified: bool = True  # False where DOMAIN.md says "verify": a default a gemeente overrides

    def __post_init__(self) -> None:
        check_finite(
            f"beleid vanaf {self.valid_from}",
            **{f.name: getattr(self, f.name) for f in fields(self) if f.type == "float"},
        )


@dataclass(frozen=True, slots=True)
class Round:
    """A complete allocation round: everything the matcher needs and nothing more."""

    month: date  # first day of the round's month; also the policy date
    move_in: date  # the move-in date used for age and availability checks
    types: tuple[HousingType, ...]
    options: tuple[Option, ...]
    youths: tuple[Youth, ...]
    contingents: tuple[Contingent, ...]
    policy: Policy
    fixed_pairs: tuple[tuple[str, str], ...] = ()  # (youth code, option code) accepted
    forbidden_pairs: tuple[tuple[str, str], ...] = ()  # (youth code, option code) rejected
    gemeente_caps: tuple[tuple[str, int], ...] = ()  # (gemeente code, max placements) across corps
    seed: int = 0
    meta: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def __post_init__(self) -> None:
        for gemeente, cap in self.gemeente_caps:
            check_count(f"plaatsingsplafond {gemeente}", max_placements=cap)
