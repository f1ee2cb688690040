"""Gomory (Chvátal-Gomory) cuts from the LP tableau, derived in integer arithmetic.

The preference LP of a regional round lies a few thousand preference units above every
allocation: youths half in one single room and half in another around contingents, windows of
two ages half chosen in one house, Friends houses half open. Zero-half cuts close about 3 % of
that gap (``docs/objective.md``); the rows of the optimal simplex tableau close most of it in a
round or two, as in every MIP solver.

One cut per fractional basic column ``k``: with ``u`` row ``k`` of the basis inverse, the rows
``A x - s = 0`` (``s`` the row activities, bounded by the row bounds) summed with multipliers
``u`` give ``sum_j g_j v_j = 0`` over all variables ``v = (x, s)``, with ``g_k = 1``. Each
variable is written as its distance ``y_j >= 0`` from one of its finite bounds (the one that
loses less after rounding at the LP point, which for a non-basic variable is the bound it sits
at), the coefficients and the right-hand side are rounded down, and
``sum floor(g'_j) y_j <= floor(beta)`` holds for every integer point of the model: all
variables are integer (pair, open and window columns are 0/1, resident counts and the activities
of integer rows are whole numbers). The row activities are then replaced by ``A x``.

``u`` comes from floating-point linear algebra, but the cut does not depend on it being exact:
``u`` is rounded to multiples of ``1 / MULTIPLIER_DENOMINATOR`` and everything after is integer
arithmetic, so every cut is valid for every allocation whatever the rounding did (a poorly
rounded ``u`` only gives a weaker cut). The certificate of ``matcher.exact`` stays exact.
"""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.linalg import MatrixRankWarning, splu

if TYPE_CHECKING:
    from matcher.exact import LinearModel

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

MULTIPLIER_DENOMINATOR = 1 << 20
EPS = 1e-6
# Cuts with a larger coefficient than this are dropped: the certificate's integer arithmetic
# must stay well inside 64 bits, and such cuts come from an ill-conditioned basis row.
MAX_COEF = 1_000
# Denser cuts than this slow every later LP solve more than they tighten it.
MAX_NNZ = 1_000
# Multipliers larger than this in magnitude: the basis row is ill-conditioned; no cut from it.
MAX_MULTIPLIER = 1e4
# Non-zeros of the basis-inverse rows summed over the candidates of one round: the rounding is
# linear in the entries of A^T u, and on some LP vertices (regional seed 14) the rows grow
# dense (107,000 non-zeros over 200 rows, 1.5 s for 23 cuts). The most fractional candidates
# up to this many are used; rounds without dense rows are not changed (docs/objective.md).
MAX_TABLEAU_NNZ = 30_000
# Entries of the dense right-hand sides solved at once against the basis factorisation
# (``tableau_rows``): 2 M entries, 16 MB.
SOLVE_ENTRIES = 2_000_000


