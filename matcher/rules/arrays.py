"""The eligibility rules in array form: a round's options, types and youths as NumPy arrays.

``RoundArrays`` holds a round as arrays (built once, O(youths + options) Python work) and
evaluates every rule of ``RULE_NAMES`` over arrays of (youth, option) index pairs: the type-level
rules per (youth, type), distances, affordability (``matcher.policy.affordability_arrays``),
no-go codes and polygons (``shapely.intersects_xy``), availability, contingents and forbidden
pairs. The expressions are those of the scalar rules (``matcher.rules.scalar``), so both forms
agree exactly. ``with_youths`` swaps the youth side (``matcher.suggest``: one youth, no round);
``round_arrays(round)`` gives the cached array form of a round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from matcher.policy import ADULT_AGE, AFF_OK, affordability_arrays, age_on
from matcher.problem import Policy, Round, Youth
from matcher.rules.context import (
    TYPE_RULES,
    RoundContext,
    contingent_of,
    needs_contingent,
    round_context,
)

__all__ = ["BoolArray", "FloatArray", "IntArray", "RoundArrays", "available_on", "round_arrays"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass
class RoundArrays:
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
    def build(cls, ctx: RoundContext) -> RoundArrays:
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

    def with_youths(self, youths: Sequence[Youth], move_in: date) -> RoundArrays:
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
                hit |= (c >= 0) & in_sorted(base + c, self.nogo_keys)
            fail[sel] = hit
        if self.polygons:
            has_polygon = np.zeros(self.n_youths, dtype=bool)
            has_polygon[np.fromiter(self.polygons, dtype=np.int64)] = True
            sel = np.flatnonzero(has_polygon[yi])
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
        return in_sorted(yi * self.n_options + oi, self.forbidden_keys)

    def all_fails(
        self, policy: Policy, yi: IntArray, oi: IntArray, no_go: BoolArray | None = None
    ) -> dict[str, BoolArray]:
        """Fail mask per rule name for every pair (no short-circuit: for failure counts).

        ``no_go``: the no-go mask when the caller already has it (``matcher.suggest`` computes
        it with ``no_go_fail`` on the pairs near a polygon only).
        """
        ti = self.otype[oi]
        out = {r: self.type_fail(r, yi, ti) for r in TYPE_RULES}
        return out | self.pair_fails(policy, yi, oi, no_go)

    def pair_fails(
        self, policy: Policy, yi: IntArray, oi: IntArray, no_go: BoolArray | None = None
    ) -> dict[str, BoolArray]:
        """``all_fails`` without the type-level rules (``TYPE_RULES``)."""
        out: dict[str, BoolArray] = {}
        code, _, _ = self.affordability(policy, yi, oi)
        out["affordability"] = code != AFF_OK
        out["no_go"] = self.no_go_fail(yi, oi) if no_go is None else no_go
        md = self.max_dist[yi]
        out["distance"] = ~np.isnan(md) & ~(self.distances(yi, oi) <= md)
        out["available"] = ~self.available[oi]
        out["contingent_exists"] = self.o_contingent[oi] == -2
        out["forbidden_pair"] = self.forbidden_fail(yi, oi)
        return out


def in_sorted(values: IntArray, keys: IntArray) -> BoolArray:
    """``np.isin(values, keys)`` for sorted ``keys`` by binary search: no sort of ``values``
    (np.isin sorts both; on the national failure counts that sort was a third of the time)."""
    if not len(keys):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return np.asarray(keys[pos] == values)


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
    """The youth fields of ``RoundArrays`` for ``youths`` (ages on ``move_in``)."""
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


def round_arrays(round: Round) -> tuple[RoundContext, RoundArrays]:
    """The context and the array form of ``round``, both built once (see ``round_context``)."""
    ctx = round_context(round)
    if ctx.arrays is None:
        ctx.arrays = RoundArrays.build(ctx)
    return ctx, ctx.arrays
