"""Exact solve of a complete round: certified LP bounds, reduced-cost fixing, CP-SAT on the rest.

When CP-SAT sees every eligible pair (``Candidates.complete``) the round can be proven optimal.
A plain CP-SAT model of a regional round (500 youths, 15,000 pairs) needs seconds for that: a
second of presolve per stage and most of the time finding the last solutions. This module gets
there in a fraction of a second, with the same exactness, in three steps per stage:

1. **LP relaxation** of the integer model below (HiGHS dual simplex through highspy). The model
   is a strong one: a house of Friends (persons_min 2) has an ``open`` variable that bounds each
   youth's placement there, and the age gap is written with age *windows* (one window per house
   is chosen; a placement needs a window holding the youth's age), so the relaxation of the
   regional round is usually tight: its bound equals the integer optimum of the housing
   stage. Where it is not (an odd cycle of half-placed youths), zero-half cuts
   (``matcher.zerohalf``) are added until a round of them no longer lowers the bound; the LP is
   kept warm in one HiGHS instance (``WarmLP``), so a round costs a few hundredths of a second.
   The preference LP is looser (youths half in two near-equal options round contingents,
   windows and Friends houses); one round of Gomory cuts from its tableau (``matcher.gomory``)
   closes most of its gap. The second core is used twice: the preference LP and its first
   Gomory round run beside the housing LP, used when the caller's housing guess turns out
   right (the same optimum; the LP lacks the housing LP's zero-half rows, so another optimal
   allocation may be chosen, the same on every run since the guess comes from the input),
   and more cut rounds run beside the first CP-SAT try (``CutRounds``: no outcome depends on
   the thread's speed). Where the cuts make the LP point whole it is an allocation at the
   certified bound, so optimal: it is the outcome and the CP-SAT try beside is stopped (11 of
   the 20 regional seed rounds, 7 of the 20 shared-heavy ones).
2. **Certified bound.** The LP duals are rounded to multiples of ``1/DUAL_DENOMINATOR`` and the
   bound is recomputed from them in integer arithmetic (weak duality with variable bounds, as in
   Neumaier and Shcherbina's safe bounds): whatever the floating-point LP did, the bound holds.
3. **Reduced-cost fixing.** The same integer arithmetic gives each variable's reduced cost ``d``:
   any solution worth at least ``T`` has ``sum |d_j| * (distance of x_j from its LP bound) <=
   U - T``. Variables whose ``|d_j|`` exceeds ``U - T`` are fixed, and CP-SAT maximises over the
   few that are left, with ``objective >= T`` as a constraint. If CP-SAT proves its optimum there,
   that is the optimum of the round; if it proves no solution reaches ``T``, the next try lowers
   ``T`` (a larger budget frees more variables) or, at the incumbent plus one, proves the
   incumbent optimal.

Stages are lexicographic as in ``matcher.cpsat``: first the urgency-weighted housing (``H``),
then preference and tie-break with ``housing >= H`` as a row. The housing stage is settled by the
LP alone when its certified bound ``H`` is reached by the preference stage's solution.

``solve_exact`` returns ``GaveUp`` when this path cannot finish (an LP the solver does not solve,
housing ``H`` not reachable, too many free variables, CP-SAT out of time); the caller then runs the
general two-stage CP-SAT of ``matcher.cpsat`` with what is left of the deterministic budget.

The integer model is built by a recipe, one function per constraint family, in ``RECIPE`` order:
``rows_assignment``, ``rows_capacity``, ``rows_contingents``, ``rows_gemeente_caps``,
``rows_house_persons``, ``rows_age_windows``, ``rows_age_intervals``, ``rows_conflicts``,
``rows_companions``, ``rows_companion_houses`` (the last two of the age and companion rows are
cuts: valid for every allocation, they only tighten the relaxation).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from ortools.sat.python import cp_model

from matcher.beside import Beside
from matcher.cpsat import cpsat_solver
from matcher.gomory import gomory_cuts
from matcher.instance import NO_LIMIT, Instance
from matcher.zerohalf import zero_half_cuts

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
T = TypeVar("T")

# Duals are rounded to multiples of 1/2^20 before the bound is recomputed in integers. LP vertex
# duals of this model are small fractions (halves, thirds); the rounding costs at most about
# nnz / 2^21 of bound (0.04 on a regional round), below the integer step of the objective.
DUAL_DENOMINATOR = 1 << 20
# Preference-stage budgets (U - T) tried in turn; each frees more variables than the last. The
# first is about 1.5 times the LP gap of the regional fixtures (525 preference units), so that
# one try usually settles a round; a try that falls short still leaves an incumbent.
BUDGETS = (768, 1_536, 3_072, 6_144)
# More free variables than this and the general CP-SAT of matcher.cpsat is the better tool.
MAX_FREE = 15_000
# Rounds of zero-half cuts on the housing LP (matcher.zerohalf); they stop at the first round
# that does not lower the bound, so a tight LP costs one separation and one warm re-solve.
HOUSING_CUT_ROUNDS = 4
# Rounds of Gomory cuts (matcher.gomory, at most GOMORY_CUTS each) on the preference LP before
# the first try: the first closes about 60 % of that LP's gap to the optimum. A second round
# slowed the tries while a round read its tableau rows from HiGHS one by one (0.2-0.5 s); with
# the rows from one LU (a few hundredths) it paid: regional sums -11 % (normal) and -5 %
# (shared-heavy), the worst seeds -23 % and -9 %; three rounds less (docs/objective.md, eighth
# pass).
PREFERENCE_CUT_ROUNDS = 2
GOMORY_CUTS = 100
# More rounds, at most this many, made beside the first CP-SAT try (``CutRounds``) and taken
# whole after it (or before it, when a hint shows the bound more than the first budget above
# it): each round closes much of what is left (shared-heavy seed 18: a gap of 9,765 after the
# first round, 128 after three more), and on about half of the normal regional rounds they end
# at an LP point that is an optimal allocation (docs/objective.md, seventh pass). More rounds
# (8) gained nothing there.
MORE_CUT_ROUNDS = 4
# Deterministic seconds a CP-SAT try gets before it starts again with the next random seed and
# twice the share (at most MAX_RESTARTS times). CP-SAT's time on one residual depends on its seed
# alone with a heavy tail: shared-heavy seed 4's proof try takes 1.35-2.31 det. s on seeds 1-7
# and 22 on seed 0 (docs/objective.md, 7 December 2026). A restart is deterministic too.
RESTART_DET = 4.0
# A try after one that searched its box to the end must leave that box (a clause: one of the
# variables the earlier try held moves). Such a try asks for more than the incumbent, so the
# incumbent is no solution of it: without the clause CP-SAT still gained from it as a hint, with
# the clause it loses time repairing it (docs/objective.md, ninth pass), so the hint goes.
LEAVE_SEARCHED = True
HINT_WHEN_LEAVING = False
MAX_RESTARTS = 4
# An LP point this close to integers in every column is taken as integral (then checked in
# exact arithmetic by ``integral_point``).
INTEGRAL_EPS = 1e-9
# Take the preference LP's point as the outcome where it is an allocation at the certified
# bound (after the first cut round, or the rounds beside the first try). Off only in tests of
# the CP-SAT tries' own logic, on rounds the cuts would settle without a try.
LP_POINTS = True


# ---------------------------------------------------------------------------------------------
# The integer model as sparse rows (shared by the LP and CP-SAT)


@dataclass
class LinearModel:
    """``row_lo <= A x <= row_hi``, ``var_lo <= x <= var_hi``, x integer (0/1 here).

    Columns ``0 .. n_pairs-1`` are the candidate pairs in order; auxiliary columns (house open,
    age windows) follow. Infinite row bounds are ``±inf``.
    """

    a: sp.csr_matrix
    row_lo: FloatArray
    row_hi: FloatArray
    var_lo: IntArray
    var_hi: IntArray
    n_pairs: int
    cut: BoolArray  # rows that are cuts: valid for every allocation, they only tighten
    cut_var: BoolArray  # columns that only cuts use (counts of residents; not 0/1)

    @property
    def n_vars(self) -> int:
        return len(self.var_lo)

    def without_cuts(self) -> LinearModel:
        """The same model without its cut rows (the integer solutions are the same)."""
        return self.rows_where(~self.cut)

    def without_count_rows(self) -> LinearModel:
        """The model without the rows over cut-only columns (resident counts): what CP-SAT gets.
        Every other cut row holds at every integer point of the model, so at every allocation
        with its house open where used and the window of its youngest resident chosen: CP-SAT
        loses no allocation by them."""
        return self.rows_where(np.asarray(self.a[:, self.cut_var].getnnz(axis=1)).ravel() == 0)

    def rows_where(self, keep: BoolArray) -> LinearModel:
        """The same columns with the rows ``keep`` marks."""
        return LinearModel(
            self.a[keep],
            self.row_lo[keep],
            self.row_hi[keep],
            self.var_lo,
            self.var_hi,
            self.n_pairs,
            self.cut[keep],
            self.cut_var,
        )

    def with_row(self, coef: IntArray, lo: float, hi: float) -> LinearModel:
        """This model with one more row over all columns (``coef`` dense, length n_vars)."""
        row = sp.csr_matrix(coef.astype(np.float64).reshape(1, -1))
        return self.with_rows(row, np.full(1, lo), np.full(1, hi), cut=False)

    def with_rows(
        self, rows: sp.csr_matrix, lo: FloatArray, hi: FloatArray, cut: bool
    ) -> LinearModel:
        """This model with more rows over all columns (``cut``: rows that only tighten)."""
        return LinearModel(
            sp.vstack([self.a, rows]).tocsr(),
            np.concatenate([self.row_lo, lo]),
            np.concatenate([self.row_hi, hi]),
            self.var_lo,
            self.var_hi,
            self.n_pairs,
            np.concatenate([self.cut, np.full(rows.shape[0], cut)]),
            self.cut_var,
        )


@dataclass
class RowBuilder:
    """Collects rows as blocks of (row, column, coefficient) entries while a recipe runs."""

    inst: Instance
    pairs: IntArray  # candidate pair indices (columns 0 .. len-1)
    n_vars: int
    rows: list[IntArray] = field(default_factory=list)
    cols: list[IntArray] = field(default_factory=list)
    coefs: list[IntArray] = field(default_factory=list)
    lo: list[FloatArray] = field(default_factory=list)
    hi: list[FloatArray] = field(default_factory=list)
    n_rows: int = 0
    cut: list[BoolArray] = field(default_factory=list)
    adding_cuts: bool = False  # set while a recipe function of CUTS runs
    var_hi: dict[int, int] = field(default_factory=dict)  # columns with an upper bound above 1
    cut_vars: list[IntArray] = field(default_factory=list)  # columns only cuts use
    house_open: dict[int, int] = field(default_factory=dict)  # house -> column of its open var
    # Age windows: (column, house, first age) per window, sorted by house then age.
    windows: tuple[IntArray, IntArray, IntArray] | None = None

    def __post_init__(self) -> None:
        inst = self.inst
        self.youth = inst.pair_youth[self.pairs].astype(np.int64)
        self.option = inst.pair_option[self.pairs].astype(np.int64)
        self.house = inst.option_house[self.option].astype(np.int64)
        nh = max(1, len(inst.house_codes))
        # Youth-in-house groups: a youth lives in a house through at most one of its options.
        self.yh_key, self.yh_of_col = np.unique(self.youth * nh + self.house, return_inverse=True)
        self.yh_youth = self.yh_key // nh
        self.yh_house = self.yh_key % nh

    def new_vars(self, k: int) -> IntArray:
        """``k`` new columns (0/1 unless ``var_hi`` says otherwise; cut-only in a cut)."""
        first = self.n_vars
        self.n_vars += k
        cols = np.arange(first, first + k, dtype=np.int64)
        if self.adding_cuts:
            self.cut_vars.append(cols)
        return cols

    def add(
        self, row: IntArray, col: IntArray, coef: IntArray, lo: FloatArray, hi: FloatArray
    ) -> None:
        """Add ``len(lo)`` rows; ``row`` numbers entries 0 .. len(lo)-1 within this block."""
        self.rows.append(np.asarray(row, dtype=np.int64) + self.n_rows)
        self.cols.append(np.asarray(col, dtype=np.int64))
        self.coefs.append(np.asarray(coef, dtype=np.int64))
        self.lo.append(np.asarray(lo, dtype=np.float64))
        self.hi.append(np.asarray(hi, dtype=np.float64))
        self.n_rows += len(lo)
        self.cut.append(np.full(len(lo), self.adding_cuts))

    def add_row(
        self, cols: IntArray, coefs: IntArray, lo: float = -np.inf, hi: float = np.inf
    ) -> None:
        """Add one row ``lo <= sum(coefs * x[cols]) <= hi``."""
        self.add(np.zeros(len(cols), np.int64), cols, coefs, np.full(1, lo), np.full(1, hi))

    def sum_at_most(self, key: IntArray, cols: IntArray, bound: IntArray) -> None:
        """One row per distinct ``key``: the sum of its columns <= ``bound[key]``, when binding."""
        if len(key) == 0:
            return
        keys, inv = np.unique(key, return_inverse=True)
        count = np.bincount(inv)
        b = bound[keys]
        binding = count > b
        local = np.full(len(keys), -1, dtype=np.int64)
        local[binding] = np.arange(int(binding.sum()))
        take = binding[inv]
        self.add(
            local[inv][take],
            cols[take],
            np.ones(int(take.sum()), dtype=np.int64),
            np.full(int(binding.sum()), -np.inf),
            b[binding].astype(np.float64),
        )

    def yh_cols(self, j: int) -> IntArray:
        """Pair columns of youth-in-house group ``j``."""
        return np.nonzero(self.yh_of_col == j)[0]

    def build(self) -> LinearModel:
        n = len(self.pairs)
        a = sp.csr_matrix(
            (
                np.concatenate(self.coefs).astype(np.float64),
                (np.concatenate(self.rows), np.concatenate(self.cols)),
            ),
            shape=(self.n_rows, self.n_vars),
        )
        var_lo = np.zeros(self.n_vars, dtype=np.int64)
        fixed = np.searchsorted(self.pairs, [p for p in self.inst.fixed_pair_idx if p >= 0])
        var_lo[fixed] = 1
        var_hi = np.ones(self.n_vars, dtype=np.int64)
        var_hi[list(self.var_hi)] = list(self.var_hi.values())
        cut_var = np.zeros(self.n_vars, dtype=bool)
        if self.cut_vars:
            cut_var[np.concatenate(self.cut_vars)] = True
        return LinearModel(
            a,
            np.concatenate(self.lo),
            np.concatenate(self.hi),
            var_lo,
            var_hi,
            n,
            np.concatenate(self.cut),
            cut_var,
        )


def rows_assignment(rb: RowBuilder) -> None:
    """Each youth at most one option."""
    rb.sum_at_most(rb.youth, np.arange(len(rb.pairs)), np.ones(rb.inst.n_youths, np.int64))


def rows_capacity(rb: RowBuilder) -> None:
    """Places per option."""
    rb.sum_at_most(rb.option, np.arange(len(rb.pairs)), rb.inst.option_capacity)


def rows_contingents(rb: RowBuilder) -> None:
    """A placement in an option with a contingent uses one unit of ``Contingent.left``."""
    oc = rb.inst.option_contingent[rb.option].astype(np.int64)
    cols = np.nonzero(oc >= 0)[0]
    rb.sum_at_most(oc[cols], cols, rb.inst.contingent_left)


def rows_gemeente_caps(rb: RowBuilder) -> None:
    """Cross-corporation caps on placements in options located in a gemeente."""
    og = rb.inst.option_gemeente[rb.option].astype(np.int64)
    capped = rb.inst.gemeente_cap != NO_LIMIT
    cols = np.nonzero(capped[og])[0]
    rb.sum_at_most(og[cols], cols, rb.inst.gemeente_cap)


def rows_house_persons(rb: RowBuilder) -> None:
    """Per house: placements <= persons_max; with persons_min > 1 an ``open`` variable gives
    ``pmin * open <= placements <= places * open`` and each youth's placement there <= open
    (the per-youth rows make the relaxation tight)."""
    inst = rb.inst
    cols = np.arange(len(rb.pairs))
    plain = inst.house_pmin[rb.house] <= 1
    rb.sum_at_most(rb.house[plain], cols[plain], inst.house_pmax)
    houses = np.unique(rb.house[~plain])
    if len(houses) == 0:
        return
    places = inst.house_places()
    open_col = rb.new_vars(len(houses))
    rb.house_open = dict(zip(houses.tolist(), open_col.tolist(), strict=True))
    local = np.full(len(inst.house_codes), -1, dtype=np.int64)
    local[houses] = np.arange(len(houses))
    member = np.nonzero(~plain)[0]
    m = len(houses)
    pmin = inst.house_pmin[houses]
    pmax = np.minimum(inst.house_pmax[houses], places[houses])
    # Row 2i: sum - pmin*open >= 0; row 2i+1: sum - pmax*open <= 0.
    row = np.concatenate([2 * local[rb.house[member]], 2 * local[rb.house[member]] + 1])
    col = np.concatenate([member, member])
    coef = np.ones(2 * len(member), dtype=np.int64)
    row = np.concatenate([row, 2 * np.arange(m), 2 * np.arange(m) + 1])
    col = np.concatenate([col, open_col, open_col])
    coef = np.concatenate([coef, -pmin, -pmax])
    lo = np.empty(2 * m)
    hi = np.empty(2 * m)
    lo[0::2], hi[0::2] = 0.0, np.inf
    lo[1::2], hi[1::2] = -np.inf, 0.0
    rb.add(row, col, coef, lo, hi)
    # Per youth-in-house group: its placements - open <= 0.
    groups = np.nonzero(np.isin(rb.yh_house, houses))[0]
    g_local = np.full(len(rb.yh_key), -1, dtype=np.int64)
    g_local[groups] = np.arange(len(groups))
    in_group = np.nonzero(g_local[rb.yh_of_col] >= 0)[0]
    rb.add(
        np.concatenate([g_local[rb.yh_of_col[in_group]], np.arange(len(groups))]),
        np.concatenate([in_group, open_col[local[rb.yh_house[groups]]]]),
        np.concatenate([np.ones(len(in_group), np.int64), -np.ones(len(groups), np.int64)]),
        np.full(len(groups), -np.inf),
        np.zeros(len(groups)),
    )


def expand_ranges(lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
    """For ranges ``[lo_i, hi_i)``: the owner ``i`` and the value of every element, in order."""
    length = np.maximum(hi - lo, 0)
    owner = np.repeat(np.arange(len(lo), dtype=np.int64), length)
    first = np.cumsum(length) - length
    return owner, np.arange(int(length.sum()), dtype=np.int64) - first[owner] + lo[owner]


def rows_age_windows(rb: RowBuilder) -> None:
    """Housemates' ages differ at most the house's max_age_gap.

    Per house one window variable per candidate age ``a`` (residents' ages in ``[a, a + gap]``);
    at most one window (exactly ``open`` when the house has one); a youth placed there needs a
    chosen window holding their age. The youngest resident's window always exists, so no
    allocation is lost, and the relaxation is far tighter than pairwise age exclusions.
    """
    inst = rb.inst
    ages = inst.youth_age[rb.youth]
    nh = max(1, len(inst.house_codes))
    lo = np.full(nh, np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(nh, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(lo, rb.house, ages)
    np.maximum.at(hi, rb.house, ages)
    spread = (inst.house_gap[:nh] != NO_LIMIT) & (hi - lo > inst.house_gap[:nh])
    cols = np.nonzero(spread[rb.house])[0]
    if len(cols) == 0:
        return
    span = int(ages.max()) + 1
    # One window per distinct (house, age) among the candidates, sorted by house then age.
    keys = np.unique(rb.house[cols] * span + ages[cols])
    win = rb.new_vars(len(keys))
    w_house, w_start = keys // span, keys % span
    rb.windows = (win, w_house, w_start)
    houses, first = np.unique(w_house, return_index=True)
    count = np.diff(np.append(first, len(keys)))
    # Per house: sum of windows == open (<= 1 without an open variable).
    opened = np.array([h in rb.house_open for h in houses.tolist()], dtype=bool)
    open_col = np.array([rb.house_open.get(h, -1) for h in houses.tolist()], dtype=np.int64)
    local = np.repeat(np.arange(len(houses), dtype=np.int64), count)
    row = np.concatenate([local, np.nonzero(opened)[0]])
    col = np.concatenate([win, open_col[opened]])
    coef = np.concatenate([np.ones(len(win), np.int64), -np.ones(int(opened.sum()), np.int64)])
    rb.add(row, col, coef, np.where(opened, 0.0, -np.inf), np.where(opened, 0.0, 1.0))
    # Per youth-in-house group there: its placements <= the windows holding its age.
    groups = np.nonzero(spread[rb.yh_house])[0]
    g_age = inst.youth_age[rb.yh_youth[groups]]
    g_gap = inst.house_gap[rb.yh_house[groups]]
    g_key = rb.yh_house[groups] * span
    w_lo = np.searchsorted(keys, g_key + np.maximum(g_age - g_gap, 0))
    w_hi = np.searchsorted(keys, g_key + g_age, side="right")
    g_local = np.full(len(rb.yh_key), -1, dtype=np.int64)
    g_local[groups] = np.arange(len(groups))
    in_group = np.nonzero(g_local[rb.yh_of_col] >= 0)[0]
    owner, w_idx = expand_ranges(w_lo, w_hi)
    rb.add(
        np.concatenate([g_local[rb.yh_of_col[in_group]], owner]),
        np.concatenate([in_group, win[w_idx]]),
        np.concatenate([np.ones(len(in_group), np.int64), -np.ones(len(owner), np.int64)]),
        np.full(len(groups), -np.inf),
        np.zeros(len(groups)),
    )


def rows_age_intervals(rb: RowBuilder) -> None:
    """Places per age interval: residents aged in ``[s, t]`` are at most ``sum_a k_a * w_a``.

    With window ``a`` chosen, the residents aged in ``[s, t]`` have ages in ``[s, t]`` and in
    ``[a, a + gap]``: at most ``k_a = min(places, youths with such an age)`` of them. The per-youth
    window rows imply this when every ``k_a`` is the plain count, so only intervals where the
    house's places cut in are added. Without these rows the relaxation half-opens a young and an
    old window and fills the house twice over (docs/objective.md).

    The rows count residents through prefix columns ``P_i`` (residents aged at most the i-th
    candidate age, ``0 <= P_i <= places``), so an interval row has two of them and the windows
    instead of every pair column in the interval.
    """
    if rb.windows is None:
        return
    inst = rb.inst
    win, w_house, w_start = rb.windows
    places = np.minimum(inst.house_pmax, inst.house_places())
    ages = inst.youth_age[rb.youth]
    yh_age = inst.youth_age[rb.yh_youth]
    houses, first = np.unique(w_house, return_index=True)
    bounds = np.append(first, len(w_house))
    row_l: list[IntArray] = []
    col_l: list[IntArray] = []
    coef_l: list[IntArray] = []
    lo_l: list[FloatArray] = []
    n_rows = 0
    for i, h in enumerate(houses.tolist()):
        wcols = win[bounds[i] : bounds[i + 1]]
        starts = w_start[bounds[i] : bounds[i + 1]]  # the distinct candidate ages, sorted
        gap, cap = int(inst.house_gap[h]), int(places[h])
        # Youths (groups) per candidate age; per interval [s, t] x window a, the count there.
        per_age = np.bincount(
            np.searchsorted(starts, yh_age[rb.yh_house == h]), minlength=len(starts)
        )
        cum = np.concatenate([[0], np.cumsum(per_age)])
        si, ti = np.triu_indices(len(starts))
        lo = np.maximum(starts[si][:, None], starts[None, :])
        hi = np.minimum(starts[ti][:, None], starts[None, :] + gap)
        n = np.where(
            hi >= lo,
            cum[np.searchsorted(starts, hi, side="right")] - cum[np.searchsorted(starts, lo)],
            0,
        )
        useful = np.nonzero((n > cap).any(axis=1) & (cum[ti + 1] - cum[si] > 1))[0]
        if len(useful) == 0:
            continue
        k = np.minimum(n[useful], cap)
        w_n = len(starts)
        prefix = rb.new_vars(w_n)
        for c in prefix.tolist():
            rb.var_hi[c] = cap
        # Definition rows: P_j - P_{j-1} - (pair columns of age starts[j]) = 0.
        hcols = np.nonzero(rb.house == h)[0]
        age_ix = np.searchsorted(starts, ages[hcols])
        row_l += [n_rows + age_ix, n_rows + np.arange(w_n), n_rows + np.arange(1, w_n)]
        col_l += [hcols, prefix, prefix[:-1]]
        coef_l += [
            -np.ones(len(hcols), np.int64),
            np.ones(w_n, np.int64),
            -np.ones(w_n - 1, np.int64),
        ]
        lo_l.append(np.zeros(w_n))
        n_rows += w_n
        # Interval rows: P_t - P_{s-1} - sum_a k_a w_a <= 0.
        m = len(useful)
        local = n_rows + np.arange(m)
        has_before = si[useful] > 0
        nz = k.ravel() > 0
        row_l += [local, local[has_before], np.repeat(local, w_n)[nz]]
        col_l += [prefix[ti[useful]], prefix[si[useful][has_before] - 1], np.tile(wcols, m)[nz]]
        coef_l += [
            np.ones(m, np.int64),
            -np.ones(int(has_before.sum()), np.int64),
            -k.ravel()[nz],
        ]
        lo_l.append(np.full(m, -np.inf))
        n_rows += m
    if n_rows:
        lo_all = np.concatenate(lo_l)
        rb.add(
            np.concatenate(row_l),
            np.concatenate(col_l),
            np.concatenate(coef_l),
            lo_all,
            np.zeros(n_rows),
        )


def rows_conflicts(rb: RowBuilder) -> None:
    """Two youths who declared a conflict never share a house."""
    for a, b in rb.inst.conflicts:
        common = set(rb.yh_house[rb.yh_youth == a].tolist()) & set(
            rb.yh_house[rb.yh_youth == b].tolist()
        )
        for h in sorted(common):
            cols = np.nonzero(((rb.youth == a) | (rb.youth == b)) & (rb.house == h))[0]
            rb.add_row(cols, np.ones(len(cols), np.int64), hi=1.0)


def rows_companions(rb: RowBuilder) -> None:
    """Youths who applied together live in the same house, or none of them is placed."""
    for group in rb.inst.companion_groups:
        houses: set[int] = set()
        for y in group:
            houses |= set(rb.yh_house[rb.yh_youth == y].tolist())
        for h in sorted(houses):
            first = np.nonzero((rb.youth == group[0]) & (rb.house == h))[0]
            for y in group[1:]:
                other = np.nonzero((rb.youth == y) & (rb.house == h))[0]
                rb.add(
                    np.zeros(len(first) + len(other), np.int64),
                    np.concatenate([first, other]),
                    np.concatenate([np.ones(len(first), np.int64), -np.ones(len(other), np.int64)]),
                    np.zeros(1),
                    np.zeros(1),
                )


def rows_companion_houses(rb: RowBuilder) -> None:
    """A companion group that fills a house leaves no place there for anybody else.

    For a group of ``g`` youths and a house with ``min(persons_max, places) <= g`` places, every
    other youth ``y``: ``x_y + z <= open`` (``<= 1`` without an open variable), where ``z`` is the
    group's first member's placement there (the companion rows make every member's equal). The
    capacity row only gives ``x_y + g * z <= places``, which half a group and a whole other youth
    keep in the relaxation (companions split over two Friends houses).
    """
    inst = rb.inst
    places = np.minimum(inst.house_pmax, inst.house_places())
    member = np.full(inst.n_youths, -1, dtype=np.int64)
    for gi, group in enumerate(inst.companion_groups):
        member[group] = gi
    row_l: list[IntArray] = []
    col_l: list[IntArray] = []
    coef_l: list[IntArray] = []
    lo_l: list[FloatArray] = []
    hi_l: list[FloatArray] = []
    n_rows = 0
    for gi, group in enumerate(inst.companion_groups):
        for j in np.nonzero(rb.yh_youth == group[0])[0].tolist():
            h = int(rb.yh_house[j])
            if places[h] > len(group):
                continue
            z = rb.yh_cols(j)
            others = np.nonzero((rb.yh_house == h) & (member[rb.yh_youth] != gi))[0]
            if len(others) == 0:
                continue
            cols = np.nonzero(np.isin(rb.yh_of_col, others))[0]
            local = np.searchsorted(others, rb.yh_of_col[cols])
            k = len(others)
            rows = [local, np.repeat(np.arange(k), len(z))]
            colz = [cols, np.tile(z, k)]
            coefs = [np.ones(len(cols) + k * len(z), np.int64)]
            open_col = rb.house_open.get(h)
            if open_col is not None:
                rows.append(np.arange(k))
                colz.append(np.full(k, open_col, np.int64))
                coefs.append(-np.ones(k, np.int64))
            row_l.append(np.concatenate(rows) + n_rows)
            col_l.append(np.concatenate(colz))
            coef_l.append(np.concatenate(coefs))
            lo_l.append(np.full(k, -np.inf))
            hi_l.append(np.full(k, 0.0 if open_col is not None else 1.0))
            n_rows += k
    if n_rows:
        rb.add(
            np.concatenate(row_l),
            np.concatenate(col_l),
            np.concatenate(coef_l),
            np.concatenate(lo_l),
            np.concatenate(hi_l),
        )


RECIPE: tuple[Callable[[RowBuilder], None], ...] = (
    rows_assignment,
    rows_capacity,
    rows_contingents,
    rows_gemeente_caps,
    rows_house_persons,
    rows_age_windows,
    rows_age_intervals,
    rows_conflicts,
    rows_companions,
    rows_companion_houses,
)
# Recipe functions whose rows are cuts: both LPs get them (a housing bound from the LP without
# them can exceed what the preference LP with them allows, which then has no solution). CP-SAT
# gets every cut row but those over resident counts (``LinearModel.without_count_rows``): with
# the Gomory cuts of the preference LP that was measured faster than its own cuts alone.
CUTS = frozenset({rows_age_intervals, rows_companion_houses})


def build_linear_model(inst: Instance, pairs: IntArray) -> tuple[LinearModel, RowBuilder]:
    """The integer model of the candidate ``pairs`` (sorted), built by the recipe in order."""
    rb = RowBuilder(inst, np.asarray(pairs, dtype=np.int64), len(pairs))
    for add in RECIPE:
        rb.adding_cuts = add in CUTS
        add(rb)
    return rb.build(), rb


# ---------------------------------------------------------------------------------------------
# LP, certified bound, reduced-cost fixing


@dataclass(frozen=True)
class Certificate:
    """Weak duality in integers: for every feasible x, ``D * c.x <= bound_d - slack_d(x)`` where
    ``slack_d(x) = sum_j |d_j| * |x_j - at_j|`` and ``at_j`` is the bound x_j sits at when
    ``d_j`` pushes it there. ``bound = floor(bound_d / D)`` bounds the integer objective."""

    bound_d: int
    d: IntArray  # D * reduced cost per variable (exact)
    lp_x: FloatArray  # the LP solution (for hints)

    @property
    def bound(self) -> int:
        return self.bound_d // DUAL_DENOMINATOR


class LPFailed(RuntimeError):
    """The LP solver returned no optimal solution (the caller falls back to plain CP-SAT)."""


_QUIET_LOCK = threading.Lock()


def _quiet_highs() -> None:
    """HiGHS prints a banner to standard output at its first instance in a process (before any
    option can be set); that instance is made here, before the first LP, with file descriptor 1
    on /dev/null for that moment, so no command's output (JSON of the CLI, the bench's last
    line) gets it. A process without a file descriptor 1 has nowhere to print it anyway. Once
    per process, and one thread at a time: two threads moving descriptor 1 at once could leave
    it on /dev/null (the exact path makes LPs in two threads)."""
    with _QUIET_LOCK:
        _quiet_highs_once()


@functools.cache
def _quiet_highs_once() -> None:
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stdout.flush()  # what Python holds goes out before the descriptor moves
    try:
        saved = os.dup(1)
    except OSError:
        highspy.Highs().setOptionValue("output_flag", False)
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs().setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class WarmLP:
    """The LP relaxation of a ``LinearModel`` in one HiGHS instance (dual simplex, no presolve):
    rows added and a new objective are solved again from the last basis (a round of cuts costs
    a few hundredths of a second instead of a cold solve's quarter)."""

    def __init__(self, lm: LinearModel, c: IntArray) -> None:
        _quiet_highs()
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        a = lm.a.tocsr()
        lp = highspy.HighsLp()
        lp.num_col_ = lm.n_vars
        lp.num_row_ = a.shape[0]
        lp.col_cost_ = c.astype(np.float64)
        lp.col_lower_ = lm.var_lo.astype(np.float64)
        lp.col_upper_ = lm.var_hi.astype(np.float64)
        lp.row_lower_ = _highs_bounds(lm.row_lo)
        lp.row_upper_ = _highs_bounds(lm.row_hi)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a.indices.astype(np.int32)
        lp.a_matrix_.value_ = a.data.astype(np.float64)
        lp.sense_ = highspy.ObjSense.kMaximize
        if h.passModel(lp) != highspy.HighsStatus.kOk:
            raise LPFailed("HiGHS did not accept the model")
        self.highs = h

    def solve(self) -> tuple[FloatArray, FloatArray]:
        """The optimal LP point and row duals (>= 0 on rows at their upper bound)."""
        self.highs.run()
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise LPFailed(f"LP status {self.highs.modelStatusToString(status)}")
        sol = self.highs.getSolution()
        return np.asarray(sol.col_value, dtype=np.float64), np.asarray(
            sol.row_dual, dtype=np.float64
        )

    def add_rows(self, rows: sp.csr_matrix, lo: FloatArray, hi: FloatArray) -> None:
        rows = rows.tocsr()
        self.highs.addRows(
            rows.shape[0],
            _highs_bounds(lo),
            _highs_bounds(hi),
            rows.nnz,
            rows.indptr[:-1].astype(np.int32),
            rows.indices.astype(np.int32),
            rows.data.astype(np.float64),
        )

    def change_row_lo(self, row: int, lo: float) -> None:
        """Row ``row``'s lower bound to ``lo`` (its upper bound +inf)."""
        self.highs.changeRowBounds(row, lo, highspy.kHighsInf)

    def set_objective(self, c: IntArray) -> None:
        n = len(c)
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), c.astype(np.float64))

    def certificate(self, lm: LinearModel, c: IntArray) -> Certificate:
        """Solve, and certify the bound of ``c`` over ``lm`` (the model HiGHS holds now)."""
        x, y = self.solve()
        return certify(lm, c, y, x)