def gomory_cuts(
    lm: LinearModel,
    x: FloatArray,
    h: highspy.Highs,
    max_cuts: int = 100,
    stop: threading.Event | None = None,
) -> tuple[sp.csr_matrix, IntArray]:
    """Violated Gomory cuts at the LP vertex ``x`` that HiGHS ``h`` holds (its basis gives the
    tableau rows): rows ``cuts @ x <= rhs`` with integer data, most violated first, at most
    ``max_cuts``. Empty when none is found, or when ``stop`` is set while the tableau rows are
    read (a caller that no longer wants the cuts)."""
    a = lm.a.tocsr()
    m, n = a.shape
    empty = (sp.csr_matrix((0, n)), np.zeros(0, dtype=np.int64))
    if not _integer_data(lm):
        return empty
    # (highspy has these methods; its type stubs do not list them)
    status, basic = h.getBasicVariables()  # type: ignore[attr-defined]
    basic_vars = np.asarray(basic, dtype=np.int64)
    if status != highspy.HighsStatus.kOk or len(basic_vars) != m:
        return empty
    act = a @ x
    # All variables v = (x, s): values and bounds; s is bounded by the row bounds.
    val = np.concatenate([x, act])
    lo = np.concatenate([lm.var_lo.astype(np.float64), lm.row_lo])
    hi = np.concatenate([lm.var_hi.astype(np.float64), lm.row_hi])
    frac = np.abs(x - np.rint(x))
    # Basis position of each basic column (HiGHS numbers rows -1 - i).
    where = np.full(n, -1, dtype=np.int64)
    cols = basic_vars >= 0
    where[basic_vars[cols]] = np.flatnonzero(cols)
    cand = np.flatnonzero((where >= 0) & (frac > EPS))
    if len(cand) == 0:
        return empty
    cand = cand[np.argsort(-frac[cand], kind="stable")][: 2 * max_cuts]
    # Row k of the basis inverse of [A, -I] for each candidate, the most fractional first, as
    # long as their multipliers stay within the work cap (the rounding below is linear in the
    # entries of A^T u); always the first.
    if stop is not None and stop.is_set():
        return empty
    rows = tableau_rows(a, basic_vars, cand)
    if rows is None:  # the basis matrix could not be factorised here: HiGHS's rows
        rows = highs_tableau_rows(h, where, cand, stop)
        if rows is None:
            return empty
    ind: list[IntArray] = []
    vals: list[FloatArray] = []
    read = 0
    for index, values in rows:
        nnz = int(np.count_nonzero(np.rint(values * MULTIPLIER_DENOMINATOR)))
        if ind and read + nnz > MAX_TABLEAU_NNZ:
            break
        read += nnz
        ind.append(index)
        vals.append(values)
    cand = cand[: len(ind)]
    counts = np.array([len(i) for i in ind], dtype=np.int64)
    u = np.concatenate(vals)
    owner = np.repeat(np.arange(len(cand)), counts)
    ok = np.ones(len(cand), dtype=bool)
    bad = ~np.isfinite(u) | (np.abs(u) > MAX_MULTIPLIER)
    ok[owner[bad]] = False
    u_d = np.where(bad, 0, np.rint(np.where(bad, 0, u) * MULTIPLIER_DENOMINATOR)).astype(np.int64)
    # The summed rows' coefficients (numerators over d), x part A^T u, s part -u; int64 must
    # not wrap in the product (scipy does not check): |(A^T u)_j| <= max |u| * the largest
    # column sum of |A|, bounded in floating point first.
    col_abs = float(np.abs(a).sum(axis=0).max()) if a.nnz else 0.0
    u_max = np.zeros(len(cand))
    np.maximum.at(u_max, owner, np.abs(u_d).astype(np.float64))
    ok &= u_max * col_abs < 2.0**61
    u_d[~ok[owner]] = 0
    ud = sp.csc_matrix((u_d, (np.concatenate(ind), owner)), shape=(m, len(cand)))
    ud.eliminate_zeros()
    a_int = sp.csr_matrix(a.astype(np.int64))
    g = sp.vstack([sp.csr_matrix(a_int.T @ ud), -ud]).tocoo()
    f, rhs, ok_cut = _round_down(g, val, lo, hi, len(cand))
    ok &= ok_cut
    coef = (f[:n] + a_int.T @ f[n:]).T.tocsr()  # cuts x columns
    coef.eliminate_zeros()
    big = np.zeros(len(cand), dtype=bool)
    np.logical_or.at(
        big, np.repeat(np.arange(len(cand)), np.diff(coef.indptr)), np.abs(coef.data) > MAX_COEF
    )
    viol = coef @ x - rhs
    norm = np.sqrt(np.asarray(coef.multiply(coef).sum(axis=1), dtype=np.float64).ravel())
    nnz = np.diff(coef.indptr)
    # Right-hand sides stay exact as float64 row bounds (the certificate reads them back).
    exact = np.abs(rhs) < 2**52
    good = np.flatnonzero(ok & exact & ~big & (viol > EPS) & (nnz > 0) & (nnz <= MAX_NNZ))
    if len(good) == 0:
        return empty
    good = good[np.argsort(-viol[good] / norm[good], kind="stable")][:max_cuts]
    return coef[good].astype(np.float64), rhs[good].astype(np.int64)


