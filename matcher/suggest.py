"""Suggestions for one young person: the best options now, the nearest misses, counterfactuals.

A regisseur asks: what could she get, why not that flat, and what would open more doors? This
module answers from an ``OptionIndex``, built once over every option (and rebuilt when options
change, see ``api.services.suggestions``):

* per-type option arrays: the four type-level rules (type accepted, support, age, minor) are
  decided once per type, and options of a type failing three or more of them are never looked
  at (they can be neither suggestions, nor misses, nor opened by one change);
* an STRtree over the option points: a no-go polygon is tested exactly only against the options
  in its bounding box;
* per-option tie-break hashes, area code indices and the rule arrays of
  ``matcher.eligibility`` (the youth side is swapped in per request with
  ``RoundArrays.with_youths``).

The rules themselves are not written here: every mask comes from ``matcher.eligibility``'s
array form (the same definitions the solver and, through the scalar form, the verifier use),
the reasons from its scalar rules, and the score parts from ``matcher.scoring``.

Definitions (docs/suggestions.md):

* **Suggestion**: an option eligible on ``on`` (every rule passes, contingent exists), ranked by
  the pair value of ``matcher.scoring`` (for one youth the urgency part is a constant, so this
  is the preference points, then the seeded tie-break, then the option code).
* **Nearest miss**: an option failing exactly one or two rules, never the no-go rule; fewest
  failures first, then by preference.
* **Counterfactual**: one change to the youth (personal maximum rent, income, one more accepted
  type, a larger search radius, or a later date) and the options it opens: exactly the options
  eligible after the change and not before, found by evaluating the rules again with the changed
  youth. Amounts are the smallest (in cents, or in 100 m for the radius) that open the first,
  the fifth and the twentieth option. No-go areas are never relaxed; the options lying in them
  are only counted (``NoGoCount``). Widening the preferred areas changes the ranking, not
  eligibility: that counterfactual says how many eligible options would score area points.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import shapely
from numpy.typing import NDArray

from matcher.eligibility import (
    RULE_NAMES,
    ContingentKey,
    RoundArrays,
    RoundContext,
    _nl_date,
    _nl_km,
    pair_reasons,
)
from matcher.policy import ADULT_AGE, AFF_OK, Reason, euro
from matcher.problem import (
    AreaLevel,
    Contingent,
    HousingType,
    Option,
    Policy,
    Round,
    Youth,
    area_level,
)
from matcher.scoring import (
    AREA_MAX,
    PREF_UNIT,
    PairScore,
    _code_hash,
    _mix,
    area_points_of_rank,
    distance_points,
    rent_points,
    score_breakdown,
    type_points_of_rank,
)

__all__ = [
    "ContingentUse",
    "Counterfactual",
    "Miss",
    "NoGoCount",
    "OptionIndex",
    "Suggestion",
    "Suggestions",
    "build_index",
    "suggest",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

SEED = 0  # tie-break seed of suggestions (a round's default seed)
STEP_TARGETS = (1, 5, 20)  # counterfactual amounts that open the 1st, 5th and 20th option
RADIUS_STEP_M = 100.0  # search radius counterfactuals in whole 100 m
TYPE_RULES = RULE_NAMES[:4]  # rules that depend on the option only through its type
_RULE_ROW = {r: i for i, r in enumerate(RULE_NAMES)}
_LEVEL_COLUMN = {AreaLevel.GEMEENTE: 0, AreaLevel.WIJK: 1, AreaLevel.BUURT: 2}
# Rules a change to one youth field (or the date) can turn; every other rule keeps its outcome.
_AFFECTED: dict[str, tuple[str, ...]] = {
    "max_rent": ("affordability",),
    "income": ("affordability",),
    "accept_type": ("type_accepted",),
    "search_radius": ("distance",),
    "wait": ("age", "minor_contract", "affordability", "available", "contingent_exists"),
}


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class ContingentUse:
    """The contingent a placement would count against, with what is left of it."""

    corporation: str
    gemeente_code: str
    year: int
    type_code: str | None
    amount: int
    used: int
    left: int


@dataclass(frozen=True)
class Suggestion:
    """An eligible option with its score part by part and the contingent it would use."""

    option: Option
    type_name: str
    score: PairScore
    contingent: ContingentUse | None


@dataclass(frozen=True)
class Miss:
    """An option failing one or two rules, with each failing rule's Dutch reason."""

    option: Option
    type_name: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Counterfactual:
    """One change and exactly what it opens (and, for waiting, what it closes)."""

    kind: str  # max_rent, income, accept_type, search_radius, wait, preferred_area
    message: str  # Dutch, for the regisseur
    amount: float | None = None  # euros (max_rent, income) or metres (search_radius)
    new_value: float | None = None  # the personal maximum, income or radius after the change
    type_code: str | None = None  # accept_type
    area_code: str | None = None  # preferred_area
    until: date | None = None  # wait
    opens: tuple[str, ...] = ()  # option codes eligible after the change and not before
    closes: tuple[str, ...] = ()  # option codes eligible now and not after (wait: ageing out)
    better_ranked: int = 0  # preferred_area: eligible options that would score area points