def _highs_bounds(b: FloatArray) -> FloatArray:
    inf = highspy.kHighsInf
    return np.where(np.isposinf(b), inf, np.where(np.isneginf(b), -inf, b)).astype(np.float64)


def lp_certificate(lm: LinearModel, c: IntArray) -> Certificate:
    """Maximise ``c.x`` over the LP relaxation and certify its bound in integer arithmetic."""
    return WarmLP(lm, c).certificate(lm, c)


def tightened(
    lm: LinearModel,
    lp: WarmLP,
    c: IntArray,
    rounds: int,
    gomory: bool = False,
    start: Certificate | None = None,
    stop: threading.Event | None = None,
) -> tuple[LinearModel, Certificate]:
    """The certificate of ``c`` after up to ``rounds`` rounds of zero-half cuts
    (``matcher.zerohalf``) or, with ``gomory``, Gomory cuts (``matcher.gomory``), added to ``lm``
    and ``lp`` as cut rows; rounds stop when one does not lower the certified bound. Returns
    the model with its cuts and the best certificate. After an ``LPFailed`` or a round that
    did not lower the bound, ``lp`` holds rows the returned model does not: do not cut with it
    again. ``start``: the certificate of ``lp`` as it stands, when the caller has it (saves a
    solve). ``stop``: set by another thread, ends the rounds early (the result is then
    incomplete: the caller that sets it drops it)."""
    cert = start if start is not None else lp.certificate(lm, c)
    for _ in range(rounds):
        if stop is not None and stop.is_set():
            break
        if gomory:
            cuts, rhs = gomory_cuts(lm, cert.lp_x, lp.highs, GOMORY_CUTS, stop)
        else:
            cuts, rhs = zero_half_cuts(lm, cert.lp_x)
        if len(rhs) == 0 or (stop is not None and stop.is_set()):
            break
        lo = np.full(len(rhs), -np.inf)
        hi = rhs.astype(np.float64)
        lm = lm.with_rows(cuts, lo, hi, cut=True)
        lp.add_rows(cuts, lo, hi)
        new = lp.certificate(lm, c)
        better = new.bound < cert.bound
        if better or new.bound == cert.bound:
            cert = new
        if not better:
            break
    return lm, cert


