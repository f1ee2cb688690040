"""Pairwise eligibility: one named rule per check, each passing or giving a Dutch reason.

Two forms share one set of definitions:

* scalar rules ``rule_<name>(ctx, youth, option) -> Reason | None`` for explaining a pair and
  for the independent verifier;
* ``screen(round)``, which evaluates the same rules over arrays of pairs for a whole round. It
  never loops over youths x options in Python: options become NumPy arrays once, candidates
  come from per-type ranges (youths without a search radius) or an STRtree ``dwithin`` bulk
  query around the anchors (youths with a radius), and every rule is then an array operation
  over the candidate pairs, in chunks to bound memory.

The array rules (``_fail_*``) and the scalar rules compute the same floating-point expressions
(affordability through ``matcher.policy.affordability_arrays``, distances as
``sqrt(dx*dx + dy*dy)``, polygons through ``shapely.intersects_xy``), so both forms agree
exactly; the tests check this on random rounds.

House-composition rules (persons per house, conflicts, age gap, companions) are not pairwise:
the solver handles them and ``matcher.verifier`` checks them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from matcher.policy import (
    ADULT_AGE,
    AFF_OK,
    Reason,
    affordability,
    affordability_arrays,
    age_on,
)
from matcher.problem import (
    HousingType,
    Option,
    Policy,
    Round,
    UnknownHousingType,
    Youth,
)

__all__ = [
    "RULE_NAMES",
    "Reason",
    "RoundContext",
    "Screening",
    "contingent_of",
    "explain_pair",
    "failure_counts",
    "rule_affordability",
    "rule_age",
    "rule_available",
    "rule_contingent_exists",
    "rule_distance",
    "rule_forbidden_pair",
    "rule_minor_contract",
    "rule_no_go",
    "rule_support_level",
    "rule_type_accepted",
    "screen",
]

RULE_NAMES: tuple[str, ...] = (
    "type_accepted",
    "support_level",
    "age",
    "minor_contract",
    "affordability",
    "no_go",
    "distance",
    "available",
    "contingent_exists",
    "forbidden_pair",
)

SUPPORT_LABELS = {0: "geen", 1: "licht", 2: "regulier", 3: "intensief"}

# Candidate pairs handled per chunk in ``screen``: bounds peak memory (about 100 bytes a pair).
CHUNK_PAIRS = 1_000_000

ContingentKey = tuple[str, str, int, str | None]


# ---------------------------------------------------------------------------------------------
# Round context and contingents


@dataclass
class RoundContext:
    """Round-level lookups for the scalar rules, built once by ``RoundContext.build``."""

    round: Round
    policy: Policy
    move_in: date
    types: dict[str, HousingType]
    youth_index: dict[str, int]
    option_index: dict[str, int]
    contingent_index: dict[ContingentKey, int]
    forbidden: frozenset[tuple[str, str]]
    _ages: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, round: Round) -> RoundContext:
        """Index the round; raises ``UnknownHousingType`` for an option of an unknown type."""
        types = {t.code: t for t in round.types}
        for o in round.options:
            if o.type_code not in types:
                raise UnknownHousingType(f"woning {o.code}: onbekend woningtype {o.type_code!r}")
        contingent_index: dict[ContingentKey, int] = {}
        for i, c in enumerate(round.contingents):
            # The first row wins on duplicate keys (imports refuse duplicates anyway).
            contingent_index.setdefault((c.corporation, c.gemeente_code, c.year, c.type_code), i)
        return cls(
            round=round,
            policy=round.policy,
            move_in=round.move_in,
            types=types,
            youth_index={y.code: i for i, y in enumerate(round.youths)},
            option_index={o.code: i for i, o in enumerate(round.options)},
            contingent_index=contingent_index,
            forbidden=frozenset(round.forbidden_pairs),
        )

    def age(self, youth: Youth) -> int:
        """Age in whole years on the move-in day (cached per youth)."""
        a = self._ages.get(youth.code)
        if a is None:
            a = self._ages[youth.code] = age_on(youth.birth_date, self.move_in)
        return a

    def type_of(self, option: Option) -> HousingType:
        try:
            return self.types[option.type_code]
        except KeyError:
            raise UnknownHousingType(
                f"woning {option.code}: onbekend woningtype {option.type_code!r}"
            ) from None


def needs_contingent(ctx: RoundContext, option: Option) -> bool:
    """A placement uses a contingent when a corporation owns the option and its type counts."""
    return option.corporation is not None and ctx.type_of(option).uses_contingent


def contingent_of(ctx_or_round: RoundContext | Round, option: Option) -> int | None:
    """Index into ``round.contingents`` of the contingent a placement in ``option`` uses.

    The typed contingent (corporation, gemeente, move-in year, type) if it exists, else the
    general one (type None); None when there is neither or when the option needs no contingent
    (provider-owned, or a type with ``uses_contingent`` False).
    """
    ctx = ctx_or_round if isinstance(ctx_or_round, RoundContext) else _context(ctx_or_round)
    if not needs_contingent(ctx, option):
        return None
    assert option.corporation is not None
    year = ctx.move_in.year
    typed = ctx.contingent_index.get(
        (option.corporation, option.gemeente_code, year, option.type_code)
    )
    if typed is not None:
        return typed
    return ctx.contingent_index.get((option.corporation, option.gemeente_code, year, None))


# ---------------------------------------------------------------------------------------------
# Scalar rules


def rule_type_accepted(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """The option's housing type is among the types accepted for this youth."""
    if option.type_code in youth.accepted_types:
        return None
    t = ctx.type_of(option)
    accepted = ", ".join(youth.accepted_types)
    return Reason(
        "type_accepted",
        "type_not_accepted",
        f"Woningtype {t.name} staat niet bij de geaccepteerde woningtypes van de jongere "
        f"({accepted}).",
        {"type": t.code, "accepted": accepted},
    )