@dataclass(frozen=True)
class NoGoCount:
    """No-go areas are never relaxed: the options in them are only counted."""

    options: int  # options lying in the youth's no-go areas (any type)
    otherwise_eligible: int  # of which fail no other rule
    message: str


@dataclass(frozen=True)
class Suggestions:
    """Everything ``suggest`` found for one youth on one day."""

    youth: str
    on: date
    options: int  # options in the index
    eligible: int
    suggestions: tuple[Suggestion, ...]
    misses: tuple[Miss, ...]
    counterfactuals: tuple[Counterfactual, ...]
    no_go: NoGoCount
    policy_valid_from: date


# ---------------------------------------------------------------------------------------------
# The index


@dataclass
class OptionIndex:
    """Options as arrays, per type and in an STRtree; immutable after ``build_index``.

    Lazily (and idempotently) it adds the contingent index per year for dates in another year.
    """

    options: tuple[Option, ...]
    types: dict[str, HousingType]
    contingents: tuple[Contingent, ...]
    policies: tuple[Policy, ...]  # sorted by valid_from
    base: Round  # all options, no youths
    arrays: RoundArrays  # the rule arrays of ``base``
    codes: NDArray[np.object_]  # option codes
    code_rank: IntArray  # position of each option's code in code order
    by_type: tuple[IntArray, ...]  # option indices per type index of ``arrays``
    type_codes: tuple[str, ...]  # type code per type index
    tree: shapely.STRtree  # option points
    option_hash: NDArray[np.uint64]  # tie-break hash per option (seed SEED)
    contingent_keys: dict[ContingentKey, int]
    fingerprint: object = None
    _contingent_by_year: dict[int, IntArray] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def size(self) -> int:
        return len(self.options)

    def policy_on(self, day: date) -> Policy:
        """The policy in force on ``day`` (latest ``valid_from`` not after it)."""
        found = [p for p in self.policies if p.valid_from <= day]
        if not found:
            raise LookupError(f"geen huurtoeslagbeleid bekend op {day.isoformat()}")
        return found[-1]

    def contingent_index(self, year: int) -> IntArray:
        """Per option the contingent it uses in ``year`` (-1 none needed, -2 needed, missing)."""
        if year == self.base.move_in.year:
            return self.arrays.o_contingent
        with self._lock:
            got = self._contingent_by_year.get(year)
            if got is None:
                day = date(year, 1, 1)
                ctx = RoundContext.build(replace(self.base, month=day, move_in=day))
                got = RoundArrays.build(ctx).o_contingent
                self._contingent_by_year[year] = got
            return got

    def arrays_for(self, youth: Youth, day: date) -> RoundArrays:
        """The rule arrays with ``youth`` as the only youth, on ``day``."""
        arr = self.arrays.with_youths([youth], day)
        if day.year != self.base.move_in.year:
            arr = replace(arr, o_contingent=self.contingent_index(day.year))
        return arr

    def context(self, youth: Youth, day: date) -> RoundContext:
        """A scalar-rule context for ``youth`` on ``day`` (for the reasons of a few options)."""
        policy = self.policy_on(day)
        small = Round(
            month=day,
            move_in=day,
            types=self.base.types,
            options=(),
            youths=(youth,),
            contingents=self.contingents,
            policy=policy,
            seed=SEED,
        )
        # As RoundContext.build, with the contingent lookup (by key, any year) built once.
        return RoundContext(
            round=small,
            policy=policy,
            move_in=day,
            types=self.types,
            youth_index={youth.code: 0},
            option_index={},
            contingent_index=self.contingent_keys,
            forbidden=frozenset(),
        )