def integral_point(lm: LinearModel, x: FloatArray) -> IntArray | None:
    """The LP point ``x`` in integers when it is integral and keeps every bound and row of
    ``lm`` exactly (then it is an allocation of the round, with its houses open and its age
    windows chosen); else None. Row activities are exact: integer data, sums far below 2**53."""
    xi = np.rint(x)
    if len(x) == 0 or float(np.abs(x - xi).max()) > INTEGRAL_EPS:
        return None
    point = xi.astype(np.int64)
    if np.any(point < lm.var_lo) or np.any(point > lm.var_hi):
        return None
    activity = lm.a @ xi
    if np.any(activity < lm.row_lo) or np.any(activity > lm.row_hi):
        return None
    return point


def optimal_point(lm: LinearModel, c: IntArray, cert: Certificate) -> IntArray | None:
    """The certificate's LP point when it is an allocation worth the certified bound (so an
    optimal one, found without CP-SAT); else None."""
    point = integral_point(lm, cert.lp_x)
    if point is None or int(np.dot(c.astype(np.int64), point)) < cert.bound:
        return None
    return point


class TryStop:
    """Stops a CP-SAT try from another thread: ``stop()`` before the try starts makes it not
    start, during it ends the search (``CpSolver.stop_search``).

    ``CpSolver.stop_search`` reaches a solve only once the solver has set it up, a moment after
    ``solve`` is called: ``stop()`` therefore repeats it every ``STOP_REPEAT_S`` until the try
    has ended (``detach``), so a stop in that moment is not lost."""

    STOP_REPEAT_S = 0.005

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._solver: cp_model.CpSolver | None = None
        self.stopped = False
        self.reached_a_running_try = False  # for tests: a stop came while a try ran

    def attach(self, solver: cp_model.CpSolver) -> bool:
        """Whether the try may start; while it runs ``stop`` reaches ``solver``."""
        with self._lock:
            self._solver = None if self.stopped else solver
            return not self.stopped

    def detach(self) -> None:
        with self._lock:
            self._solver = None

    def stop(self) -> None:
        while True:
            with self._lock:
                self.stopped = True
                solver = self._solver
            if solver is None:
                return
            self.reached_a_running_try = True
            solver.stop_search()
            time.sleep(self.STOP_REPEAT_S)


