"""Suggestions for one young person: the best options now, the nearest misses, counterfactuals.

A regisseur asks: what could she get, why not that flat, and what would open more doors? This
module answers from an ``OptionIndex``, built once over every option (and rebuilt when options
change, see ``api.services.suggestions``):

* per-type arrays: the four type-level rules (type accepted, support, age, minor) are decided
  once per type, and options of a type failing three or more of them are never looked at (they
  can be neither suggestions, nor misses, nor opened by one change);
* an STRtree over the option points: a no-go polygon is tested exactly only against the options
  in its bounding box, and a youth with a search radius only looks at the options within reach
  of an anchor (``REACH_FACTOR`` radii);
* per-option tie-break hashes, area code indices and the rule arrays of
  ``matcher.rules`` (the youth side is swapped in per request with
  ``RoundArrays.with_youths``).

The rules themselves are not written here: every mask comes from ``matcher.rules``'s
array form (the same definitions the solver and, through the scalar form, the verifier use),
the reasons from its scalar rules, and the score parts from ``matcher.scoring``.

Definitions (docs/suggestions.md):

* **Suggestion**: an option eligible on ``on`` (every rule passes, contingent exists), ranked by
  the pair value of ``matcher.scoring`` (for one youth the urgency part is a constant, so this
  is the preference points, then the seeded tie-break, then the option code).
* **Nearest miss**: an option failing exactly one or two rules, never the no-go rule, and for
  a youth with a search radius within ``REACH_FACTOR`` (3) radii of an anchor; fewest failures
  first, then by preference.
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

from matcher.dutch import counted, euro, km, short_date
from matcher.policy import ADULT_AGE, AFF_OK, Reason
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
from matcher.rules import (
    RULE_NAMES,
    SCALAR_RULES,
    TYPE_RULES,
    ContingentKey,
    RoundArrays,
    RoundContext,
)
from matcher.scoring import (
    AREA_MAX,
    PREF_UNIT,
    PairScore,
    area_points_of_rank,
    code_hash,
    distance_points,
    mix_hashes,
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
REACH_FACTOR = 3.0  # misses and counterfactuals within this many search radii of an anchor
MAX_WAIT_DAYS = 3  # later days evaluated for the waiting counterfactual
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
    code_names: tuple[str, ...]  # area code per area code index of ``arrays``
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

    def arrays_for(self, youths: Sequence[Youth], day: date) -> RoundArrays:
        """The rule arrays with ``youths`` as the youth side, on ``day``."""
        arr = self.arrays.with_youths(youths, day)
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
    points = shapely.points(arrays.ox, arrays.oy)
    codes = np.array([o.code for o in base.options], dtype=object)
    hashes = np.array([code_hash(SEED, "o", c) for c in codes], dtype=np.uint64)
    return OptionIndex(
        options=base.options,
        types=ctx.types,
        contingents=base.contingents,
        policies=pols,
        base=base,
        arrays=arrays,
        codes=codes,
        code_rank=np.argsort(np.argsort(codes, kind="stable"), kind="stable"),
        code_names=tuple(sorted(arrays.code_ix, key=arrays.code_ix.__getitem__)),
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
    arr: RoundArrays, policy: Policy, yi: IntArray, oi: IntArray, no_go: BoolArray
) -> NDArray[np.bool_]:
    """(rules x pairs) fail matrix in ``RULE_NAMES`` order; ``no_go`` per pair."""
    fails = arr.all_fails(policy, yi, oi, no_go=no_go)
    out: NDArray[np.bool_] = (
        np.stack([fails[r] for r in RULE_NAMES])
        if len(oi)
        else np.zeros((len(RULE_NAMES), 0), bool)
    )
    return out


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


def _candidates(index: OptionIndex, arr: RoundArrays, youth: Youth, use_index: bool) -> IntArray:
    """Options that may be eligible or fail at most two rules, within reach of the youth.

    Reach: for a youth with a search radius, ``REACH_FACTOR`` times the radius from an anchor
    (nearer misses and the radius counterfactual stay within it); otherwise everywhere. With the
    index, types failing three or more type-level rules are skipped and the STRtree gives the
    options near the anchors; either way the exact distance decides, so both agree.
    """
    limited = youth.max_distance_m is not None and bool(youth.anchors)
    reach = REACH_FACTOR * (youth.max_distance_m or 0.0)
    if not use_index:
        oi = np.arange(index.size, dtype=np.int64)
    else:
        n_t = len(index.type_codes)
        ti = np.arange(n_t, dtype=np.int64)
        zeros = np.zeros(n_t, dtype=np.int64)
        count = np.zeros(n_t, dtype=np.int64)
        for rule in TYPE_RULES:
            count += arr.type_fail(rule, zeros, ti)
        wanted = count[arr.otype] <= 2
        if limited:
            # Bounding squares (plus a metre) of the reach circles: an envelope query.
            r = reach + 1.0
            squares = shapely.box(
                [a.x - r for a in youth.anchors], [a.y - r for a in youth.anchors],
                [a.x + r for a in youth.anchors], [a.y + r for a in youth.anchors],
            )  # fmt: skip
            _, near = index.tree.query(squares)
            mask = np.zeros(index.size, dtype=bool)
            mask[near] = True
            wanted &= mask
        oi = np.flatnonzero(wanted).astype(np.int64)
    if limited:
        oi = oi[arr.distances(np.zeros(len(oi), dtype=np.int64), oi) <= reach]
    return oi


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
    youth_hash = np.full(len(oi), code_hash(SEED, "y", youth.code), dtype=np.uint64)
    tie = (mix_hashes(youth_hash, index.option_hash[oi]) % np.uint64(PREF_UNIT)).astype(np.int64)
    return area + typ + dist + rent, tie


def _rank_key(
    index: OptionIndex, arr: RoundArrays, policy: Policy, youth: Youth, oi: IntArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """(sort key: minus the pair value's preference and tie-break part, net rent, toeslag)."""
    _, net, toeslag = arr.affordability(policy, np.zeros(len(oi), dtype=np.int64), oi)
    pref, tie = _preference(index, arr, youth, oi, net)
    return -(PREF_UNIT * pref + tie), net, toeslag


def _ranked(index: OptionIndex, oi: IntArray, k: int, *keys: NDArray[np.int64]) -> IntArray:
    """The first ``k`` of ``oi`` by the keys (ascending, first key most significant), then by
    option code. Keys are combined into one, cut at the k-th value, and only the rest sorted."""
    if not len(oi) or k <= 0:
        return oi[:0]
    combined = np.zeros(len(oi), dtype=np.int64)
    for key in keys:  # keys are small non-negative offsets of bounded range: mixed radix
        shifted = key - key.min()
        combined = combined * (int(shifted.max()) + 1) + shifted
    if len(oi) > k:
        cut = np.partition(combined, k - 1)[k - 1]
        keep = combined <= cut
        oi, combined = oi[keep], combined[keep]
    order = np.lexsort((index.code_rank[oi], combined))
    return oi[order][:k]


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


@dataclass
class _Trial:
    """One changed youth (or day) and the candidates it may open; filled in by ``_run``."""

    kind: str
    youth: Youth
    day: date
    sel: BoolArray  # candidates to evaluate again
    n: int = 1  # how many options it is meant to open at least
    amount: float | None = None
    new_value: float | None = None
    type_code: str | None = None
    opens: tuple[str, ...] = ()
    closes: tuple[str, ...] = ()


def _run(index: OptionIndex, b: _Base, trials: Sequence[_Trial]) -> None:
    """Evaluate every rule again for the trials' youths, one batch per day, and fill in what
    each opens and closes (exactly: eligible after and not before, and the reverse).

    Raising a limit or accepting one more type cannot close an option, so those trials select
    only blocked candidates; waiting can (ageing out), so its trials include the eligible ones.
    """
    by_day: dict[date, list[_Trial]] = {}
    for t in trials:
        by_day.setdefault(t.day, []).append(t)
    for day, group in by_day.items():
        arr = index.arrays_for([t.youth for t in group], day)
        positions = [np.flatnonzero(t.sel) for t in group]
        yi = np.repeat(np.arange(len(group), dtype=np.int64), [len(p) for p in positions])
        pos = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
        oi = b.oi[pos]
        fails = _fail_matrix(arr, index.policy_on(day), yi, oi, b.no_go[oi])
        ok_then: BoolArray = np.logical_not(fails.any(axis=0))
        ok_now = b.ok[pos]
        start = 0
        for t, p in zip(group, positions, strict=True):
            part = slice(start, start + len(p))
            start += len(p)
            then, now, opt = ok_then[part], ok_now[part], oi[part]
            t.opens = tuple(sorted(index.codes[opt[then & ~now]]))
            t.closes = tuple(sorted(index.codes[opt[~then & now]]))


def _money_trials(b: _Base, kind: str, base_value: float, thresholds: FloatArray) -> list[_Trial]:
    """Trials raising ``max_rent`` or ``income`` to open the 1st, 5th and 20th option."""
    sel = b.only(_AFFECTED[kind]) & ~b.ok
    out = []
    for n, target in _steps(thresholds):
        amount = _cents_above(base_value, target)
        out.append(_money_trial(b, kind, base_value, amount, sel, n))
    return out


def _money_trial(
    b: _Base, kind: str, base_value: float, amount: float, sel: BoolArray, n: int
) -> _Trial:
    new = base_value + amount
    youth = replace(b.youth, max_rent=new) if kind == "max_rent" else replace(b.youth, income=new)
    return _Trial(kind, youth, b.day, sel, n=n, amount=amount, new_value=new)


def _rent_trials(index: OptionIndex, b: _Base) -> list[_Trial]:
    youth = b.youth
    sel = b.only(("affordability",)) & ~b.ok
    if not sel.any():
        return []
    oi = b.oi[sel]
    zeros = np.zeros(len(oi), dtype=np.int64)
    out: list[_Trial] = []
    if youth.max_rent is not None:
        unlimited = index.arrays_for([replace(youth, max_rent=None)], b.day)
        code, _, _ = unlimited.affordability(b.policy, zeros, oi)
        only_personal = oi[code == AFF_OK]
        totals = b.arr.kale[only_personal] + b.arr.serv[only_personal]
        out += _money_trials(b, "max_rent", youth.max_rent, totals)
    minor_without_income = b.arr.age[0] < ADULT_AGE and youth.income <= 0
    if not minor_without_income:
        rich = index.arrays_for([replace(youth, income=1e12)], b.day)
        code, net, _ = rich.affordability(b.policy, zeros, oi)
        needed = net[code == AFF_OK] / b.policy.max_rent_share_of_income
        out += _money_trials(b, "income", youth.income, needed)
    return out


def _type_trials(index: OptionIndex, b: _Base) -> list[_Trial]:
    blocked = b.only(("type_accepted",)) & ~b.ok
    out = []
    for t in np.unique(b.arr.otype[b.oi[blocked]]).tolist():
        code = index.type_codes[t]
        youth = replace(b.youth, accepted_types=(*b.youth.accepted_types, code))
        sel = blocked & (b.arr.otype[b.oi] == t)
        out.append(_Trial("accept_type", youth, b.day, sel, type_code=code))
    return out


def _radius_trials(b: _Base) -> list[_Trial]:
    youth = b.youth
    if youth.max_distance_m is None or not youth.anchors:
        return []
    far = b.only(("distance",)) & ~b.ok
    if not far.any():
        return []
    oi = b.oi[far]
    dist = b.arr.distances(np.zeros(len(oi), dtype=np.int64), oi)
    out = []
    for n, target in _steps(dist):
        radius = math.ceil(target / RADIUS_STEP_M) * RADIUS_STEP_M
        while radius < target:
            radius += RADIUS_STEP_M
        changed = replace(youth, max_distance_m=radius)
        out.append(
            _Trial(
                "search_radius", changed, b.day, far, n=n,
                amount=radius - youth.max_distance_m, new_value=radius,
            )
        )  # fmt: skip
    return out


def _message(t: _Trial, index: OptionIndex) -> str:
    extra = f"{counted(len(t.opens), 'woning', 'woningen')} extra"
    assert t.amount is not None or t.kind == "accept_type"
    amount, new = t.amount or 0.0, t.new_value or 0.0
    if t.kind == "max_rent":
        return f"Persoonlijke maximale huur {euro(amount)} hoger ({euro(new)}): {extra}."
    if t.kind == "income":
        return f"Met {euro(amount)} meer inkomen per maand ({euro(new)}): {extra}."
    if t.kind == "search_radius":
        return f"Zoekstraal {km(amount)} groter ({km(new)}): {extra}."
    return f"Ook {index.types[t.type_code or ''].name} accepteren: {extra}."


def _same_day_counterfactuals(index: OptionIndex, b: _Base) -> list[Counterfactual]:
    """Rent, income, type and radius counterfactuals, evaluated in one batch."""
    trials = _rent_trials(index, b) + _type_trials(index, b) + _radius_trials(b)
    _run(index, b, trials)
    # The rule's own float arithmetic may need a cent more than the threshold suggests.
    for _ in range(3):
        short = [t for t in trials if t.kind in ("max_rent", "income") and len(t.opens) < t.n]
        if not short:
            break
        for t in short:
            assert t.amount is not None and t.new_value is not None
            bumped = _money_trial(
                b, t.kind, t.new_value - t.amount, round(t.amount + 0.01, 2), t.sel, t.n
            )
            t.youth, t.amount, t.new_value = bumped.youth, bumped.amount, bumped.new_value
        _run(index, b, short)
    out: list[Counterfactual] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    types: list[Counterfactual] = []
    for t in trials:
        if not t.opens or (t.kind, t.opens) in seen:
            continue
        seen.add((t.kind, t.opens))
        cf = Counterfactual(
            t.kind, _message(t, index), t.amount, t.new_value, type_code=t.type_code,
            opens=t.opens, closes=t.closes,
        )  # fmt: skip
        (types if t.kind == "accept_type" else out).append(cf)
    types.sort(key=lambda c: (-len(c.opens), c.type_code or ""))
    kinds = ("max_rent", "income", "accept_type", "search_radius")
    return sorted(out + types, key=lambda c: kinds.index(c.kind))


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
    known = [d for d in chosen if any(p.valid_from <= d for p in index.policies)]
    trials = [_Trial("wait", youth, until, sel) for until in known[:MAX_WAIT_DAYS]]
    _run(index, b, trials)
    out: list[Counterfactual] = []
    seen: set[tuple[str, ...]] = set()
    for trial in trials:
        if not trial.opens or trial.opens in seen or len(out) == 3:
            continue
        seen.add(trial.opens)
        opens = counted(len(trial.opens), "woning", "woningen")
        msg = f"Wachten tot {short_date(trial.day)}: {opens} extra"
        msg += f", {len(trial.closes)} vallen dan af." if trial.closes else "."
        out.append(
            Counterfactual("wait", msg, until=trial.day, opens=trial.opens, closes=trial.closes)
        )
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
    best = max(zip(counts.tolist(), ids.tolist(), strict=True), key=lambda p: (p[0], -p[1]))
    code = index.code_names[best[1]]
    if code in youth.preferred_areas:
        return []
    msg = (
        f"Gemeente {code} toevoegen aan de voorkeursgebieden: "
        f"{counted(best[0], 'passende woning', 'passende woningen')} daar komen hoger in de lijst "
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
    arr = index.arrays_for([youth], on)
    policy = index.policy_on(on)
    no_go = _no_go_mask(index, arr, use_index)
    oi = _candidates(index, arr, youth, use_index)
    fails = _fail_matrix(arr, policy, np.zeros(len(oi), dtype=np.int64), oi, no_go[oi])
    n_fail = fails.sum(axis=0)
    b = _Base(youth, on, arr, policy, oi, fails, no_go, n_fail == 0)

    # Suggestions: eligible options by preference, tie-break, code.
    eligible = oi[b.ok]
    key, net, toeslag = _rank_key(index, arr, policy, youth, eligible)
    top = _ranked(index, eligible, k, key)
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
    miss_key, _, _ = _rank_key(index, arr, policy, youth, miss_oi)
    miss_top = _ranked(index, miss_oi, n_misses, n_fail[miss_sel].astype(np.int64), miss_key)
    # The reasons come from the scalar rules the fail matrix names (the verifier's rules).
    cand_pos = np.searchsorted(oi, miss_top)
    misses = tuple(
        Miss(
            option=index.options[o],
            type_name=index.types[index.options[o].type_code].name,
            reasons=tuple(
                reason
                for rule in RULE_NAMES
                if fails[_RULE_ROW[rule], p]
                and (reason := SCALAR_RULES[rule](ctx, youth, index.options[o])) is not None
            ),
        )
        for o, p in zip(miss_top.tolist(), cand_pos.tolist(), strict=True)
    )

    # No-go: counted, never relaxed.
    in_no_go = int(no_go.sum())
    otherwise = int((fails[_RULE_ROW["no_go"]] & (n_fail == 1)).sum())
    if otherwise:
        lying = counted(
            otherwise, "woning die verder past ligt", "woningen die verder passen liggen"
        )
        nogo_msg = f"{lying} in de no-go-gebieden van de jongere; die worden nooit voorgesteld."
    else:
        nogo_msg = "Geen woning die verder past ligt in de no-go-gebieden van de jongere."

    area_pts = _area_part(arr, youth, eligible)
    counterfactuals = (
        _same_day_counterfactuals(index, b)
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