def build_index(
    options: Iterable[Option],
    types: Iterable[HousingType],
    contingents: Iterable[Contingent],
    policies: Iterable[Policy],
    built_on: date,
    fingerprint: object = None,
) -> OptionIndex:
    """Index ``options`` (every status the caller wants suggested, including options that
    become available later: availability is a rule, evaluated per day).

    ``contingents`` may span several years; ``built_on`` picks the year prepared eagerly.
    Raises ``UnknownHousingType`` for an option of a type not in ``types``.
    """
    pols = tuple(sorted(policies, key=lambda p: p.valid_from))
    if not pols:
        raise LookupError("geen huurtoeslagbeleid bekend")
    base = Round(
        month=built_on,
        move_in=built_on,
        types=tuple(types),
        options=tuple(options),
        youths=(),
        contingents=tuple(contingents),
        policy=pols[-1],
        seed=SEED,
    )
    ctx = RoundContext.build(base)
    arrays = RoundArrays.build(ctx)
    type_codes = tuple(sorted(arrays.type_ix, key=arrays.type_ix.__getitem__))
    order = np.argsort(arrays.otype, kind="stable")
    bounds = np.searchsorted(arrays.otype[order], np.arange(len(type_codes) + 1))
    by_type = tuple(order[bounds[t] : bounds[t + 1]] for t in range(len(type_codes)))
    points = shapely.points(arrays.ox, arrays.oy)
    codes = np.array([o.code for o in base.options], dtype=object)
    hashes = np.array([_code_hash(SEED, "o", c) for c in codes], dtype=np.uint64)
    return OptionIndex(
        options=base.options,
        types=ctx.types,
        contingents=base.contingents,
        policies=pols,
        base=base,
        arrays=arrays,
        codes=codes,
        code_rank=np.argsort(np.argsort(codes, kind="stable"), kind="stable"),
        by_type=by_type,
        type_codes=type_codes,
        tree=shapely.STRtree(np.asarray(points)),
        option_hash=hashes,
        contingent_keys=ctx.contingent_index,
        fingerprint=fingerprint,
    )


# ---------------------------------------------------------------------------------------------
# Evaluation


def _no_go_mask(index: OptionIndex, arr: RoundArrays, use_index: bool) -> BoolArray:
    """``no_go_fail`` for every option; with the index, polygons only near their bounding box."""
    n = index.size
    everything = np.arange(n, dtype=np.int64)
    zeros = np.zeros(n, dtype=np.int64)
    if not use_index or not arr.polygons:
        return arr.no_go_fail(zeros, everything)
    fail = replace(arr, polygons={}).no_go_fail(zeros, everything)  # area codes only
    near = np.zeros(n, dtype=bool)
    for poly in arr.polygons[0]:
        minx, miny, maxx, maxy = poly.bounds
        # One metre of margin: a point on the box edge is certainly found.
        near[index.tree.query(shapely.box(minx - 1, miny - 1, maxx + 1, maxy + 1))] = True
    sel = np.flatnonzero(near)
    fail[sel] |= arr.no_go_fail(np.zeros(len(sel), dtype=np.int64), sel)
    return fail


def _fail_matrix(
    arr: RoundArrays, policy: Policy, oi: IntArray, no_go: BoolArray
) -> NDArray[np.bool_]:
    """(rules x options) fail matrix in ``RULE_NAMES`` order."""
    fails = arr.all_fails(policy, np.zeros(len(oi), dtype=np.int64), oi, no_go=no_go[oi])
    out: NDArray[np.bool_] = (
        np.stack([fails[r] for r in RULE_NAMES])
        if len(oi)
        else np.zeros((len(RULE_NAMES), 0), bool)
    )
    return out


def _ok_after(
    index: OptionIndex, youth: Youth, day: date, oi: IntArray, no_go: BoolArray
) -> BoolArray:
    """Eligibility of options ``oi`` for ``youth`` on ``day`` (every rule evaluated)."""
    arr = index.arrays_for(youth, day)
    return np.logical_not(_fail_matrix(arr, index.policy_on(day), oi, no_go).any(axis=0))