class CutRounds:
    """Up to ``MORE_CUT_ROUNDS`` more rounds of Gomory cuts on the preference LP, in a thread
    beside the first CP-SAT try (which runs in C++ without the GIL, on the other core).

    The rounds do not depend on the try: each is cut at the LP point the last one left and they
    stop when one does not lower the certified bound, the LP fails, or the LP point is an
    allocation worth the bound (``optimal_point``: then they stop the try through
    ``try_stop``, as its result is not wanted). ``result()`` waits for all of them, so what it
    returns is the same on every run; ``cancel()`` (the path ends without them: the hint was
    optimal, it gave up, or something raised) stops them after the tableau row or LP solve in
    hand and drops what they found. Until one of the two is called the thread owns ``lp``;
    after it nobody cuts with ``lp`` again (it may hold rows of a round that did not lower the
    bound)."""

    def __init__(self, lm: LinearModel, lp: WarmLP, c: IntArray, start: Certificate) -> None:
        self._stop = threading.Event()
        self.try_stop = TryStop()
        self._job = Beside(self._run, lm, lp, c, start, fork=False)

    def _run(
        self, lm: LinearModel, lp: WarmLP, c: IntArray, cert: Certificate
    ) -> tuple[LinearModel, Certificate, int, IntArray | None]:
        rounds = 0
        point = None
        try:
            for _ in range(MORE_CUT_ROUNDS):
                try:
                    new_lm, new = tightened(lm, lp, c, 1, gomory=True, start=cert, stop=self._stop)
                except LPFailed as exc:
                    log.info("no more cuts: %s", exc)
                    break
                if self._stop.is_set() or new.bound >= cert.bound:
                    break
                lm, cert, rounds = new_lm, new, rounds + 1
                point = optimal_point(lm, c, cert) if LP_POINTS else None
                if point is not None:
                    # The cuts reached an optimal allocation: the try beside is not wanted.
                    self.try_stop.stop()
                    break
        finally:
            release_highs_thread()
        return lm, cert, rounds, point

    def result(self) -> tuple[LinearModel, Certificate, int, IntArray | None]:
        """The model with the cuts of every round that lowered the bound, its certificate, the
        number of such rounds and, when the last round's LP point is an allocation at its
        bound, that allocation."""
        return self._job.result()

    def cancel(self) -> None:
        self._stop.set()
        wait_unused(self._job, "the cut rounds beside the first try")


