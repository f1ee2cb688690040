"""Zero-half cuts for the exact path's LP (``matcher.exact``): valid rows that cut off halves.

The housing LP of a regional round is often not tight: its optimum puts youths half in one
option and half in another around an odd cycle of rows (capacities, house sizes, age windows,
contingents), and its bound lies a fraction of a youth above every allocation. The preference
tries then find nothing that reaches it, and the round used to fall back to the plain CP-SAT.

A zero-half cut (Caprara and Fischetti) adds up a set of the model's rows, each as
``a.x <= b`` with integer data, plus variable bounds to make every coefficient even, and halves
the sum: ``(a_R / 2).x <= floor(b_R / 2)`` holds for every integer ``x`` of the model. When the
rows are tight at the LP point, the halves appear an even number of times and ``b_R`` is odd,
the cut is violated by up to one half. The set is found by Gaussian elimination over GF(2) on
the parities of the fractional columns (rows in order of slack; a combination whose fractional
parities cancel, or are cheap to fix with bounds, and whose right-hand side is odd).

Every cut is derived in integer arithmetic from rows and bounds of the model, so it is valid
for every integer solution and the certificate of ``matcher.exact`` (weak duality over the LP
with its cut rows) stays exact. Rows with cut-only columns (resident counts, not 0/1) are left
out: only rows over 0/1 columns, with integer coefficients and bounds, are combined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

if TYPE_CHECKING:
    from matcher.exact import LinearModel

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

EPS = 1e-6
# A combination whose slack and odd fractional columns cost this much or more cannot be violated.
MIN_VIOLATION = 1e-4


def zero_half_cuts(
    lm: LinearModel, x: FloatArray, max_cuts: int = 200
) -> tuple[sp.csr_matrix, IntArray]:
    """Violated zero-half cuts at the LP point ``x``: rows ``cuts @ x <= rhs`` (integer data),
    most violated first, at most ``max_cuts``. Empty when none is found."""
    a = lm.a.tocsr()
    n = lm.n_vars
    frac = (x > EPS) & (x < 1 - EPS) & ~lm.cut_var
    fcols = np.flatnonzero(frac)
    empty = (sp.csr_matrix((0, n)), np.zeros(0, dtype=np.int64))
    if len(fcols) == 0:
        return empty
    unusable = np.asarray(a[:, lm.cut_var].getnnz(axis=1)) > 0
    # Only rows with integer coefficients (and, below, integer bounds) can be combined.
    not_whole = a.data != np.rint(a.data)
    unusable |= np.bincount(
        np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))[not_whole], minlength=a.shape[0]
    ).astype(bool)
    touches = np.asarray(a[:, fcols].getnnz(axis=1)) > 0
    ax = a @ x
    # Every usable row in "<=" form: sign * (a_r . x) <= sign * bound.
    sign_l: list[IntArray] = []
    row_l: list[IntArray] = []
    slack_l: list[FloatArray] = []
    for sign, bound in ((1, lm.row_hi), (-1, lm.row_lo)):
        slack = sign * (bound - ax)
        whole = np.isfinite(bound) & (bound == np.rint(np.where(np.isfinite(bound), bound, 0)))
        ok = whole & ~unusable & touches & (slack < 1 - MIN_VIOLATION)
        rows = np.flatnonzero(ok)
        sign_l.append(np.full(len(rows), sign, dtype=np.int64))
        row_l.append(rows)
        slack_l.append(np.maximum(slack[rows], 0.0))
    signs = np.concatenate(sign_l)
    rows = np.concatenate(row_l)
    slacks = np.concatenate(slack_l)
    if len(rows) == 0:
        return empty
    order = np.argsort(slacks, kind="stable")
    signs, rows, slacks = signs[order], rows[order], slacks[order]
    rhs = np.rint(signs * np.where(signs > 0, lm.row_hi[rows], lm.row_lo[rows])).astype(np.int64)
    col_pos = np.full(n, -1, dtype=np.int64)
    col_pos[fcols] = np.arange(len(fcols))
    odd_cost = np.minimum(x[fcols], 1 - x[fcols])
    combos = _eliminate(a, rows, rhs, slacks, col_pos, odd_cost)
    return _cuts(lm, a, x, signs, rows, rhs, combos, max_cuts)


def _eliminate(
    a: sp.csr_matrix,
    rows: IntArray,
    rhs: IntArray,
    slacks: FloatArray,
    col_pos: IntArray,
    odd_cost: FloatArray,
) -> list[int]:
    """Row combinations (bit sets over ``rows``) with an odd right-hand side whose slack plus
    the cost of fixing their odd fractional columns is below 1: Gaussian elimination over GF(2),
    parities as Python integers (bit ``k`` = fractional column ``k``)."""
    vec: list[int] = []
    par: list[int] = []
    combo: list[int] = []
    cost: list[float] = []
    pivot: dict[int, int] = {}
    found: list[int] = []
    for i, r in enumerate(rows.tolist()):
        cols = a.indices[a.indptr[r] : a.indptr[r + 1]]
        coefs = np.rint(a.data[a.indptr[r] : a.indptr[r + 1]]).astype(np.int64)
        v = 0
        for k in col_pos[cols[(coefs % 2 == 1) & (col_pos[cols] >= 0)]].tolist():
            v ^= 1 << k
        p, cb, s = int(rhs[i] % 2), 1 << i, float(slacks[i])
        while v:
            top = v.bit_length() - 1
            j = pivot.get(top)
            if j is None:
                break
            v ^= vec[j]
            p ^= par[j]
            cb ^= combo[j]
            s += cost[j]
        vec.append(v)
        par.append(p)
        combo.append(cb)
        cost.append(s)
        if v:
            pivot[v.bit_length() - 1] = i
        if p == 1 and s < 1 - MIN_VIOLATION:
            left = s + sum(float(odd_cost[k]) for k in _bits(v))
            if left < 1 - MIN_VIOLATION:
                found.append(cb)
    return found


def _bits(v: int) -> list[int]:
    out = []
    while v:
        low = v & -v
        out.append(low.bit_length() - 1)
        v ^= low
    return out


def _cuts(
    lm: LinearModel,
    a: sp.csr_matrix,
    x: FloatArray,
    signs: IntArray,
    rows: IntArray,
    rhs: IntArray,
    combos: list[int],
    max_cuts: int,
) -> tuple[sp.csr_matrix, IntArray]:
    """The cut of each combination in integers (all combinations at once, as one sparse
    product), the violated ones, most violated first."""
    n = lm.n_vars
    # The first combinations have the least slack (rows are taken in order of slack); twice
    # the cuts wanted is enough to choose from, and bounds the sparse product's size.
    combos = list(dict.fromkeys(combos))[: 2 * max_cuts]
    if not combos:
        return sp.csr_matrix((0, n)), np.zeros(0, dtype=np.int64)
    members = [_bits(cb) for cb in combos]
    owner = np.repeat(np.arange(len(combos)), [len(m) for m in members])
    member = np.fromiter((i for m in members for i in m), dtype=np.int64, count=len(owner))
    pick = sp.csr_matrix(
        (signs[member], (owner, member)), shape=(len(combos), len(rows)), dtype=np.int64
    )
    # Integer data throughout: the model's rows hold integers (as floats).
    block = a[rows]
    block = sp.csr_matrix(
        (np.rint(block.data).astype(np.int64), block.indices, block.indptr), shape=block.shape
    )
    coef = (pick @ block).tocsr()
    coef.sum_duplicates()
    b = np.bincount(owner, weights=rhs[member], minlength=len(combos)).astype(np.int64)
    # Odd coefficients made even with a bound: + (x_j <= hi_j) or + (-x_j <= -lo_j).
    cols = coef.indices
    odd = coef.data % 2 != 0
    up = x[cols] >= (lm.var_lo[cols] + lm.var_hi[cols]) / 2
    shift = np.where(odd, np.where(up, 1, -1), 0)
    bound = np.where(odd, np.where(up, lm.var_hi[cols], -lm.var_lo[cols]), 0)
    row_of = np.repeat(np.arange(len(combos)), np.diff(coef.indptr))
    b += np.bincount(row_of, weights=bound, minlength=len(combos)).astype(np.int64)
    coef.data = (coef.data + shift) // 2
    b //= 2  # floor, also for a negative sum
    coef.eliminate_zeros()
    violation = coef @ x - b
    good = np.flatnonzero(violation > MIN_VIOLATION)
    good = good[np.argsort(-violation[good], kind="stable")][:max_cuts]
    return coef[good].astype(np.float64), b[good]