@dataclass
class _Base:
    """The state on the asked day: candidates, their fail matrix and eligibility."""

    youth: Youth
    day: date
    arr: RoundArrays
    policy: Policy
    oi: IntArray  # candidate options
    fails: NDArray[np.bool_]  # rules x candidates
    no_go: BoolArray  # per option in the index
    ok: BoolArray  # per candidate

    def only(self, rules: Sequence[str]) -> BoolArray:
        """Candidates whose failing rules all lie in ``rules`` (eligible ones included), never
        a candidate in a no-go area."""
        others = [i for r, i in _RULE_ROW.items() if r not in rules]
        return ~self.fails[others].any(axis=0) & ~self.no_go[self.oi]


def _candidates(index: OptionIndex, arr: RoundArrays, use_index: bool) -> IntArray:
    """Options that may be eligible or fail at most two rules."""
    if not use_index:
        return np.arange(index.size, dtype=np.int64)
    n_t = len(index.type_codes)
    ti = np.arange(n_t, dtype=np.int64)
    zeros = np.zeros(n_t, dtype=np.int64)
    count = np.zeros(n_t, dtype=np.int64)
    for rule in TYPE_RULES:
        count += arr.type_fail(rule, zeros, ti)
    keep = [index.by_type[t] for t in range(n_t) if count[t] <= 2]
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)