def wait_unused(job: Beside[Any], what: str) -> None:
    """Wait for a thread whose result is not used; its failure must not fail the round."""
    logged_result(job.result, what)


def logged_result(result: Callable[[], T], what: str) -> T | None:
    """A thread's ``result()``, or None when it raised (logged as ``what`` failed): a thread
    beside the main line only ever saves time, so its failure must not fail the round."""
    try:
        return result()
    except Exception:
        log.exception("%s failed", what)
        return None


@dataclass
class PreferenceStart:
    """The preference LP after its first round of Gomory cuts: the model with the cut rows,
    the HiGHS instance holding it and its certificate; ``cut_ok`` false when the round failed
    (``LPFailed``: the certificate before the cuts stands, ``lp`` is not used again).
    ``rebased``: the guessed LP, found to have no solution, moved to the certified housing
    bound (``HousingHandoff``)."""

    lm: LinearModel
    lp: WarmLP
    cert: Certificate
    cut_ok: bool
    rebased: bool = False


def first_cuts(
    lm: LinearModel,
    lp: WarmLP,
    c: IntArray,
    cert: Certificate,
    stop: threading.Event | None = None,
) -> PreferenceStart:
    """``PREFERENCE_CUT_ROUNDS`` rounds of Gomory cuts on the preference LP ``lp`` holding
    ``lm`` with certificate ``cert`` (``stop``: as in ``tightened``)."""
    try:
        cut_lm, cut_cert = tightened(
            lm, lp, c, PREFERENCE_CUT_ROUNDS, gomory=True, start=cert, stop=stop
        )
    except LPFailed as exc:
        log.info("no Gomory cuts: %s", exc)
        return PreferenceStart(lm, lp, cert, cut_ok=False)
    return PreferenceStart(cut_lm, lp, cut_cert, cut_ok=True)


