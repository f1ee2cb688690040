"""Affordability by policy date: rekenhuur, huurtoeslag, the young-tenant limit, net rent.

The formulas are written once, over NumPy arrays (``affordability_arrays``), so screening a
national round and explaining one pair compute exactly the same floating-point numbers: the
scalar helpers call the array form with arrays of length one. Every figure comes from the
``Policy`` row in force (``matcher.policy_table.policy_at``); no amounts live in this code.

Semantics (DOMAIN.md, interface contract):

* rekenhuur = kale_huur + servicekosten when the policy still counts servicekosten
  (``servicekosten_in_rekenhuur``, before 2026), else kale_huur alone.
* Huurtoeslag only for a zelfstandige dwelling and a tenant of at least ``ADULT_AGE`` on the
  move-in day.
* Young tenants (``young_tenant_min_age`` <= age <= ``young_tenant_max_age``) in a zelfstandige
  dwelling may rent up to the kwaliteitskortingsgrens only: above it the pair is ineligible.
  Other adults in a zelfstandige dwelling: above the maximale huurgrens no toeslag is possible
  and the pair is ineligible. Rooms (onzelfstandig) get no toeslag and have neither limit: only
  the income share and the personal maximum apply there.
* toeslag = max(0, min(rekenhuur, kkg) - basishuur)
  + share_above_kwaliteitskorting * max(0, min(rekenhuur, aftoppingsgrens) - kkg), with the
  aftoppingsgrens for 3+ persons when household_size >= 3.
* net rent = kale_huur + servicekosten - toeslag; eligible when net rent <=
  max_rent_share_of_income * income and, when the regisseur set a personal ``max_rent``,
  kale_huur + servicekosten <= max_rent (the lower of the two limits wins).
* Minors (age < ``ADULT_AGE``): no toeslag. A zorgaanbieder holds their contract, so the income
  share is checked only when they have an income; with no income the provider pays and the rule
  passes. A personal ``max_rent`` still applies to minors (the regisseur set it on purpose).
* DOMAIN.md: "the oldest household member decides" the young-tenant status. A ``Youth`` carries
  only its own birth date, so the youth's own age decides here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import ArrayLike, NDArray

from matcher.dutch import euro, percent
from matcher.problem import HousingType, Option, Policy, Youth

# Legal age of majority: a minor cannot sign a rental contract nor receive huurtoeslag. This is
# law, not a yearly policy figure, so it is not in the policy table.
ADULT_AGE = 18

# Affordability outcome codes of the array form, in check order (the first failing one wins).
AFF_OK = 0
AFF_ABOVE_KWALITEITSKORTINGSGRENS = 1
AFF_ABOVE_MAXIMALE_HUURGRENS = 2
AFF_ABOVE_PERSONAL_MAX_RENT = 3
AFF_ABOVE_INCOME_SHARE = 4

AFF_CODES: dict[int, str] = {
    AFF_ABOVE_KWALITEITSKORTINGSGRENS: "above_kwaliteitskortingsgrens",
    AFF_ABOVE_MAXIMALE_HUURGRENS: "above_maximale_huurgrens",
    AFF_ABOVE_PERSONAL_MAX_RENT: "above_personal_max_rent",
    AFF_ABOVE_INCOME_SHARE: "above_income_share",
}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a rule fails for a pair: a stable code, a Dutch sentence and the figures involved."""

    rule: str  # rule name, one of matcher.rules.RULE_NAMES
    code: str  # stable machine code, e.g. "age_too_high"
    message: str  # Dutch sentence for the user, with the figures in it
    figures: dict[str, float | int | str]


def age_on(birth: date, day: date) -> int:
    """Age in whole years on ``day``: the birthday itself counts (born 2006-03-01: 20 on
    2026-03-01). Someone born on 29 February turns a year older on 1 March in common years."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(frozen=True, slots=True)
class AffordabilityArrays:
    """The array form's result; every field has the shape of the (broadcast) inputs."""

    rekenhuur: NDArray[np.float64]
    toeslag: NDArray[np.float64]
    net_rent: NDArray[np.float64]
    limit: NDArray[np.float64]  # max net rent from the income share (inf: provider pays)
    young_tenant: NDArray[np.bool_]
    code: NDArray[np.int8]  # AFF_OK or the first failing AFF_* code