def _preference(
    index: OptionIndex, arr: RoundArrays, youth: Youth, oi: IntArray, net_rent: FloatArray
) -> tuple[IntArray, IntArray]:
    """(preference points, tie-break) per option, as ``scoring.pair_values`` for this youth."""
    if youth.preferred_areas:
        area = _area_part(arr, youth, oi)
    else:
        area = np.full(len(oi), AREA_MAX // 2, dtype=np.int64)
    type_table = np.array(
        [
            type_points_of_rank(youth.accepted_types.index(c)) if c in youth.accepted_types else 0
            for c in index.type_codes
        ],
        dtype=np.int64,
    )
    typ = type_table[arr.otype[oi]] if len(type_table) else np.zeros(len(oi), np.int64)
    dist = distance_points(arr.distances(np.zeros(len(oi), dtype=np.int64), oi))
    rent = rent_points(net_rent, np.full(len(oi), youth.income))
    youth_hash = np.full(len(oi), _code_hash(SEED, "y", youth.code), dtype=np.uint64)
    tie = (_mix(youth_hash, index.option_hash[oi]) % np.uint64(PREF_UNIT)).astype(np.int64)
    return area + typ + dist + rent, tie


def _ranked(index: OptionIndex, oi: IntArray, *keys: NDArray[np.int64]) -> IntArray:
    """``oi`` sorted by the keys (ascending, first key most significant), then option code."""
    if not len(oi):
        return oi
    order = np.lexsort((index.code_rank[oi], *reversed(keys)))
    return oi[order]


def _contingent_use(index: OptionIndex, k: int) -> ContingentUse | None:
    if k < 0:
        return None
    c = index.contingents[k]
    return ContingentUse(
        c.corporation, c.gemeente_code, c.year, c.type_code, c.amount, c.used, c.left
    )


# ---------------------------------------------------------------------------------------------
# Counterfactuals


def _cents_above(base: float, target: float) -> float:
    """The smallest amount in whole cents (at least one) with ``base + amount >= target``."""
    amount = max(0.01, math.ceil(round((target - base) * 100.0, 6)) / 100.0)
    while base + amount < target:
        amount = round(amount + 0.01, 2)
    return amount


def _steps(thresholds: FloatArray) -> list[tuple[int, float]]:
    """(n, threshold) opening the 1st, 5th and 20th option; distinct thresholds only."""
    ordered = np.sort(thresholds)
    out: list[tuple[int, float]] = []
    for n in STEP_TARGETS:
        if len(ordered) >= n and all(float(ordered[n - 1]) != t for _, t in out):
            out.append((n, float(ordered[n - 1])))
    return out


def _diff(
    index: OptionIndex, b: _Base, youth: Youth, day: date, sel: BoolArray
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(opened, closed) option codes among candidates ``sel`` for the changed youth / day.

    Raising a limit or accepting one more type cannot close an option, so those callers pass
    only blocked candidates; waiting can (ageing out), so it passes the eligible ones too.
    """
    oi = b.oi[sel]
    ok_now = b.ok[sel]
    ok_then = _ok_after(index, youth, day, oi, b.no_go)
    opened = index.codes[oi[ok_then & ~ok_now]]
    closed = index.codes[oi[~ok_then & ok_now]]
    return tuple(sorted(opened)), tuple(sorted(closed))


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _money_steps(
    index: OptionIndex,
    b: _Base,
    kind: str,
    base_value: float,
    thresholds: FloatArray,
) -> list[Counterfactual]:
    """Counterfactuals raising a money field (``max_rent`` or ``income``) of the youth."""
    out: list[Counterfactual] = []
    sel = b.only(_AFFECTED[kind]) & ~b.ok
    seen: set[tuple[str, ...]] = set()
    for n, target in _steps(thresholds):
        amount = _cents_above(base_value, target)
        for _ in range(3):  # float rounding of the rule's own arithmetic: a cent more
            youth = (
                replace(b.youth, max_rent=base_value + amount)
                if kind == "max_rent"
                else replace(b.youth, income=base_value + amount)
            )
            opens, closes = _diff(index, b, youth, b.day, sel)
            if len(opens) >= n:
                break
            amount = round(amount + 0.01, 2)
        if not opens or opens in seen:
            continue
        seen.add(opens)
        new = base_value + amount
        if kind == "max_rent":
            msg = (
                f"Persoonlijke maximale huur {euro(amount)} hoger ({euro(new)}): "
                f"{_n(len(opens), 'woning', 'woningen')} extra."
            )
        else:
            msg = (
                f"Met {euro(amount)} meer inkomen per maand ({euro(new)}): "
                f"{_n(len(opens), 'woning', 'woningen')} extra."
            )
        out.append(Counterfactual(kind, msg, amount, new, opens=opens, closes=closes))
    return out


def _rent_counterfactuals(index: OptionIndex, b: _Base) -> list[Counterfactual]:
    youth = b.youth
    sel = b.only(("affordability",)) & ~b.ok
    if not sel.any():
        return []
    oi = b.oi[sel]
    zeros = np.zeros(len(oi), dtype=np.int64)
    out: list[Counterfactual] = []
    if youth.max_rent is not None:
        unlimited = index.arrays_for(replace(youth, max_rent=None), b.day)
        code, _, _ = unlimited.affordability(b.policy, zeros, oi)
        only_personal = oi[code == AFF_OK]
        totals = b.arr.kale[only_personal] + b.arr.serv[only_personal]
        out += _money_steps(index, b, "max_rent", youth.max_rent, totals)
    minor_without_income = b.arr.age[0] < ADULT_AGE and youth.income <= 0
    if not minor_without_income:
        rich = index.arrays_for(replace(youth, income=1e12), b.day)
        code, net, _ = rich.affordability(b.policy, zeros, oi)
        needed = net[code == AFF_OK] / b.policy.max_rent_share_of_income
        out += _money_steps(index, b, "income", youth.income, needed)
    return out


def _type_counterfactuals(index: OptionIndex, b: _Base) -> list[Counterfactual]:
    out: list[Counterfactual] = []
    blocked = b.only(("type_accepted",)) & ~b.ok
    types_blocked = np.unique(b.arr.otype[b.oi[blocked]])
    for t in types_blocked.tolist():
        code = index.type_codes[t]
        sel = blocked & (b.arr.otype[b.oi] == t)
        youth = replace(b.youth, accepted_types=(*b.youth.accepted_types, code))
        opens, closes = _diff(index, b, youth, b.day, sel)
        if opens:
            name = index.types[code].name
            msg = f"Ook {name} accepteren: {_n(len(opens), 'woning', 'woningen')} extra."
            out.append(
                Counterfactual("accept_type", msg, type_code=code, opens=opens, closes=closes)
            )
    return sorted(out, key=lambda c: (-len(c.opens), c.type_code or ""))


def _radius_counterfactuals(index: OptionIndex, b: _Base) -> list[Counterfactual]:
    youth = b.youth
    if youth.max_distance_m is None or not youth.anchors:
        return []
    far = b.only(("distance",)) & ~b.ok
    if not far.any():
        return []
    oi = b.oi[far]
    dist = b.arr.distances(np.zeros(len(oi), dtype=np.int64), oi)
    out: list[Counterfactual] = []
    seen: set[tuple[str, ...]] = set()
    for _, target in _steps(dist):
        radius = math.ceil(target / RADIUS_STEP_M) * RADIUS_STEP_M
        while radius < target:
            radius += RADIUS_STEP_M
        opens, closes = _diff(index, b, replace(youth, max_distance_m=radius), b.day, far)
        if not opens or opens in seen:
            continue
        seen.add(opens)
        amount = radius - youth.max_distance_m
        msg = (
            f"Zoekstraal {_nl_km(amount)} groter ({_nl_km(radius)}): "
            f"{_n(len(opens), 'woning', 'woningen')} extra."
        )
        out.append(Counterfactual("search_radius", msg, amount, radius, opens=opens, closes=closes))
    return out


def _turns(birth: date, age: int) -> date:
    """The first day on which somebody born on ``birth`` is ``age`` (29 Feb: 1 March)."""
    try:
        return birth.replace(year=birth.year + age)
    except ValueError:
        return date(birth.year + age, 3, 1)


def _wait_counterfactuals(index: OptionIndex, b: _Base, horizon_days: int) -> list[Counterfactual]:
    youth, day = b.youth, b.day
    last = day + timedelta(days=horizon_days)
    sel = b.only(_AFFECTED["wait"])
    # Predicted opening day of options blocked only by age, minor and availability.
    timed = b.only(("age", "minor_contract", "available")) & ~b.ok
    oi = b.oi[timed]
    never = date.max.toordinal()
    per_type = np.full(len(index.type_codes), day.toordinal(), dtype=np.int64)
    for t, code in enumerate(index.type_codes):
        htype = index.types[code]
        age = int(b.arr.age[0])
        if age > htype.max_age:
            per_type[t] = never
            continue
        need = max(htype.min_age, ADULT_AGE if not htype.provider_contract else 0)
        if age < need:
            per_type[t] = _turns(youth.birth_date, need).toordinal()
    avail = np.where(
        b.arr.capacity[oi] > 0, np.maximum(b.arr.available_day[oi], day.toordinal()), never
    )
    opening = np.maximum(per_type[b.arr.otype[oi]], avail)
    days = np.sort(opening[(opening > day.toordinal()) & (opening <= last.toordinal())])
    candidates = [date.fromordinal(int(days[n - 1])) for n in (1, 5) if len(days) >= n]
    # Birthdays change age ranges and the young-tenant limit; a new policy year the figures.
    for age in range(int(b.arr.age[0]) + 1, int(b.arr.age[0]) + 3):
        candidates.append(_turns(youth.birth_date, age))
    candidates += [p.valid_from for p in index.policies]
    chosen = sorted({d for d in candidates if day < d <= last})
    out: list[Counterfactual] = []
    seen: set[tuple[str, ...]] = set()
    for until in chosen:
        if len(out) == 3:
            break
        try:
            opens, closes = _diff(index, b, youth, until, sel)
        except LookupError:  # no policy known then
            continue
        if not opens or opens in seen:
            continue
        seen.add(opens)
        msg = f"Wachten tot {_nl_date(until)}: {_n(len(opens), 'woning', 'woningen')} extra"
        msg += f", {len(closes)} vallen dan af." if closes else "."
        out.append(Counterfactual("wait", msg, until=until, opens=opens, closes=closes))
    return out


def _area_counterfactual(
    index: OptionIndex, b: _Base, eligible: IntArray, area: IntArray
) -> list[Counterfactual]:
    youth = b.youth
    if not youth.preferred_areas or not len(eligible):
        return []
    outside = eligible[area == 0]
    if not len(outside):
        return []
    gemeente_ids = b.arr.o_codes[outside, 0]
    ids, counts = np.unique(gemeente_ids[gemeente_ids >= 0], return_counts=True)
    if not len(ids):
        return []
    names = {v: k for k, v in b.arr.code_ix.items()}
    best = max(zip(counts.tolist(), ids.tolist(), strict=True), key=lambda p: (p[0], -p[1]))
    code = names[best[1]]
    if code in youth.preferred_areas:
        return []
    msg = (
        f"Gemeente {code} toevoegen aan de voorkeursgebieden: "
        f"{_n(best[0], 'passende woning', 'passende woningen')} daar komen hoger in de lijst "
        "(dit opent geen nieuwe woningen)."
    )
    return [Counterfactual("preferred_area", msg, area_code=code, better_ranked=best[0])]


# ---------------------------------------------------------------------------------------------
# Suggest


def suggest(
    index: OptionIndex,
    youth: Youth,
    on: date,
    k: int = 10,
    n_misses: int = 10,
    horizon_days: int = 365,
    use_index: bool = True,
) -> Suggestions:
    """The ``k`` best eligible options for ``youth`` on ``on``, the nearest misses, the
    counterfactuals and the no-go count (definitions in the module docstring).

    ``use_index=False`` evaluates every rule on every option (the baseline of
    bench/suggestions.py); the answer is the same.
    """
    if k < 0 or n_misses < 0:
        raise ValueError("k en n_misses mogen niet negatief zijn")
    arr = index.arrays_for(youth, on)
    policy = index.policy_on(on)
    no_go = _no_go_mask(index, arr, use_index)
    oi = _candidates(index, arr, use_index)
    fails = _fail_matrix(arr, policy, oi, no_go)
    n_fail = fails.sum(axis=0)
    b = _Base(youth, on, arr, policy, oi, fails, no_go, n_fail == 0)

    # Suggestions: eligible options by preference, tie-break, code.
    eligible = oi[b.ok]
    _, net, toeslag = arr.affordability(policy, np.zeros(len(eligible), np.int64), eligible)
    pref, tie = _preference(index, arr, youth, eligible, net)
    top = _ranked(index, eligible, -(PREF_UNIT * pref + tie))[:k]
    pos = {int(o): i for i, o in enumerate(eligible)}
    ctx = index.context(youth, on)
    suggestions = tuple(
        Suggestion(
            option=index.options[o],
            type_name=index.types[index.options[o].type_code].name,
            score=score_breakdown(
                ctx.round, youth, index.options[o], float(net[pos[o]]), float(toeslag[pos[o]])
            ),
            contingent=_contingent_use(index, int(arr.o_contingent[o])),
        )
        for o in top.tolist()
    )

    # Nearest misses: one or two failing rules, never no-go.
    miss_sel = (n_fail >= 1) & (n_fail <= 2) & ~fails[_RULE_ROW["no_go"]]
    miss_oi = oi[miss_sel]
    _, miss_net, _ = arr.affordability(policy, np.zeros(len(miss_oi), np.int64), miss_oi)
    miss_pref, miss_tie = _preference(index, arr, youth, miss_oi, miss_net)
    miss_top = _ranked(
        index, miss_oi, n_fail[miss_sel].astype(np.int64), -(PREF_UNIT * miss_pref + miss_tie)
    )[:n_misses]
    misses = tuple(
        Miss(
            option=index.options[o],
            type_name=index.types[index.options[o].type_code].name,
            reasons=tuple(pair_reasons(ctx, youth, index.options[o])),
        )
        for o in miss_top.tolist()
    )

    # No-go: counted, never relaxed.
    in_no_go = int(no_go.sum())
    otherwise = int((fails[_RULE_ROW["no_go"]] & (n_fail == 1)).sum())
    if otherwise:
        nogo_msg = (
            f"{_n(otherwise, 'woning die verder past ligt', 'woningen die verder passen liggen')} "
            "in de no-go-gebieden van de jongere; die worden nooit voorgesteld."
        )
    else:
        nogo_msg = "Geen woning die verder past ligt in de no-go-gebieden van de jongere."

    area_pts = _area_part(arr, youth, eligible)
    counterfactuals = (
        _rent_counterfactuals(index, b)
        + _type_counterfactuals(index, b)
        + _radius_counterfactuals(index, b)
        + _wait_counterfactuals(index, b, horizon_days)
        + _area_counterfactual(index, b, eligible, area_pts)
    )
    return Suggestions(
        youth=youth.code,
        on=on,
        options=index.size,
        eligible=len(eligible),
        suggestions=suggestions,
        misses=misses,
        counterfactuals=tuple(counterfactuals),
        no_go=NoGoCount(in_no_go, otherwise, nogo_msg),
        policy_valid_from=policy.valid_from,
    )


def _area_part(arr: RoundArrays, youth: Youth, oi: IntArray) -> IntArray:
    """Area points per option: the best preferred area it lies in (0: none of them)."""
    area = np.zeros(len(oi), dtype=np.int64)
    for rank, code in enumerate(youth.preferred_areas):
        try:
            level = area_level(code)
        except ValueError:
            continue
        cid = arr.code_ix.get(code)
        if cid is not None:  # else no option lies in this area
            hit = arr.o_codes[oi, _LEVEL_COLUMN[level]] == cid
            area = np.maximum(area, np.where(hit, area_points_of_rank(level, rank), 0))
    return area