class HousingHandoff:
    """The certified housing bound, handed from the main thread to the preference LP beside
    it when the guess was too high for any LP point (that LP has no solution).

    ``give(bound, rows, lo, hi)``: the bound and the housing LP's zero-half rows; ``abandon()``:
    the path ends without the LP beside (also stops its cut round). ``wait()`` returns what
    was given, or None once abandoned."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self.abandoned = threading.Event()
        self._given: tuple[int, sp.csr_matrix, FloatArray, FloatArray] | None = None

    def give(self, bound: int, rows: sp.csr_matrix, lo: FloatArray, hi: FloatArray) -> None:
        self._given = (bound, rows, lo, hi)
        self._ready.set()

    def abandon(self) -> None:
        self.abandoned.set()
        self._ready.set()

    def wait(self) -> tuple[int, sp.csr_matrix, FloatArray, FloatArray] | None:
        self._ready.wait()
        return None if self.abandoned.is_set() else self._given


def rebased(
    lm: LinearModel,
    lp: WarmLP,
    c: IntArray,
    bound: int,
    rows: sp.csr_matrix,
    lo: FloatArray,
    hi: FloatArray,
) -> tuple[LinearModel, Certificate]:
    """The guessed preference LP (``lm``'s last row: housing >= guess) moved to ``housing >=
    bound``, with the housing LP's cut rows ``rows`` added, solved again from the basis it
    stopped at: the same LP as the housing LP's instance would give (rows in another order),
    in a few dual simplex iterations instead of a solve from the housing LP's basis."""
    last = lm.a.shape[0] - 1
    row_lo = lm.row_lo.copy()
    row_lo[last] = float(bound)
    lm = dataclasses.replace(lm, row_lo=row_lo)
    lp.change_row_lo(last, float(bound))
    if rows.shape[0]:
        lm = lm.with_rows(rows, lo, hi, cut=True)
        lp.add_rows(rows, lo, hi)
    return lm, lp.certificate(lm, c)


def preference_lp(
    lm: LinearModel,
    c: IntArray,
    stop: threading.Event | None = None,
    housing: HousingHandoff | None = None,
) -> PreferenceStart | None:
    """The preference LP over ``lm`` in its own HiGHS instance, after its first Gomory rounds
    (``first_cuts``); ``stop``: set when the result will not be used, ends the cut rounds early.

    When the LP has no solution (``lm``'s last row, housing >= the guess, above what the
    rules allow) it waits for the certified bound from ``housing`` and is ``rebased`` to it;
    None when there is no ``housing``, it is abandoned or the rebased LP fails. Which of the
    two it does depends on the guess only, never on which thread is faster."""
    try:
        try:
            lp = WarmLP(lm, c)
        except LPFailed:
            return None
        try:
            cert = lp.certificate(lm, c)
        except LPFailed:
            given = housing.wait() if housing is not None else None
            if given is None or housing is None:
                return None
            try:
                lm, cert = rebased(lm, lp, c, *given)
            except LPFailed as exc:
                log.info("the rebased preference LP failed: %s", exc)
                return None
            start = first_cuts(lm, lp, c, cert, housing.abandoned)
            return dataclasses.replace(start, rebased=True)
        return first_cuts(lm, lp, c, cert, stop)
    finally:
        release_highs_thread()


def release_highs_thread() -> None:
    """HiGHS keeps a task scheduler per thread that solved; a short-lived thread (the pools
    here) drops it when done, as highspy does after its own solver threads."""
    reset = getattr(highspy.Highs, "resetThreadScheduler", None)
    if reset is not None:
        reset(False)


def certify(lm: LinearModel, c: IntArray, y: FloatArray, lp_x: FloatArray) -> Certificate:
    """The integer certificate of any row multipliers ``y`` (rounded to 1/D; wrong signs
    are clipped, so every ``y`` gives a valid, if weaker, bound)."""
    dd = DUAL_DENOMINATOR
    if not np.isfinite(y).all() or float(np.abs(y).max(initial=0.0)) >= 2.0**40:
        raise LPFailed("duals not finite or too large for exact integer arithmetic")
    y_d = np.rint(y * dd).astype(np.int64)
    y_d = np.where((y_d > 0) & ~np.isfinite(lm.row_hi), 0, y_d)
    y_d = np.where((y_d < 0) & ~np.isfinite(lm.row_lo), 0, y_d)
    a = lm.a.astype(np.int64)
    col_sum = int(np.abs(a).sum(axis=0).max()) if a.data.size else 0
    per_var = int(np.abs(c).max(initial=0)) * dd + int(np.abs(y_d).max(initial=0)) * col_sum
    # |d_j| <= per_var, and d_j * var_hi_j (resident counts reach a house's places) must fit.
    if per_var * max(1, int(lm.var_hi.max(initial=1))) >= 2**62:
        raise LPFailed("duals too large for exact integer arithmetic")
    d = c.astype(np.int64) * dd - np.asarray(a.T @ y_d, dtype=np.int64).ravel()
    row_part = sum(
        int(v) * int(b)
        for v, b in zip(
            y_d.tolist(),
            np.where(y_d > 0, lm.row_hi, np.where(y_d < 0, lm.row_lo, 0.0)).tolist(),
            strict=True,
        )
        if v
    )
    # Python integers: a sum over every variable must not wrap around.
    var_part = sum(np.where(d > 0, d * lm.var_hi, d * lm.var_lo).tolist())
    return Certificate(row_part + var_part, d, lp_x)


def free_variables(lm: LinearModel, cert: Certificate, target: int) -> tuple[BoolArray, IntArray]:
    """Variables a solution worth ``>= target`` may still move, and the value of the others.

    A variable whose ``|d_j|`` exceeds ``bound_d - D * target`` sits at the bound ``d_j`` pushes
    it to in every such solution (up when ``d_j > 0``, down when ``d_j < 0``)."""
    budget = cert.bound_d - DUAL_DENOMINATOR * target
    free = np.abs(cert.d) <= budget
    at = np.where(cert.d > 0, lm.var_hi, lm.var_lo)
    return free, np.where(free, -1, at)


# ---------------------------------------------------------------------------------------------
# CP-SAT on the free variables


@dataclass(frozen=True)
class Residual:
    status: str  # "OPTIMAL", "FEASIBLE" (out of time), "INFEASIBLE" or "UNKNOWN"
    x: IntArray  # full solution (all variables), when OPTIMAL or FEASIBLE
    value: int
    det_time: float


@dataclass(frozen=True)
class Box:
    """The part of the model an earlier try searched: its free variables, every other one at
    ``fixed_at``. That try proved that no solution in the box is worth ``at_least`` or more
    (``None``: that the box holds no solution at all)."""

    free: BoolArray
    fixed_at: IntArray
    at_least: int | None

    def excludes(self, at_least: int | None) -> bool:
        """Whether the box holds no solution worth ``at_least`` (``None``: no solution)."""
        return self.at_least is None or (at_least is not None and at_least >= self.at_least)


def leave_literals(box: Box, free: BoolArray, fixed_at: IntArray) -> list[tuple[int, int]] | None:
    """Which moves leave ``box``: ``(column, value)`` pairs of the free variables (``free``)
    fixed in the box, each at the value that differs from the box's; ``None`` when a variable
    fixed here (at ``fixed_at``) already sits outside the box (every solution leaves it)."""
    outside = ~box.free
    if np.any(outside & ~free & (fixed_at != box.fixed_at)):
        return None
    cols = np.nonzero(outside & free)[0]
    if np.any((box.fixed_at[cols] != 0) & (box.fixed_at[cols] != 1)):
        raise ValueError("a box held a column at a value other than 0 or 1")
    return list(zip(cols.tolist(), (1 - box.fixed_at[cols]).tolist(), strict=True))


def residual_model(
    lm: LinearModel,
    c: IntArray,
    at_least: int | None,
    free: BoolArray,
    fixed_at: IntArray,
    hint: IntArray | None,
    leave: Box | None = None,
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], IntArray] | None:
    """The CP-SAT model of ``solve_residual`` (its variables and their columns), or ``None``
    when a row without free variables is broken by the fixed ones, or when the solution must
    leave ``leave`` (a box searched before, for at least ``at_least``) and cannot.

    Built from whole-array work: the row bounds left for the free variables, which rows can
    bind, and their right-hand sides are computed with NumPy, and the per-row Python loop only
    hands lists to CP-SAT (on the regional rounds about a third less build time than
    row-by-row NumPy, some 0.06 s per try on a slow machine). The proto is the row-by-row one,
    field for field: CP-SAT's search depends on it."""
    fixed_val = np.where(free, 0, fixed_at).astype(np.float64)
    const = lm.a @ fixed_val
    lo = lm.row_lo - const
    hi = lm.row_hi - const
    fcols = np.nonzero(free)[0]
    sub = lm.a[:, fcols].tocsr()
    # Rows with no free variable must already hold; others may be redundant.
    pos = np.asarray(sub.maximum(0).sum(axis=1)).ravel()
    neg = np.asarray(sub.minimum(0).sum(axis=1)).ravel()
    empty = np.diff(sub.indptr) == 0
    if np.any(empty & ((lo > 1e-9) | (hi < -1e-9))):
        return None
    binding = ~empty & ((neg < lo - 1e-9) | (pos > hi + 1e-9))
    use_lo = np.isfinite(lo) & (lo > neg)
    use_hi = np.isfinite(hi) & (hi < pos)
    lo_ceil = np.where(use_lo, np.ceil(lo - 1e-9), 0.0)
    hi_floor = np.where(use_hi, np.floor(hi + 1e-9), 0.0)
    if np.abs(np.concatenate([lo_ceil, hi_floor])).max(initial=0.0) >= 2.0**62:
        raise ValueError("a residual row bound outside CP-SAT's integer range")
    lo_int = lo_ceil.astype(np.int64)
    hi_int = hi_floor.astype(np.int64)
    obj_const = int(np.dot(c.astype(np.int64), np.where(free, 0, fixed_at)))
    moves = None if leave is None else leave_literals(leave, free, fixed_at)
    if moves == []:
        return None  # every solution worth at_least lies outside the box, and none can leave
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"v{int(j)}") for j in fcols.tolist()]
    for k in np.nonzero(lm.var_lo[fcols] > 0)[0].tolist():
        model.add(x[k] == 1)  # a fixed (accepted) pair left free by its reduced cost
    starts = sub.indptr.tolist()
    cols = sub.indices.tolist()
    coefs = np.rint(sub.data).astype(np.int64).tolist()
    rows = np.nonzero(binding)[0]
    weighted_sum = cp_model.LinearExpr.weighted_sum
    for r, has_lo, has_hi, rlo, rhi in zip(
        rows.tolist(),
        use_lo[rows].tolist(),
        use_hi[rows].tolist(),
        lo_int[rows].tolist(),
        hi_int[rows].tolist(),
        strict=True,
    ):
        s, e = starts[r], starts[r + 1]
        expr = weighted_sum([x[k] for k in cols[s:e]], coefs[s:e])
        if has_lo:
            model.add(expr >= rlo)
        if has_hi:
            model.add(expr <= rhi)
    if moves:
        # The earlier try searched the box: a solution worth at_least moves out of it.
        k_of = np.full(lm.n_vars, -1, dtype=np.int64)
        k_of[fcols] = np.arange(len(fcols))
        model.add_bool_or([x[int(k_of[j])] if v else ~x[int(k_of[j])] for j, v in moves])
    objective = cp_model.LinearExpr.weighted_sum(x, c[fcols].astype(int).tolist())
    if at_least is not None:
        model.add(objective >= at_least - obj_const)
    model.maximize(objective)
    if hint is not None and len(fcols):
        # What add_hint appends for each variable, in two calls.
        model.proto.solution_hint.vars.extend([v.index for v in x])
        model.proto.solution_hint.values.extend((hint[fcols] != 0).astype(np.int64).tolist())
    return model, x, fcols