def affordability_arrays(
    policy: Policy,
    age: ArrayLike,
    zelfstandig: ArrayLike,
    kale_huur: ArrayLike,
    servicekosten: ArrayLike,
    income: ArrayLike,
    max_rent: ArrayLike,
    household_size: ArrayLike,
) -> AffordabilityArrays:
    """Affordability for many (youth, option) pairs at once; ``max_rent`` is NaN where unset.

    This is the single implementation of the formulas (see the module docstring).
    """
    age_a = np.asarray(age, dtype=np.int64)
    zelf = np.asarray(zelfstandig, dtype=bool)
    kale = np.asarray(kale_huur, dtype=np.float64)
    serv = np.asarray(servicekosten, dtype=np.float64)
    inc = np.asarray(income, dtype=np.float64)
    mrent = np.asarray(max_rent, dtype=np.float64)
    hh = np.asarray(household_size, dtype=np.int64)

    adult = age_a >= ADULT_AGE
    young = adult & (age_a >= policy.young_tenant_min_age) & (age_a <= policy.young_tenant_max_age)
    rekenhuur = kale + serv if policy.servicekosten_in_rekenhuur else kale + 0.0 * serv
    toeslag_possible = zelf & adult
    above_kkg = toeslag_possible & young & (rekenhuur > policy.kwaliteitskortingsgrens)
    above_max = toeslag_possible & ~young & (rekenhuur > policy.maximale_huurgrens)
    gets = toeslag_possible & ~above_kkg & ~above_max

    kkg = policy.kwaliteitskortingsgrens
    aftopping = np.where(hh >= 3, policy.aftoppingsgrens_3plus, policy.aftoppingsgrens_1_2)
    base_part = np.maximum(0.0, np.minimum(rekenhuur, kkg) - policy.basishuur)
    upper_part = policy.share_above_kwaliteitskorting * np.maximum(
        0.0, np.minimum(rekenhuur, aftopping) - kkg
    )
    toeslag = np.where(gets, base_part + upper_part, 0.0)
    total = kale + serv
    net_rent = total - toeslag

    # Minors without income: the provider holding the contract pays, no income check.
    limit = np.where(~adult & (inc <= 0.0), np.inf, policy.max_rent_share_of_income * inc)
    # NaN compares False: an unset personal maximum never fails.
    above_personal = total > mrent
    above_income = net_rent > limit

    # The first failing check wins (nested where: cheaper than np.select for one pair).
    code = np.where(
        above_kkg,
        AFF_ABOVE_KWALITEITSKORTINGSGRENS,
        np.where(
            above_max,
            AFF_ABOVE_MAXIMALE_HUURGRENS,
            np.where(
                above_personal,
                AFF_ABOVE_PERSONAL_MAX_RENT,
                np.where(above_income, AFF_ABOVE_INCOME_SHARE, AFF_OK),
            ),
        ),
    ).astype(np.int8)
    return AffordabilityArrays(
        rekenhuur=np.asarray(rekenhuur, dtype=np.float64),
        toeslag=np.asarray(toeslag, dtype=np.float64),
        net_rent=np.asarray(net_rent, dtype=np.float64),
        limit=np.asarray(limit, dtype=np.float64),
        young_tenant=np.asarray(young, dtype=bool),
        code=code,
    )


def rekenhuur(policy: Policy, option: Option) -> float:
    """The rent huurtoeslag is computed on: servicekosten count only while the policy says so."""
    return float(
        affordability_arrays(
            policy, [ADULT_AGE], [True], [option.kale_huur], [option.servicekosten], [0.0],
            [math.nan], [1],
        ).rekenhuur[0]
    )  # fmt: skip