def rule_support_level(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """The youth's support need lies in the type's support range."""
    t = ctx.type_of(option)
    need = youth.support_need
    figures: dict[str, float | int | str] = {
        "support_need": need,
        "support_min": t.support_min,
        "support_max": t.support_max,
    }
    if need > t.support_max:
        return Reason(
            "support_level",
            "support_too_high",
            f"Ondersteuningsbehoefte {need} ({SUPPORT_LABELS[need]}) is hoger dan wat "
            f"{t.name} biedt (tot en met {t.support_max}, {SUPPORT_LABELS[t.support_max]}).",
            figures,
        )
    if need < t.support_min:
        return Reason(
            "support_level",
            "support_too_low",
            f"Ondersteuningsbehoefte {need} ({SUPPORT_LABELS[need]}) is lager dan {t.name} "
            f"vraagt (minstens {t.support_min}, {SUPPORT_LABELS[t.support_min]}).",
            figures,
        )
    return None


def rule_age(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """Age on the move-in day within the type's range (both ends inclusive)."""
    t = ctx.type_of(option)
    age = ctx.age(youth)
    figures: dict[str, float | int | str] = {
        "age": age,
        "min_age": t.min_age,
        "max_age": t.max_age,
        "move_in": ctx.move_in.isoformat(),
    }
    if age < t.min_age:
        return Reason(
            "age",
            "age_too_low",
            f"Leeftijd {age} op de verhuisdatum {_nl_date(ctx.move_in)} is lager dan de "
            f"minimumleeftijd {t.min_age} voor {t.name}.",
            figures,
        )
    if age > t.max_age:
        return Reason(
            "age",
            "age_too_high",
            f"Leeftijd {age} op de verhuisdatum {_nl_date(ctx.move_in)} is hoger dan de "
            f"maximumleeftijd {t.max_age} voor {t.name}.",
            figures,
        )
    return None


def rule_minor_contract(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """Minors cannot sign a rental contract: only types where a provider holds it."""
    t = ctx.type_of(option)
    age = ctx.age(youth)
    if age >= ADULT_AGE or t.provider_contract:
        return None
    return Reason(
        "minor_contract",
        "minor_needs_provider_contract",
        f"De jongere is op de verhuisdatum {age} jaar en kan nog geen huurcontract tekenen; "
        f"bij {t.name} houdt geen zorgaanbieder het contract.",
        {"age": age, "adult_age": ADULT_AGE, "type": t.code},
    )


def rule_affordability(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """Rent after huurtoeslag within the income share, young-tenant and huurgrens limits and the
    personal maximum (see ``matcher.policy``)."""
    return affordability(ctx.policy, youth, ctx.type_of(option), option, ctx.move_in).reason


def rule_no_go(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """The option lies in none of the youth's no-go areas: codes at gemeente, wijk or buurt
    level, and polygons by exact containment (a point on the boundary counts as inside)."""
    no_go = set(youth.no_go_codes)
    for level, code in (
        ("gemeente", option.gemeente_code),
        ("wijk", option.wijk_code),
        ("buurt", option.buurt_code),
    ):
        if code and code in no_go:
            return Reason(
                "no_go",
                "no_go_code",
                f"De woning ligt in {level} {code}, een gebied waar de jongere niet wil of kan "
                "wonen.",
                {"level": level, "code": code},
            )
    for k, polygon in enumerate(youth.no_go_polygons):
        if bool(shapely.intersects_xy(polygon, option.x, option.y)):
            return Reason(
                "no_go",
                "no_go_area",
                "De woning ligt binnen een door de regisseur getekend no-go-gebied van de jongere.",
                {"polygon": k},
            )
    return None


def min_anchor_distance(youth: Youth, x: float, y: float) -> float:
    """Euclidean distance in metres (RD New) to the nearest anchor; NaN without anchors."""
    best = math.nan
    for a in youth.anchors:
        dx = x - a.x
        dy = y - a.y
        d = math.sqrt(dx * dx + dy * dy)
        if not d >= best:  # also true while best is NaN
            best = d
    return best


def rule_distance(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """Within ``max_distance_m`` of the nearest anchor (no limit without a radius or anchors)."""
    if youth.max_distance_m is None or not youth.anchors:
        return None
    d = min_anchor_distance(youth, option.x, option.y)
    if d <= youth.max_distance_m:
        return None
    return Reason(
        "distance",
        "too_far",
        f"De woning ligt {_nl_km(d)} van het dichtstbijzijnde ankerpunt van de jongere; de "
        f"zoekstraal is {_nl_km(youth.max_distance_m)}.",
        {"distance_m": d, "max_distance_m": youth.max_distance_m},
    )


def rule_available(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """Available on the move-in day and with at least one place."""
    if option.available_from > ctx.move_in:
        return Reason(
            "available",
            "not_available_yet",
            f"De woning is pas beschikbaar vanaf {_nl_date(option.available_from)}, na de "
            f"verhuisdatum {_nl_date(ctx.move_in)}.",
            {
                "available_from": option.available_from.isoformat(),
                "move_in": ctx.move_in.isoformat(),
            },
        )
    if option.capacity <= 0:
        return Reason(
            "available",
            "no_capacity",
            "De woning heeft geen vrije plaatsen (capaciteit 0).",
            {"capacity": option.capacity},
        )
    return None


def rule_contingent_exists(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """A corporation's option of a contingent type needs a contingent for its gemeente/year."""
    if not needs_contingent(ctx, option) or contingent_of(ctx, option) is not None:
        return None
    year = ctx.move_in.year
    return Reason(
        "contingent_exists",
        "no_contingent",
        f"Er is geen contingent van {option.corporation} voor {option.gemeente_code} in {year} "
        f"(algemeen of voor type {option.type_code}).",
        {
            "corporation": option.corporation or "",
            "gemeente": option.gemeente_code,
            "year": year,
            "type": option.type_code,
        },
    )


def rule_forbidden_pair(ctx: RoundContext, youth: Youth, option: Option) -> Reason | None:
    """The pair was rejected in an earlier review of this round."""
    if (youth.code, option.code) not in ctx.forbidden:
        return None
    return Reason(
        "forbidden_pair",
        "forbidden_pair",
        f"De koppeling van {youth.code} aan {option.code} is eerder afgewezen.",
        {"youth": youth.code, "option": option.code},
    )


SCALAR_RULES = {
    "type_accepted": rule_type_accepted,
    "support_level": rule_support_level,
    "age": rule_age,
    "minor_contract": rule_minor_contract,
    "affordability": rule_affordability,
    "no_go": rule_no_go,
    "distance": rule_distance,
    "available": rule_available,
    "contingent_exists": rule_contingent_exists,
    "forbidden_pair": rule_forbidden_pair,
}
assert tuple(SCALAR_RULES) == RULE_NAMES


def pair_reasons(ctx: RoundContext, youth: Youth, option: Option) -> list[Reason]:
    """Every failing rule for the pair, in ``RULE_NAMES`` order (empty: eligible)."""
    out = []
    for rule in SCALAR_RULES.values():
        r = rule(ctx, youth, option)
        if r is not None:
            out.append(r)
    return out


def explain_pair(round: Round, youth_code: str, option_code: str) -> list[Reason]:
    """Every failing rule for one pair (empty list: eligible), using the scalar rules."""
    ctx = _context(round)
    try:
        youth = round.youths[ctx.youth_index[youth_code]]
    except KeyError:
        raise KeyError(f"onbekende jongere {youth_code!r}") from None
    try:
        option = round.options[ctx.option_index[option_code]]
    except KeyError:
        raise KeyError(f"onbekende woning {option_code!r}") from None
    return pair_reasons(ctx, youth, option)


def _nl_date(d: date) -> str:
    return f"{d.day}-{d.month}-{d.year}"


def _nl_km(metres: float) -> str:
    return f"{metres / 1000:.1f} km".replace(".", ",")


# ---------------------------------------------------------------------------------------------
# Array form


FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Screening:
    """All eligible pairs of a round, sorted by (youth_idx, option_idx)."""

    youth_idx: NDArray[np.int32]
    option_idx: NDArray[np.int32]
    net_rent: FloatArray  # what the youth pays per month after huurtoeslag
    toeslag: FloatArray  # huurtoeslag per month (0 for rooms / minors)
    distance_m: FloatArray  # metres to the nearest anchor (NaN: no anchors)
    option_contingent: NDArray[np.int32]  # per option: contingent index, -1 none needed/none

    def __len__(self) -> int:
        return len(self.youth_idx)


@dataclass
class _Arrays:
    """A round as arrays, built once per screening (O(youths + options) Python work)."""

    n_youths: int
    n_options: int
    # options
    ox: FloatArray
    oy: FloatArray
    otype: IntArray
    kale: FloatArray
    serv: FloatArray
    o_codes: IntArray  # (n_options, 3): area code index of gemeente, wijk, buurt (-1 none)
    available: BoolArray
    o_contingent: IntArray  # index, -1 none needed, -2 needed but missing
    # types
    t_min_age: IntArray
    t_max_age: IntArray
    t_support_min: IntArray
    t_support_max: IntArray
    t_zelf: BoolArray
    t_provider: BoolArray
    # youths
    age: IntArray
    support: IntArray
    income: FloatArray
    max_rent: FloatArray  # NaN: none
    household: IntArray
    max_dist: FloatArray  # NaN: no limit (no radius or no anchors)
    ax: FloatArray  # (n_youths, max anchors), NaN padded
    ay: FloatArray
    accept: BoolArray  # (n_youths, n_types)
    nogo_keys: IntArray  # sorted youth * n_codes + code
    has_nogo_code: BoolArray
    polygons: dict[int, tuple[BaseGeometry, ...]]  # youth index -> prepared no-go polygons
    forbidden_keys: IntArray  # sorted youth * n_options + option
    n_codes: int
    # For ``with_youths`` (matcher.suggest): area code and type indices, and the option-side
    # inputs of the availability rule so it can be re-evaluated for another day.
    code_ix: dict[str, int] = field(default_factory=dict)
    type_ix: dict[str, int] = field(default_factory=dict)
    available_day: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    capacity: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def build(cls, ctx: RoundContext) -> _Arrays:
        rnd = ctx.round
        type_codes = list(ctx.types)
        t_ix = {c: i for i, c in enumerate(type_codes)}
        types = [ctx.types[c] for c in type_codes]
        n_o = len(rnd.options)

        code_ix: dict[str, int] = {}
        o_codes = np.full((n_o, 3), -1, dtype=np.int64)
        for i, o in enumerate(rnd.options):
            for j, c in enumerate((o.gemeente_code, o.wijk_code, o.buurt_code)):
                if c:
                    o_codes[i, j] = code_ix.setdefault(c, len(code_ix))
        n_codes = max(1, len(code_ix))
        o_cont = np.array(
            [
                -1
                if not needs_contingent(ctx, o)
                else (k if (k := contingent_of(ctx, o)) is not None else -2)
                for o in rnd.options
            ],
            dtype=np.int64,
        )

        forbidden = [
            ctx.youth_index[yc] * n_o + ctx.option_index[oc]
            for yc, oc in rnd.forbidden_pairs
            if yc in ctx.youth_index and oc in ctx.option_index
        ]
        available_day = np.array([o.available_from.toordinal() for o in rnd.options], np.int64)
        capacity = np.array([o.capacity for o in rnd.options], dtype=np.int64)
        return cls(
            n_options=n_o,
            ox=np.array([o.x for o in rnd.options], dtype=np.float64),
            oy=np.array([o.y for o in rnd.options], dtype=np.float64),
            otype=np.array([t_ix[o.type_code] for o in rnd.options], dtype=np.int64),
            kale=np.array([o.kale_huur for o in rnd.options], dtype=np.float64),
            serv=np.array([o.servicekosten for o in rnd.options], dtype=np.float64),
            o_codes=o_codes,
            available=available_on(available_day, capacity, ctx.move_in),
            o_contingent=o_cont,
            t_min_age=np.array([t.min_age for t in types], dtype=np.int64),
            t_max_age=np.array([t.max_age for t in types], dtype=np.int64),
            t_support_min=np.array([t.support_min for t in types], dtype=np.int64),
            t_support_max=np.array([t.support_max for t in types], dtype=np.int64),
            t_zelf=np.array([t.zelfstandig for t in types], dtype=bool),
            t_provider=np.array([t.provider_contract for t in types], dtype=bool),
            forbidden_keys=np.unique(np.asarray(forbidden, dtype=np.int64)),
            n_codes=n_codes,
            code_ix=code_ix,
            type_ix=t_ix,
            available_day=available_day,
            capacity=capacity,
            **_youth_side(rnd.youths, ctx.move_in, t_ix, code_ix, n_codes),
        )

    def with_youths(self, youths: Sequence[Youth], move_in: date) -> _Arrays:
        """The same options and types with ``youths`` as the youth side, ages and availability
        on ``move_in`` and no forbidden pairs (for ``matcher.suggest``: one youth, no round).

        ``o_contingent`` is kept: the caller replaces it when ``move_in`` falls in another year.
        """
        return replace(
            self,
            available=available_on(self.available_day, self.capacity, move_in),
            forbidden_keys=np.zeros(0, dtype=np.int64),
            **_youth_side(youths, move_in, self.type_ix, self.code_ix, self.n_codes),
        )

    # --- youth x type rules (they depend on the option only through its type) -----------------

    def type_fail(self, rule: str, yi: IntArray, ti: IntArray) -> BoolArray:
        """Fail mask of a type-level rule for (youth, type) index arrays."""
        if rule == "type_accepted":
            return ~self.accept[yi, ti]
        if rule == "support_level":
            s = self.support[yi]
            return (s < self.t_support_min[ti]) | (s > self.t_support_max[ti])
        if rule == "age":
            a = self.age[yi]
            return (a < self.t_min_age[ti]) | (a > self.t_max_age[ti])
        if rule == "minor_contract":
            return (self.age[yi] < ADULT_AGE) & ~self.t_provider[ti]
        raise ValueError(rule)

    # --- pair rules ---------------------------------------------------------------------------

    def distances(self, yi: IntArray, oi: IntArray) -> FloatArray:
        """Metres to the nearest anchor per pair (NaN without anchors), as the scalar rule."""
        d = np.full(len(yi), np.nan)
        px, py = self.ox[oi], self.oy[oi]
        for k in range(self.ax.shape[1]):
            dx = px - self.ax[yi, k]
            dy = py - self.ay[yi, k]
            d = np.fmin(d, np.sqrt(dx * dx + dy * dy))  # fmin skips NaN (missing anchors)
        return d

    def affordability(self, policy: Policy, yi: IntArray, oi: IntArray) -> tuple[
        NDArray[np.int8], FloatArray, FloatArray
    ]:  # fmt: skip
        """(outcome code, net rent, toeslag) per pair."""
        arr = affordability_arrays(
            policy,
            self.age[yi],
            self.t_zelf[self.otype[oi]],
            self.kale[oi],
            self.serv[oi],
            self.income[yi],
            self.max_rent[yi],
            self.household[yi],
        )
        return arr.code, arr.net_rent, arr.toeslag

    def no_go_fail(self, yi: IntArray, oi: IntArray) -> BoolArray:
        """Option in a no-go code (any level) or on/inside a no-go polygon of the youth."""
        fail = np.zeros(len(yi), dtype=bool)
        sel = np.flatnonzero(self.has_nogo_code[yi])
        if len(sel) and len(self.nogo_keys):
            base = yi[sel] * self.n_codes
            codes = self.o_codes[oi[sel]]
            hit = np.zeros(len(sel), dtype=bool)
            for j in range(3):
                c = codes[:, j]
                hit |= (c >= 0) & np.isin(base + c, self.nogo_keys)
            fail[sel] = hit
        if self.polygons:
            poly_youths = np.fromiter(self.polygons, dtype=np.int64)
            sel = np.flatnonzero(np.isin(yi, poly_youths))
            if len(sel):
                order = sel[np.argsort(yi[sel], kind="stable")]
                ys = yi[order]
                starts = np.flatnonzero(np.r_[True, ys[1:] != ys[:-1]])
                ends = np.r_[starts[1:], len(ys)]
                for s, e in zip(starts, ends, strict=True):
                    idx = order[s:e]
                    px, py = self.ox[oi[idx]], self.oy[oi[idx]]
                    inside = np.zeros(len(idx), dtype=bool)
                    for poly in self.polygons[int(ys[s])]:
                        inside |= shapely.intersects_xy(poly, px, py)
                    fail[idx] |= inside
        return fail

    def forbidden_fail(self, yi: IntArray, oi: IntArray) -> BoolArray:
        if not len(self.forbidden_keys):
            return np.zeros(len(yi), dtype=bool)
        return np.isin(yi * self.n_options + oi, self.forbidden_keys)

    def all_fails(
        self, policy: Policy, yi: IntArray, oi: IntArray, no_go: BoolArray | None = None
    ) -> dict[str, BoolArray]:
        """Fail mask per rule name for every pair (no short-circuit: for failure counts).

        ``no_go``: the no-go mask when the caller already has it (``matcher.suggest`` computes
        it with ``no_go_fail`` on the pairs near a polygon only).
        """
        ti = self.otype[oi]
        out = {r: self.type_fail(r, yi, ti) for r in RULE_NAMES[:4]}
        code, _, _ = self.affordability(policy, yi, oi)
        out["affordability"] = code != AFF_OK
        out["no_go"] = self.no_go_fail(yi, oi) if no_go is None else no_go
        md = self.max_dist[yi]
        out["distance"] = ~np.isnan(md) & ~(self.distances(yi, oi) <= md)
        out["available"] = ~self.available[oi]
        out["contingent_exists"] = self.o_contingent[oi] == -2
        out["forbidden_pair"] = self.forbidden_fail(yi, oi)
        return out


RoundArrays = _Arrays  # public name for matcher.suggest


def available_on(available_day: IntArray, capacity: IntArray, day: date) -> BoolArray:
    """``rule_available`` as arrays: available from (ordinal) not after ``day``, a place left."""
    return (available_day <= day.toordinal()) & (capacity > 0)


def _youth_side(
    youths: Sequence[Youth],
    move_in: date,
    t_ix: dict[str, int],
    code_ix: dict[str, int],
    n_codes: int,
) -> dict[str, Any]:
    """The youth fields of ``_Arrays`` for ``youths`` (ages on ``move_in``)."""
    n_y = len(youths)
    max_anchors = max((len(y.anchors) for y in youths), default=0)
    ax = np.full((n_y, max_anchors), np.nan)
    ay = np.full((n_y, max_anchors), np.nan)
    accept = np.zeros((n_y, len(t_ix)), dtype=bool)
    nogo: list[int] = []
    polygons: dict[int, tuple[BaseGeometry, ...]] = {}
    for i, y in enumerate(youths):
        for k, a in enumerate(y.anchors):
            ax[i, k] = a.x
            ay[i, k] = a.y
        for c in y.accepted_types:
            if c in t_ix:
                accept[i, t_ix[c]] = True
        for c in y.no_go_codes:
            if c in code_ix:  # a code no option lies in can exclude nothing
                nogo.append(i * n_codes + code_ix[c])
        if y.no_go_polygons:
            shapely.prepare(list(y.no_go_polygons))
            polygons[i] = y.no_go_polygons
    nogo_keys = np.unique(np.asarray(nogo, dtype=np.int64))
    has_nogo = np.zeros(n_y, dtype=bool)
    has_nogo[nogo_keys // n_codes] = True
    return {
        "n_youths": n_y,
        "age": np.array([age_on(y.birth_date, move_in) for y in youths], dtype=np.int64),
        "support": np.array([y.support_need for y in youths], dtype=np.int64),
        "income": np.array([y.income for y in youths], dtype=np.float64),
        "max_rent": np.array(
            [np.nan if y.max_rent is None else y.max_rent for y in youths], dtype=np.float64
        ),
        "household": np.array([y.household_size for y in youths], dtype=np.int64),
        "max_dist": np.array(
            [
                y.max_distance_m if y.max_distance_m is not None and y.anchors else np.nan
                for y in youths
            ],
            dtype=np.float64,
        ),
        "ax": ax,
        "ay": ay,
        "accept": accept,
        "nogo_keys": nogo_keys,
        "has_nogo_code": has_nogo,
        "polygons": polygons,
    }


# A tiny cache so repeated calls on the same round (failure counts for every unmatched youth,
# explanations in a page) do not rebuild the lookups. Matched by identity (``is``): rounds are
# immutable, and the cache holds the object so it cannot be replaced by another at that address.
_CACHE: list[tuple[Round, RoundContext, _Arrays | None]] = []
_CACHE_SIZE = 2


def _cached(round: Round) -> tuple[RoundContext, _Arrays | None]:
    for rnd, ctx, arrays in _CACHE:
        if rnd is round:
            return ctx, arrays
    ctx = RoundContext.build(round)
    _CACHE.insert(0, (round, ctx, None))
    del _CACHE[_CACHE_SIZE:]
    return ctx, None


def _context(round: Round) -> RoundContext:
    return _cached(round)[0]


def _arrays(round: Round) -> tuple[RoundContext, _Arrays]:
    ctx, arrays = _cached(round)
    if arrays is None:
        arrays = _Arrays.build(ctx)
        for k, (rnd, c, _) in enumerate(_CACHE):
            if rnd is round:
                _CACHE[k] = (rnd, c, arrays)
    return ctx, arrays


def failure_counts(round: Round, youth_code: str) -> dict[str, int]:
    """Per rule name, how many options fail it for this youth (an option failing two rules
    counts in both); key ``eligible``: the number of eligible options. Vectorised over all
    options of the round."""
    ctx, arr = _arrays(round)
    try:
        y = ctx.youth_index[youth_code]
    except KeyError:
        raise KeyError(f"onbekende jongere {youth_code!r}") from None
    oi = np.arange(arr.n_options, dtype=np.int64)
    yi = np.full(arr.n_options, y, dtype=np.int64)
    fails = arr.all_fails(ctx.policy, yi, oi)
    counts = {r: int(fails[r].sum()) for r in RULE_NAMES}
    any_fail = np.zeros(arr.n_options, dtype=bool)
    for m in fails.values():
        any_fail |= m
    counts["eligible"] = int((~any_fail).sum())
    return counts


# ---------------------------------------------------------------------------------------------
# Screening


def _candidates(arr: _Arrays, ok_yt: BoolArray, option_ok: BoolArray) -> Iterator[
    tuple[IntArray, IntArray]
]:  # fmt: skip
    """Candidate (youth, option) chunks: a superset of the eligible pairs, each pair once.

    Youths with a search radius take the options within the radius of one of their anchors
    (grid scan, ``_radius_candidates``); the others take every option of each type that passes
    the type-level rules.
    """
    limited = ~np.isnan(arr.max_dist)
    # Options by type, only those that pass the option-level rules for everybody.
    opts_by_type = [np.flatnonzero(option_ok & (arr.otype == t)) for t in range(ok_yt.shape[1])]

    # Youths without a radius: per type, all youths for whom the type passes x its options.
    for t, opts in enumerate(opts_by_type):
        if not len(opts):
            continue
        ys = np.flatnonzero(~limited & ok_yt[:, t])
        step = max(1, CHUNK_PAIRS // len(opts))
        for s in range(0, len(ys), step):
            chunk = ys[s : s + step]
            yield np.repeat(chunk, len(opts)), np.tile(opts, len(chunk))

    # Youths with a radius: a uniform grid over the option points; each anchor scans the rows of
    # cells its radius square covers (one sorted range per row), then the exact radius check.
    lim_y = np.flatnonzero(limited)
    if not len(lim_y):
        return
    # Types some limited youth may live in.
    type_wanted: BoolArray = np.asarray(ok_yt[lim_y].any(axis=0))
    grid_opts = np.flatnonzero(option_ok & type_wanted[arr.otype])
    if not len(grid_opts):
        return
    yield from _radius_candidates(arr, ok_yt, lim_y, grid_opts)


def _radius_candidates(
    arr: _Arrays, ok_yt: BoolArray, lim_y: IntArray, grid_opts: IntArray
) -> Iterator[tuple[IntArray, IntArray]]:
    """Pairs of radius-limited youths and the options within their radius of some anchor.

    Exact: a pair is produced once, by the first anchor (in the youth's order) within the
    radius, using the distance formula of ``rule_distance``. No Python loop over youths.
    """
    n_slots = arr.ax.shape[1]
    anchor_y = np.repeat(lim_y, n_slots)
    anchor_slot = np.tile(np.arange(n_slots, dtype=np.int64), len(lim_y))
    anchor_x = arr.ax[lim_y].ravel()
    anchor_yy = arr.ay[lim_y].ravel()
    has = ~np.isnan(anchor_x)
    anchor_y, anchor_slot = anchor_y[has], anchor_slot[has]
    anchor_x, anchor_yy = anchor_x[has], anchor_yy[has]
    radius = arr.max_dist[anchor_y]

    px, py = arr.ox[grid_opts], arr.oy[grid_opts]
    # Cells of a quarter of the median radius: the scanned square is ~1.6x the circle's area.
    # At least 1/64 of the largest radius, so one huge radius never scans thousands of rows.
    cell = max(float(np.median(radius)) / 4.0, float(radius.max()) / 64.0, 1.0)
    minx, miny = float(px.min()), float(py.min())
    ncx = int((float(px.max()) - minx) // cell) + 1
    ncy = int((float(py.max()) - miny) // cell) + 1
    n_cells = ncx * ncy
    # One grid per housing type (type-major cell ids): an anchor scans only the types its youth
    # may live in.
    cell_id = (
        arr.otype[grid_opts] * n_cells
        + ((py - miny) // cell).astype(np.int64) * ncx
        + ((px - minx) // cell).astype(np.int64)
    )
    order = np.argsort(cell_id, kind="stable")
    sorted_ids = cell_id[order]
    sorted_opts = grid_opts[order]

    # Scan window per anchor, widened by a metre so rounding never loses a boundary point.
    reach = radius + 1.0
    cx0 = np.clip(((anchor_x - reach - minx) // cell).astype(np.int64), 0, ncx - 1)
    cx1 = np.clip(((anchor_x + reach - minx) // cell).astype(np.int64), 0, ncx - 1)
    cy0 = ((anchor_yy - reach - miny) // cell).astype(np.int64).clip(0, ncy - 1)
    cy1 = ((anchor_yy + reach - miny) // cell).astype(np.int64).clip(0, ncy - 1)
    inside = (anchor_x + reach >= minx) & (anchor_x - reach <= minx + ncx * cell)
    inside &= (anchor_yy + reach >= miny) & (anchor_yy - reach <= miny + ncy * cell)
    # (anchor, type) scans, sorted by anchor; then one sorted range per scanned row of cells.
    at_a, at_t = np.nonzero(ok_yt[anchor_y] & inside[:, None])
    n_rows = cy1[at_a] - cy0[at_a] + 1
    row_scan = np.repeat(np.arange(len(at_a)), n_rows)
    row_anchor = at_a[row_scan]
    row_start = np.cumsum(n_rows) - n_rows
    row = cy0[row_anchor] + (np.arange(len(row_scan)) - row_start[row_scan])
    base = at_t[row_scan] * n_cells + row * ncx
    lo = np.searchsorted(sorted_ids, base + cx0[row_anchor], side="left")
    hi = np.searchsorted(sorted_ids, base + cx1[row_anchor], side="right")
    length = hi - lo
    if not len(length):
        return

    # Chunks of about CHUNK_PAIRS scanned points, cut between youths.
    per_anchor = np.bincount(row_anchor, weights=length, minlength=len(anchor_y))
    cum = np.cumsum(per_anchor)
    targets = np.searchsorted(cum, np.arange(1, int(cum[-1] // CHUNK_PAIRS) + 1) * CHUNK_PAIRS)
    firsts = np.flatnonzero(np.r_[True, anchor_y[1:] != anchor_y[:-1]])
    snapped = firsts[np.searchsorted(firsts, targets, side="right") - 1]
    cuts = np.unique(np.r_[0, snapped, len(anchor_y)])
    row_cuts = np.searchsorted(row_anchor, cuts, side="left")
    for r0, r1 in itertools.pairwise(row_cuts):
        ln = length[r0:r1]
        total = int(ln.sum())
        if not total:
            continue
        a = np.repeat(row_anchor[r0:r1], ln)
        pos = np.repeat(lo[r0:r1] - (np.cumsum(ln) - ln), ln) + np.arange(total)
        oi = sorted_opts[pos]
        yi = anchor_y[a]
        # The first anchor slot within the radius produces the pair; the others drop it.
        first = np.full(len(yi), -1, dtype=np.int64)
        md = arr.max_dist[yi]
        qx, qy = arr.ox[oi], arr.oy[oi]
        for k in range(n_slots - 1, -1, -1):
            dx = qx - arr.ax[yi, k]
            dy = qy - arr.ay[yi, k]
            first = np.where(np.sqrt(dx * dx + dy * dy) <= md, k, first)
        keep = first == anchor_slot[a]
        yield yi[keep], oi[keep]


def screen(round: Round) -> Screening:
    """All eligible pairs of ``round`` with net rent, toeslag and distance, vectorised.

    Forbidden pairs are excluded. Options needing a contingent that does not exist are eligible
    for nobody. Memory is bounded by processing candidates in chunks of ``CHUNK_PAIRS``.
    """
    ctx, arr = _arrays(round)
    n_y, n_t = arr.n_youths, len(arr.t_min_age)
    option_contingent = np.where(arr.o_contingent >= 0, arr.o_contingent, -1).astype(np.int32)

    # Youth x type table of the type-level rules: small (youths x types).
    yy = np.repeat(np.arange(n_y, dtype=np.int64), n_t)
    tt = np.tile(np.arange(n_t, dtype=np.int64), n_y)
    ok = np.ones(len(yy), dtype=bool)
    for rule in RULE_NAMES[:4]:
        ok &= ~arr.type_fail(rule, yy, tt)
    ok_yt = ok.reshape(n_y, n_t)
    option_ok = arr.available & (arr.o_contingent != -2)

    parts: list[tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]] = []
    for yi, oi in _candidates(arr, ok_yt, option_ok):
        # Re-check the type-level and option-level rules (cheap) so the result never depends on
        # how candidates were pre-filtered.
        keep = ok_yt[yi, arr.otype[oi]] & option_ok[oi]
        yi, oi = yi[keep], oi[keep]
        d = arr.distances(yi, oi)
        md = arr.max_dist[yi]
        keep = np.isnan(md) | (d <= md)
        yi, oi, d = yi[keep], oi[keep], d[keep]
        code, net, toeslag = arr.affordability(ctx.policy, yi, oi)
        keep = code == AFF_OK
        yi, oi, d, net, toeslag = yi[keep], oi[keep], d[keep], net[keep], toeslag[keep]
        keep = ~arr.no_go_fail(yi, oi) & ~arr.forbidden_fail(yi, oi)
        parts.append((yi[keep], oi[keep], d[keep], net[keep], toeslag[keep]))

    if parts:
        yi = np.concatenate([p[0] for p in parts])
        oi = np.concatenate([p[1] for p in parts])
        order = np.argsort(yi * max(1, arr.n_options) + oi, kind="stable")
        return Screening(
            youth_idx=yi[order].astype(np.int32),
            option_idx=oi[order].astype(np.int32),
            net_rent=np.concatenate([p[3] for p in parts])[order],
            toeslag=np.concatenate([p[4] for p in parts])[order],
            distance_m=np.concatenate([p[2] for p in parts])[order],
            option_contingent=option_contingent,
        )
    empty_i = np.zeros(0, dtype=np.int32)
    empty_f = np.zeros(0, dtype=np.float64)
    return Screening(
        empty_i, empty_i.copy(), empty_f, empty_f.copy(), empty_f.copy(), option_contingent
    )