def solve_residual(
    lm: LinearModel,
    c: IntArray,
    at_least: int | None,
    free: BoolArray,
    fixed_at: IntArray,
    hint: IntArray | None,
    time_limit_s: float,
    seed: int,
    stop: TryStop | None = None,
    leave: Box | None = None,
) -> Residual:
    """Maximise ``c.x`` (with ``c.x >= at_least`` when given) over the free variables, the
    others fixed at ``fixed_at``; ``hint`` (full length) seeds the search. ``stop``: another
    thread may end the try (then it is mostly UNKNOWN or FEASIBLE, as out of its share; a stop
    that comes late leaves the try's own result). ``leave``: a box an earlier try searched
    for at least ``at_least`` or less, which the solution must leave."""
    if stop is not None and stop.stopped:
        return Residual("UNKNOWN", np.zeros(0, np.int64), 0, 0.0)
    if leave is not None and not leave.excludes(at_least):
        raise ValueError("a box searched for more than this try asks proves nothing here")
    built = residual_model(lm, c, at_least, free, fixed_at, hint, leave)
    if built is None:
        return Residual("INFEASIBLE", np.zeros(0, np.int64), 0, 0.0)
    model, x, fcols = built
    solver = cpsat_solver(time_limit_s, seed)
    # Two presolve steps that cost most of each try's deterministic time on the regional
    # rounds and shortened no search there (docs/objective.md, 6 December 2026).
    solver.parameters.find_big_linear_overlap = False
    solver.parameters.cp_model_probing_level = 0
    # CP-SAT's own MIR and Chvatal-Gomory cuts: with the Gomory rows of the preference LP in
    # the model they cost more than they gain (regional seeds, both families, worst and sum
    # down by a fifth to a third; docs/objective.md, 7 December 2026, morning).
    solver.parameters.add_mir_cuts = False
    solver.parameters.add_cg_cuts = False
    # One presolve pass instead of three: the later passes cost wall time CP-SAT does not
    # count as deterministic (0.25 s of one residual's 0.5 s presolve on shared-heavy seed 4)
    # and found little; on the captured tries of twelve slow and typical seeds the sum of wall
    # times fell by 17-19 % (docs/objective.md, 7 December 2026, sixth pass).
    solver.parameters.max_presolve_iterations = 1
    if stop is not None and not stop.attach(solver):
        return Residual("UNKNOWN", np.zeros(0, np.int64), 0, 0.0)
    try:
        status = solver.solve(model)
    finally:
        if stop is not None:
            stop.detach()
    dt = float(solver.deterministic_time)
    if status == cp_model.INFEASIBLE:
        return Residual("INFEASIBLE", np.zeros(0, np.int64), 0, dt)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Residual("UNKNOWN", np.zeros(0, np.int64), 0, dt)
    full = np.where(free, 0, fixed_at).astype(np.int64)
    full[fcols] = [int(solver.boolean_value(v)) for v in x]
    found = "OPTIMAL" if status == cp_model.OPTIMAL else "FEASIBLE"
    return Residual(found, full, int(np.dot(c.astype(np.int64), full)), dt)


# ---------------------------------------------------------------------------------------------
# The two stages


@dataclass(frozen=True)
class ExactOutcome:
    pair_used: BoolArray  # over all pairs of the instance
    value: int  # combined pair value; proven optimal
    housing: int
    preference: int
    lp_housing_bound: int
    lp_preference_bound: int
    residual_vars: int  # free variables in the CP-SAT model that settled it
    tries: int
    seconds: float
    # The allocation is the preference LP's point (its cuts closed the gap), not a CP-SAT try's
    # or the hint's.
    lp_point: bool = False


# GaveUp.reason when the certified housing bound is not above the caller's ``housing_above``.
NO_MORE_HOUSING = "no more housing than the caller has"


@dataclass(frozen=True)
class GaveUp:
    """The exact path could not settle the round; the caller runs the general CP-SAT."""

    reason: str
    det_time: float  # deterministic time the CP-SAT tries spent (to deduct from the budget)


def keeps_pair_rows(lm: LinearModel, used: BoolArray) -> bool:
    """Whether a pair mask keeps every row that holds pair columns only (one option per youth,
    capacity, contingents, gemeente caps, conflicts, companions) and every fixed pair. Rows with
    house or window variables are the house rules ``repair.side_violations`` checks."""
    n = lm.n_pairs
    x = used.astype(np.float64)
    if np.any(x < lm.var_lo[:n]):
        return False
    aux = np.asarray(lm.a[:, n:].getnnz(axis=1)) > 0
    activity = lm.a[:, :n] @ x
    ok = (activity >= lm.row_lo - 1e-9) & (activity <= lm.row_hi + 1e-9)
    return bool(np.all(ok | aux))