def tableau_rows(
    a: sp.csr_matrix, basic_vars: IntArray, cand: IntArray
) -> list[tuple[IntArray, FloatArray]] | None:
    """Row of the basis inverse of ``[A, -I]`` for each basic column of ``cand``, as (row
    indices, multipliers), from one sparse LU factorisation of the basis (SuperLU); None when
    it is singular in floating point.

    With ``J`` the basic columns and ``S`` the rows whose activity is basic, the row ``u`` of
    basic column ``k`` has ``u . A_j = [j == k]`` for ``j`` in ``J`` and ``u_i = 0`` for ``i``
    in ``S``: so ``u`` lives on the other rows ``T`` (as many as ``J``) and solves
    ``A[T, J]^T u_T = e_k``, a square system far smaller than the LP. HiGHS gives the same rows
    one call at a time, each about 2 ms whatever its size (100-200 calls a round); this solves
    them all at once. Multipliers need not be exact: every cut is valid for any ``u``."""
    m = a.shape[0]
    j = basic_vars[basic_vars >= 0]
    basic_rows = -1 - basic_vars[basic_vars < 0]
    t = np.setdiff1d(np.arange(m, dtype=np.int64), basic_rows)
    if len(t) != len(j) or len(j) == 0:
        return None
    pos = np.full(a.shape[1], -1, dtype=np.int64)
    pos[j] = np.arange(len(j))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", MatrixRankWarning)
            lu = splu(sp.csc_matrix(a[t][:, j]))
    except (RuntimeError, MatrixRankWarning):
        return None
    out: list[tuple[IntArray, FloatArray]] = []
    # Dense right-hand sides, in slices of at most SOLVE_ENTRIES entries.
    step = max(1, SOLVE_ENTRIES // len(j))
    for first in range(0, len(cand), step):
        part = cand[first : first + step]
        rhs = np.zeros((len(j), len(part)))
        rhs[pos[part], np.arange(len(part))] = 1.0
        u = lu.solve(rhs, trans="T")
        if not np.isfinite(u).all():
            return None
        for col in range(len(part)):
            nz = np.flatnonzero(u[:, col])
            out.append((t[nz], u[nz, col]))
    return out


def highs_tableau_rows(
    h: highspy.Highs, where: IntArray, cand: IntArray, stop: threading.Event | None
) -> list[tuple[IntArray, FloatArray]] | None:
    """The rows of ``tableau_rows`` from HiGHS's factorisation, one call each; None when a
    call fails or ``stop`` is set."""
    out: list[tuple[IntArray, FloatArray]] = []
    for k in cand.tolist():
        if stop is not None and stop.is_set():
            return None
        status, values, nnz, index = h.getBasisInverseRowSparse(int(where[k]))  # type: ignore[attr-defined]
        if status != highspy.HighsStatus.kOk:
            return None
        idx = np.asarray(index[:nnz], dtype=np.int64)
        out.append((idx, np.asarray(values, dtype=np.float64)[idx]))
    return out


def _integer_data(lm: LinearModel) -> bool:
    """Whether every coefficient, variable bound and finite row bound is a whole number."""
    parts = [lm.a.data, lm.row_lo[np.isfinite(lm.row_lo)], lm.row_hi[np.isfinite(lm.row_hi)]]
    return all(bool(np.all(p == np.rint(p))) for p in parts)


def _round_down(
    g: sp.coo_matrix, val: FloatArray, lo: FloatArray, hi: FloatArray, n_cuts: int
) -> tuple[sp.csr_matrix, IntArray, npt.NDArray[np.bool_]]:
    """Round the summed rows ``sum_j (g_j / d) v_j = 0`` (one per column of ``g``) down over
    distances from bounds.

    Each variable is measured from its lower bound (coefficient ``g_j``) or its upper (``-g_j``),
    whichever loses less at the LP point (a rounded-down coefficient loses its fraction times
    the distance); the cut ``sum f_lo_j (v_j - lo_j) + sum f_hi_j (hi_j - v_j) <= F`` is returned
    as ``(f, rhs)`` with ``f = f_lo - f_hi`` (its non-zeros only, one column per cut) and
    ``f . v <= rhs``, and which cuts could be made (a variable in the sum without a finite
    bound spoils its cut)."""
    d = MULTIPLIER_DENOMINATOR
    j, i, gv = g.row, g.col, g.data.astype(np.int64)
    v, lj, hj = val[j], lo[j], hi[j]
    with np.errstate(invalid="ignore"):
        loss_lo = np.where(np.isfinite(lj), (np.mod(gv, d) / d) * (v - lj), np.inf)
        loss_hi = np.where(np.isfinite(hj), (np.mod(-gv, d) / d) * (hj - v), np.inf)
    ok = np.ones(n_cuts, dtype=bool)
    ok[i[~np.isfinite(np.minimum(loss_lo, loss_hi))]] = False
    use_lo = loss_lo <= loss_hi
    bound = np.where(use_lo, np.where(np.isfinite(lj), lj, 0), np.where(np.isfinite(hj), hj, 0))
    bound = bound.astype(np.int64)
    # Exact integer sums must not wrap: |g * bound| summed per cut stays below 2^61.
    mag = np.zeros(n_cuts)
    np.add.at(mag, i, np.abs(gv.astype(np.float64)) * (np.abs(bound) + 1.0))
    ok &= mag < 2.0**61
    safe = ok[i]
    gv = np.where(safe, gv, 0)
    # sum_lo g y + sum_hi (-g) y = -(sum_lo g lo + sum_hi g hi) =: beta  (numerators over d)
    beta = np.zeros(n_cuts, dtype=np.int64)
    np.add.at(beta, i, -gv * bound)
    fl = np.where(use_lo, np.floor_divide(gv, d), 0)
    fh = np.where(use_lo, 0, np.floor_divide(-gv, d))
    # (f_lo - f_hi) . v <= F + sum f_lo lo - sum f_hi hi
    rhs = np.floor_divide(beta, d)
    np.add.at(rhs, i, fl * bound - fh * bound)
    fv = fl - fh
    nz = fv != 0
    return sp.csr_matrix((fv[nz], (j[nz], i[nz])), shape=g.shape), rhs, ok