def huurtoeslag(
    policy: Policy, age: int, option_type: HousingType, option: Option, household_size: int = 1
) -> float:
    """Huurtoeslag per month for a tenant of ``age`` in ``option`` (0 for rooms, minors, and
    rents above the tenant's limit)."""
    return float(
        affordability_arrays(
            policy, [age], [option_type.zelfstandig], [option.kale_huur], [option.servicekosten],
            [0.0], [math.nan], [household_size],
        ).toeslag[0]
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Affordability:
    """Affordability of one option for one youth on the move-in day."""

    rekenhuur: float
    toeslag: float
    net_rent: float  # kale_huur + servicekosten - toeslag
    limit: float  # max net rent from the income share (inf: minor, provider pays)
    young_tenant: bool
    reason: Reason | None  # None: affordable


def affordability(
    policy: Policy, youth: Youth, htype: HousingType, option: Option, move_in: date
) -> Affordability:
    """Affordability of ``option`` for ``youth`` with a Dutch reason when it fails."""
    age = age_on(youth.birth_date, move_in)
    arr = affordability_arrays(
        policy,
        [age],
        [htype.zelfstandig],
        [option.kale_huur],
        [option.servicekosten],
        [youth.income],
        [math.nan if youth.max_rent is None else youth.max_rent],
        [youth.household_size],
    )
    code = int(arr.code[0])
    rh, toeslag, net, limit = (
        float(arr.rekenhuur[0]),
        float(arr.toeslag[0]),
        float(arr.net_rent[0]),
        float(arr.limit[0]),
    )
    young = bool(arr.young_tenant[0])
    reason = None
    if code != AFF_OK:
        reason = affordability_reason(policy, code, age, option, youth, rh, toeslag, net, limit)
    return Affordability(rh, toeslag, net, limit, young, reason)


def _rekenhuur_label(policy: Policy) -> str:
    return "Kale huur plus servicekosten" if policy.servicekosten_in_rekenhuur else "Kale huur"


def affordability_reason(
    policy: Policy,
    code: int,
    age: int,
    option: Option,
    youth: Youth,
    rekenhuur_: float,
    toeslag: float,
    net_rent: float,
    limit: float,
) -> Reason:
    """The Dutch reason for an affordability outcome ``code`` (one of the AFF_* failures)."""
    year = policy.valid_from.year
    total = option.kale_huur + option.servicekosten
    figures: dict[str, float | int | str] = {
        "age": age,
        "rekenhuur": rekenhuur_,
        "kale_huur": option.kale_huur,
        "servicekosten": option.servicekosten,
        "toeslag": toeslag,
        "net_rent": net_rent,
        "policy_year": year,
    }
    if code == AFF_ABOVE_KWALITEITSKORTINGSGRENS:
        figures["limit"] = policy.kwaliteitskortingsgrens
        message = (
            f"{_rekenhuur_label(policy)} {euro(rekenhuur_)} ligt boven de "
            f"kwaliteitskortingsgrens {euro(policy.kwaliteitskortingsgrens)} die in {year} geldt "
            f"voor huurders van {policy.young_tenant_min_age} t/m {policy.young_tenant_max_age} "
            f"jaar (leeftijd {age})."
        )
    elif code == AFF_ABOVE_MAXIMALE_HUURGRENS:
        figures["limit"] = policy.maximale_huurgrens
        message = (
            f"{_rekenhuur_label(policy)} {euro(rekenhuur_)} ligt boven de maximale huurgrens "
            f"{euro(policy.maximale_huurgrens)} ({year}): geen huurtoeslag mogelijk voor deze "
            f"zelfstandige woning (leeftijd {age})."
        )
    elif code == AFF_ABOVE_PERSONAL_MAX_RENT:
        assert youth.max_rent is not None
        figures["limit"] = youth.max_rent
        message = (
            f"Kale huur plus servicekosten {euro(total)} ligt boven de persoonlijke maximale huur "
            f"{euro(youth.max_rent)} die de regisseur heeft vastgesteld."
        )
    elif code == AFF_ABOVE_INCOME_SHARE:
        figures["limit"] = limit
        figures["income"] = youth.income
        message = (
            f"Huur na huurtoeslag {euro(net_rent)} (kale huur {euro(option.kale_huur)} + "
            f"servicekosten {euro(option.servicekosten)} - huurtoeslag {euro(toeslag)}) is meer "
            f"dan {percent(policy.max_rent_share_of_income)} van het inkomen {euro(youth.income)} "
            f"(maximaal {euro(limit)})."
        )
    else:
        raise ValueError(f"geen betaalbaarheidsreden voor code {code}")
    return Reason("affordability", AFF_CODES[code], message, figures)