def solve_exact(
    inst: Instance,
    hint_used: BoolArray | None,
    time_limit_s: float,
    report: Callable[[int, int], None] | None = None,
    housing_above: int | None = None,
    housing_guess: int | None = None,
) -> ExactOutcome | GaveUp:
    """Prove the optimum of the complete round (every eligible pair a candidate), or give up.

    ``hint_used``: an allocation (pair mask) that keeps the house rules, or ``None``; when it
    also keeps every other row and reaches the certified housing bound it is the first
    incumbent. ``time_limit_s`` is the deterministic-time budget
    of all CP-SAT tries. ``report(value, bound)`` gets the combined value of each incumbent
    and the certified bound. ``housing_above``: give up at once when the certified housing
    bound is not above it (a caller that only wants more housing than it has).
    ``housing_guess``: the housing the certified bound will likely be (the min-cost flow's,
    where the house rules do not cost housing); the preference LP with ``housing >= guess`` is
    then solved in a thread beside the housing LP and used when the guess is right (the same
    optimum value; among equal optima another allocation may be chosen than without a guess).

    Tries: fix variables by reduced cost with budget ``B`` (``BUDGETS``, doubling), maximise
    over the rest. A residual optimum ``V >= U - B`` is the round's optimum. A smaller ``V`` is
    an incumbent, and one last try with budget ``U - V - 1`` (every solution worth more than
    ``V`` keeps its variables free) settles it: its optimum is the round's, ``V`` or better.
    The preference LP gets one round of Gomory cuts first; up to ``MORE_CUT_ROUNDS`` more run
    in a thread beside the first try (``CutRounds``) and are taken whole after it (or before
    it, when the hint lies more than ``BUDGETS[0]`` below the bound). Where an LP point is an
    allocation worth its certified bound (after the first round or after the rounds beside the
    try, which then stop the try) it is the outcome (``lp_point``) whatever the try found. An
    incumbent that reaches the bound is optimal without a further try. The outcome does not
    depend on how fast the thread or the try runs.
    """
    t0 = time.perf_counter()
    if inst.n_pairs == 0:
        return GaveUp("no pairs", 0.0)
    lm, _rb = build_linear_model(inst, np.arange(inst.n_pairs, dtype=np.int64))
    n = lm.n_pairs
    scale = inst.housing_scale
    w = np.zeros(lm.n_vars, dtype=np.int64)
    w[:n] = inst.youth_weight[inst.pair_youth]
    pref = np.zeros(lm.n_vars, dtype=np.int64)
    pref[:n] = inst.pair_value - scale * w[:n]
    guessed: Beside[PreferenceStart | None] | None = None
    unused = threading.Event()
    handoff = HousingHandoff()
    if housing_guess is not None:
        guessed = Beside(
            preference_lp,
            lm.with_row(w, float(housing_guess), np.inf),
            pref,
            unused,
            handoff,
            fork=False,
        )
    start: PreferenceStart | None = None
    try:
        # With the cuts of CUTS and zero-half cuts where the housing LP is not tight.
        lp = WarmLP(lm, w)
        n_rows = lm.a.shape[0]
        lm, housing_cert = tightened(lm, lp, w, HOUSING_CUT_ROUNDS)
        housing = housing_cert.bound
        if housing_above is not None and housing <= housing_above:
            return GaveUp(NO_MORE_HOUSING, 0.0)
        if guessed is not None:
            right = housing_guess == housing
            if not right:
                # A wrong guess. Too high for any LP point (the flow's housing where the house
                # rules cost some): that LP had no solution and waits for the bound and the
                # zero-half rows, to go on from where it stopped (rebased). Else its cut round,
                # if still going, is not wanted, and the housing LP's instance goes on.
                unused.set()
                handoff.give(housing, lm.a[n_rows:], lm.row_lo[n_rows:], lm.row_hi[n_rows:])
            # When it failed, the housing LP's instance goes on.
            beside = logged_result(guessed.result, "the preference LP beside the housing LP")
            if beside is not None and (right or beside.rebased):
                # A right guess: that LP, cut already, is this stage's (without the housing
                # LP's zero-half rows, which the preference LP does not need to be valid).
                # Rebased: the same LP as the housing LP's instance would give.
                start = beside
        if start is None:
            lm2 = lm.with_row(w, float(housing), np.inf)
            # The same HiGHS instance, from the housing LP's basis (its point keeps the new row).
            lp.add_rows(lm2.a[-1:], lm2.row_lo[-1:], lm2.row_hi[-1:])
            lp.set_objective(pref)
            start = first_cuts(lm2, lp, pref, lp.certificate(lm2, pref))
    except LPFailed as exc:
        log.info("exact path skipped: %s", exc)
        return GaveUp(str(exc), 0.0)
    finally:
        if guessed is not None:
            # Its thread is done before anything else runs (a guess below the bound waits for
            # an LP not used, its cut round stopped: wall time, never the outcome).
            unused.set()
            handoff.abandon()
            wait_unused(guessed, "the preference LP beside the housing LP")
    lm2, lp, cert = start.lm, start.lp, start.cert
    # The LP point after the first cut round may already be an allocation at the bound.
    at_bound = optimal_point(lm2, pref, cert) if LP_POINTS else None
    more = (
        CutRounds(lm2, lp, pref, cert)
        if at_bound is None and start.cut_ok and MORE_CUT_ROUNDS > 0
        else None
    )
    try:
        # CP-SAT gets the cuts too, but not the rows over resident counts (not in its model).
        lm_res = lm2.without_count_rows()
        bound = cert.bound
        inc_value: int | None = None
        inc_x = np.rint(cert.lp_x).astype(np.int64)
        if (
            hint_used is not None
            and int(w[:n][hint_used].sum()) >= housing
            and keeps_pair_rows(lm, hint_used)
        ):
            inc_value = int(pref[:n][hint_used].sum())
            inc_x[:n] = hint_used
            if report:
                report(scale * housing + inc_value, scale * housing + bound)

        def outcome(
            used: BoolArray, free_vars: int, tries: int, lp_point: bool = False
        ) -> ExactOutcome:
            value = int(inst.pair_value[used].sum())
            if report:
                report(value, value)
            return ExactOutcome(
                pair_used=used,
                value=value,
                housing=int(w[:n][used].sum()),
                preference=int(pref[:n][used].sum()),
                lp_housing_bound=housing,
                lp_preference_bound=bound,
                residual_vars=free_vars,
                tries=tries,
                seconds=time.perf_counter() - t0,
                lp_point=lp_point,
            )

        if hint_used is not None and inc_value is not None and inc_value >= bound:
            return outcome(hint_used, 0, 0)  # the hint reaches the certified bound
        if at_bound is not None:
            return outcome(at_bound[:n].astype(bool), 0, 0, lp_point=True)  # so does the LP

        def gave_up(reason: str) -> GaveUp:
            log.info("exact path gave up: %s", reason)
            return GaveUp(reason, time_limit_s - left)

        left = time_limit_s
        budgets = iter(BUDGETS)
        budget = -1
        restarts = 0
        again = False  # the last try ran out of its share: the same budget, another CP-SAT seed
        taken: tuple[LinearModel, Certificate] | None = None
        searched: Box | None = None  # the last box a try searched to the end

        def take_rounds(tries_done: int) -> ExactOutcome | None:
            """Wait for the rounds beside the first try, whole. Their LP point, when it is an
            allocation worth their bound, is the outcome; else their cuts, if a round lowered
            the bound, are ``taken`` for the next try. A failure of their thread (other than an
            LP's, which ends the rounds inside) is logged and leaves the model as it was."""
            nonlocal more, taken, bound
            job, more = more, None
            if job is None:
                return None
            got = logged_result(job.result, "the cut rounds beside the first try")
            if got is None:
                return None
            tighter_lm, tighter, rounds, point = got
            if point is not None:
                bound = tighter.bound
                return outcome(point[:n].astype(bool), 0, tries_done, lp_point=True)
            if rounds:
                taken = (tighter_lm, tighter)
            return None

        for tries in range(1, len(BUDGETS) + 2 + MAX_RESTARTS):
            if more is not None and inc_value is not None and bound - inc_value > BUDGETS[0]:
                # The hint shows the bound far off: the cut rounds are wanted before the first try.
                done = take_rounds(tries - 1)
                if done is not None:
                    return done
            if taken is not None:
                (lm2, cert), taken = taken, None
                bound = cert.bound
                lm_res = lm2.without_count_rows()
                if report and inc_value is not None:
                    report(scale * housing + inc_value, scale * housing + bound)
            if inc_value is not None and inc_value >= bound:
                return outcome(inc_x[:n].astype(bool), 0, tries - 1)
            final = inc_value is not None
            if inc_value is not None:
                # Every solution worth more than the incumbent keeps its variables free.
                budget = bound - inc_value - 1
            elif not again:
                budget = next(budgets, -1)
                if budget < 0:
                    return gave_up("no solution within the largest budget")
            again = False
            free, fixed_at = free_variables(lm2, cert, bound - budget)
            # Cut-only columns (resident counts) are in no row of the integer model.
            free &= ~lm2.cut_var
            fixed_at = np.where(lm2.cut_var, 0, fixed_at)
            if int(free.sum()) > MAX_FREE or left <= 0:
                # The rounds beside may still have found the optimum.
                done = take_rounds(tries - 1)
                return done or gave_up(f"{int(free.sum())} free variables, {left:.2f} s left")
            # The final try asks for more than the incumbent: infeasible proves it optimal.
            at_least = None if inc_value is None else inc_value + 1
            leave = None  # the last box searched, when it lacks what this try asks for
            if LEAVE_SEARCHED and searched is not None and searched.excludes(at_least):
                leave = searched
            res = solve_residual(
                lm_res,
                pref,
                at_least,
                free,
                fixed_at,
                None if leave is not None and not HINT_WHEN_LEAVING else inc_x,
                min(left, RESTART_DET * 2**restarts),
                int(inst.round.seed) + restarts,
                more.try_stop if more is not None else None,
                leave,
            )
            if res.status == "OPTIMAL":
                searched = Box(free, fixed_at, res.value + 1)
            elif res.status == "INFEASIBLE":
                searched = Box(free, fixed_at, at_least)
            # The rounds beside the try are taken whole, whatever the try found: when their LP
            # point is an allocation at their bound it is the outcome (and they stopped the
            # try); else they tighten the bound before the next try, if one is needed.
            done = take_rounds(tries)
            if done is not None:
                return done
            left -= res.det_time
            log.info(
                "exact try %d: budget %d, %d free, %s %s (%.2f det. s)",
                tries,
                budget,
                free.sum(),
                res.status,
                res.value,
                res.det_time,
            )
            if res.status in ("UNKNOWN", "FEASIBLE"):
                # Out of its share: what it found is the incumbent when better (a smaller final
                # budget); at the bound it is optimal as it stands.
                if res.status == "FEASIBLE" and (inc_value is None or res.value > inc_value):
                    inc_value, inc_x = res.value, res.x
                    if inc_value >= bound:
                        return outcome(inc_x[:n].astype(bool), int(free.sum()), tries)
                    if report:
                        report(scale * housing + inc_value, scale * housing + bound)
                if left <= 0 or restarts == MAX_RESTARTS:
                    return gave_up("CP-SAT out of time")
                # Again with another seed and twice the share.
                restarts += 1
                again = True
                continue
            if res.status == "INFEASIBLE":
                if final:
                    # Nothing is worth more than the incumbent: it is optimal.
                    return outcome(inc_x[:n].astype(bool), int(free.sum()), tries)
                continue  # nothing worth bound - budget: free more variables
            if final or res.value >= bound - budget:
                return outcome(res.x[:n].astype(bool), int(free.sum()), tries)
            inc_value, inc_x = res.value, res.x
            if report:
                report(scale * housing + inc_value, scale * housing + bound)
        return gave_up("no try settled the round")
    finally:
        if more is not None:
            more.cancel()
