"""The monthly stock-flow recipe, vectorised over runs and groups.

Internal layout (chosen so every reduction runs over an outer axis, which NumPy does with
contiguous block adds): group arrays are ``(C, T, R, G)``, gemeente x type arrays ``(T, R, G)``,
contingent pools ``(C, P, R, G)`` with ``P = 1`` (one pool per corporation x gemeente, shared by
the types) or ``P = T`` (per-type shares). The only Python loop is over months; each month runs
the steps below in order, one small function per step so "where is the contingent enforced?" has
one answer (``allocate_placements`` and ``allow_moving_on``).

1. ``reset_contingent``   January: the year's contingent replaces what was left (unused is lost)
2. ``draw_inflow``        new care leavers per gemeente x type join the waiting list
3. ``open_pipeline``      pipeline projects that open this month add places
4. ``due_move_outs``      stays that end this month (length-of-stay cohort convolution)
5. ``allow_moving_on``    leavers who need a regular dwelling take contingent or stay (blocked)
6. ``allocate_placements`` waiting people get free places, limited by contingent
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from supply.model import FloatArray, IntArray, SupplyInputError, SupplyInputs, month_index

InflowMode = Literal["poisson", "negbin", "deterministic"]

# Inverse-CDF tables stop where the remaining tail mass is below this; a draw beyond it would
# need a uniform closer to 1 than 1e-12, which a float64 generator practically never produces.
TAIL = 1e-12
MAX_TABLE = 4096
EPS = 1e-9  # guards floor() against float error in proportional splits (see split_proportional)

I32 = NDArray[np.int32]


# -- allocator ----------------------------------------------------------------------------------
_ALLOCATOR_TUNED = False


def tune_allocator() -> bool:
    """Keep freed large blocks in the heap (glibc only; once per process; True if applied).

    The month step creates many temporaries of about a megabyte. glibc serves those with mmap
    and returns them to the OS on free, so every new temporary page-faults its memory back in;
    measured here that makes the step about five times slower. Raising glibc's mmap threshold
    (to 32 MB, its maximum) and trim threshold keeps the blocks for reuse. The cost: memory freed
    below the process's peak is kept by the process instead of returned to the OS.
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return True
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 32 * 2**20) and libc.mallopt(
            m_trim_threshold, 512 * 2**20
        )
    except (OSError, AttributeError):
        return False
    _ALLOCATOR_TUNED = bool(ok)
    return _ALLOCATOR_TUNED


# -- integer helpers ----------------------------------------------------------------------------
def prefix_sum(a: I32, axis: int) -> I32:
    """Inclusive prefix sum along ``axis`` (0 or 1) by doubling: ceil(log2 n) whole-array adds.

    ``np.cumsum`` over a short axis is an order of magnitude slower than plain adds here.
    """
    out = a.copy()
    view = out if axis == 0 else out.swapaxes(0, 1)
    n = view.shape[0]
    k = 1
    while k < n:
        view[k:] += view[:-k]  # NumPy buffers overlapping operands: uses the previous step
        k *= 2
    return out


def split_proportional(
    total: I32, weights: I32, axis: int, dtype: type[np.floating] = np.float64, eps: float = EPS
) -> I32:
    """Split integer ``total`` over ``axis`` in proportion to ``weights`` (whole people).

    Cumulative rounding: share k gets floor(total * W_k / W + eps) - floor(total * W_{k-1} / W
    + eps), with ``W_k`` the prefix sum of the weights. Shares are whole, never negative, sum
    exactly to ``total`` and never exceed their weight when ``total <= W``: an exact quotient
    that is not whole lies at least 1/W from the next integer, and ``eps`` sits between the
    float error and 1/W (``Prepared.split_dtype`` picks float32 only when the largest W allows).
    ``total`` has ``axis`` removed.
    """
    prefix = prefix_sum(weights, axis)
    whole = prefix[-1] if axis == 0 else prefix[:, -1]
    ratio = (total / np.maximum(whole, 1)).astype(dtype)
    cum = prefix.astype(dtype)  # int32 * float32 would promote to float64
    cum *= ratio[None] if axis == 0 else ratio[:, None]
    cum += dtype(eps)
    np.floor(cum, out=cum)
    cum_i = cum.astype(np.int32)
    out = np.empty_like(cum_i)
    if axis == 0:
        out[0] = cum_i[0]
        np.subtract(cum_i[1:], cum_i[:-1], out=out[1:])
    else:
        out[:, 0] = cum_i[:, 0]
        np.subtract(cum_i[:, 1:], cum_i[:, :-1], out=out[:, 1:])
    return out


# -- inflow sampling ----------------------------------------------------------------------------
def count_cdf_table(
    mean: FloatArray, mode: InflowMode, dispersion: float | None
) -> tuple[FloatArray, int]:
    """P(X <= k) for k = 0..K-1 per cell, for Poisson or negative binomial counts.

    The negative binomial has mean ``mean`` and size ``dispersion`` (variance
    mean + mean^2 / dispersion). Returns the table (K, *mean.shape) and K.
    """
    mean = np.asarray(mean, dtype=np.float64)
    if mode == "negbin":
        if dispersion is None or dispersion <= 0:
            raise SupplyInputError("dispersion: negatief-binomiaal vraagt een dispersie > 0")
        r = float(dispersion)
        p_succ = r / (r + mean)
        pmf = p_succ**r
        step = lambda k: (k + r) / (k + 1) * (mean / (r + mean))  # noqa: E731
    else:
        pmf = np.exp(-mean)
        step = lambda k: mean / (k + 1)  # noqa: E731
    rows = []
    cdf = np.zeros_like(mean)
    for k in range(MAX_TABLE):
        cdf = cdf + pmf
        rows.append(np.minimum(cdf, 1.0))
        if np.all(1.0 - cdf < TAIL):
            break
        pmf = pmf * step(k)
    else:
        raise SupplyInputError("inflow: verwachte instroom te groot voor de steekproeftabel")
    return np.stack(rows), len(rows)


def cumulative_rounding(values: FloatArray, axis: int = 0) -> IntArray:
    """Whole numbers whose running sum stays within 0.5 of the running sum of ``values``."""
    cum = np.rint(np.cumsum(values, axis=axis)).astype(np.int64)
    return np.diff(cum, axis=axis, prepend=0)


# -- prepared (run-independent) arrays ----------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """Everything that does not depend on the run, in the internal layout."""

    n_g: int
    n_t: int
    n_c: int  # corporation slots: the most corporations present in one gemeente
    n_m: int
    n_pool: int
    mode: InflowMode
    cdf: FloatArray | None  # (M, K, T, 1, G) or None in deterministic mode
    kmax: IntArray  # (M,) table length actually needed per month
    det_inflow: IntArray  # (M, T, 1, G)
    capacity: IntArray  # (M, C, T, 1, G) base + scenario additions
    initial_left: IntArray  # (M + 1, C, T, 1, G) current occupants still there
    los: FloatArray  # (T, L)
    pool_amount: IntArray  # (Y, C, P, 1, G)
    pool_start: IntArray  # (C, P, 1, G) contingent left at the start
    year_of: IntArray  # (M,) year index
    january: NDArray[np.bool_]  # (M,)
    uses: NDArray[np.int32]  # (1, T, 1, 1) 1 where placements count against the contingent
    moving: NDArray[np.int32]  # (1, T, 1, 1) 1 where leavers need a regular dwelling
    no_limit: NDArray[np.int32]  # (1, T, 1, 1) 0 where the contingent applies, else a large number
    moving_on_uses_contingent: bool
    split_dtype: type[np.floating]
    split_eps: float
    slot_corp: IntArray  # (S, G) corporation index of each slot, -1 for an empty slot
    n_corp: int  # corporations in the inputs
    pipe_c: IntArray  # slot of each project
    pipe_t: IntArray
    pipe_g: IntArray
    pipe_start: IntArray
    pipe_places: IntArray
    pipe_delay_p: FloatArray
    pipe_delay_cdf: FloatArray  # (P, D) cumulative slip distribution (slip = index + 1)


def _group_layout(a: NDArray[np.int64]) -> NDArray[np.int64]:
    """(..., G, T, C) -> (..., C, T, 1, G)."""
    return np.expand_dims(np.swapaxes(a, -3, -1), -2)


def share_contingent(amount: IntArray, share: FloatArray) -> IntArray:
    """Split amounts (..., G, C) over types by ``share`` (G, T, C) -> (..., G, T, C), whole."""
    raw = amount[..., :, None, :] * share
    cum = np.rint(np.cumsum(raw, axis=-2)).astype(np.int64)
    return np.diff(cum, axis=-2, prepend=0)


def corporation_slots(inputs: SupplyInputs) -> IntArray:
    """(S, G): the corporations present in each gemeente, packed into S slots (-1: empty).

    A corporation is present in a gemeente when it has places (now or added), occupants,
    contingent or a pipeline project there. Absent corporations have no places and no
    contingent, so leaving them out changes no result; the engine works on S slots instead of
    all corporations (real regions have a few corporations per gemeente, not all of them).
    """
    present = (
        (inputs.capacity > 0).any(axis=1)
        | (np.asarray(inputs.capacity_added) > 0).any(axis=(0, 2))
        | (inputs.occupancy > 0).any(axis=1)
        | (inputs.contingent > 0).any(axis=0)
        | (inputs.contingent_used > 0)
    )
    for p in inputs.pipeline:
        present[inputs.gemeenten.index(p.gemeente), inputs.corporations.index(p.corporation)] = 1
    counts = present.sum(axis=1)
    n_slots = max(1, int(counts.max(initial=0)))
    order = np.argsort(~present, axis=1, kind="stable")[:, :n_slots].T  # present ones first
    return np.where(np.arange(n_slots)[:, None] < counts[None, :], order, -1).astype(np.int64)


def to_slots(a: NDArray[np.int64], slot_corp: IntArray) -> NDArray[np.int64]:
    """(..., C, X, 1, G) -> (..., S, X, 1, G); empty slots are 0."""
    n_g = slot_corp.shape[1]
    moved = np.moveaxis(a, (-4, -1), (0, 1))  # (C, G, ...)
    taken = moved[np.maximum(slot_corp, 0), np.arange(n_g)[None, :]]  # (S, G, ...)
    mask = (slot_corp >= 0).reshape(slot_corp.shape + (1,) * (taken.ndim - 2))
    return np.moveaxis(taken * mask, (0, 1), (-4, -1))


def prepare(inputs: SupplyInputs, mode: InflowMode, dispersion: float | None) -> Prepared:
    """Reshape validated inputs for the engine; draws nothing."""
    n_g, n_t, n_c = inputs.shape
    n_m = inputs.months
    lam = np.moveaxis(inputs.inflow, 1, 2)[:, :, None, :]  # (M, T, 1, G)
    det = cumulative_rounding(lam, axis=0)
    if mode == "deterministic":
        cdf, kmax = None, np.zeros(n_m, np.int64)
    else:
        table, _ = count_cdf_table(lam, mode, dispersion)  # (K, M, T, 1, G)
        cdf = np.ascontiguousarray(np.moveaxis(table, 0, 1))
        needed = (1.0 - cdf) >= TAIL  # rows still carrying tail mass
        kmax = needed.reshape(n_m, cdf.shape[1], -1).any(axis=2).sum(axis=1) + 1
        kmax = np.minimum(kmax, cdf.shape[1]).astype(np.int64)
    capacity = _group_layout(inputs.capacity) + np.cumsum(
        _group_layout(np.asarray(inputs.capacity_added)), axis=0
    )
    decay = (1.0 - inputs.turnover)[None] ** np.arange(n_m + 1)[:, None, None, None]
    initial_left = np.rint(inputs.occupancy[None] * decay).astype(np.int64)
    if inputs.contingent_share is None:
        pools = inputs.contingent[:, :, None, :]  # (Y, G, 1, C)
        start_pool = (inputs.contingent[0] - inputs.contingent_used)[:, None, :]
    else:
        pools = share_contingent(inputs.contingent, inputs.contingent_share)
        start_pool = pools[0] - share_contingent(inputs.contingent_used, inputs.contingent_share)
    pool_amount = _group_layout(pools)
    pool_start = _group_layout(np.maximum(start_pool, 0))
    months = inputs.month_dates()
    year_of = np.array([d.year - inputs.start.year for d in months], np.int64)
    january = np.array([d.month == 1 for d in months])
    pipe = inputs.pipeline
    # Largest sum of weights a proportional split can see: places of a gemeente x type over
    # corporations, or of a corporation x gemeente over types (pipeline included).
    most = capacity[-1, :, :, 0, :].astype(np.int64)
    for p in pipe:
        most[
            inputs.corporations.index(p.corporation),
            inputs.types.index(p.type_code),
            inputs.gemeenten.index(p.gemeente),
        ] += p.places
    w_max = int(max(most.sum(axis=0).max(initial=0), most.sum(axis=1).max(initial=0), 1))
    split_dtype: type[np.floating] = np.float32 if w_max <= 1024 else np.float64
    split_eps = 0.5 / w_max if split_dtype is np.float32 else EPS
    slot_corp = corporation_slots(inputs)
    slot_of = np.full((n_c, n_g), -1, np.int64)
    valid = slot_corp >= 0
    slot_of[slot_corp[valid], np.nonzero(valid)[1]] = np.nonzero(valid)[0]
    capacity = to_slots(capacity, slot_corp)
    initial_left = to_slots(_group_layout(initial_left), slot_corp)
    pool_amount = to_slots(pool_amount, slot_corp)
    pool_start = to_slots(pool_start, slot_corp)
    max_slip = max((len(p.delay_pmf) for p in pipe), default=1)
    delay_cdf = np.ones((len(pipe), max_slip))
    for i, p in enumerate(pipe):
        delay_cdf[i, : len(p.delay_pmf)] = np.cumsum(p.delay_pmf)
    return Prepared(
        n_g=n_g,
        n_t=n_t,
        n_c=slot_corp.shape[0],
        n_m=n_m,
        n_pool=1 if inputs.contingent_share is None else n_t,
        mode=mode,
        cdf=cdf,
        kmax=kmax,
        det_inflow=np.ascontiguousarray(det, dtype=np.int32),
        capacity=np.ascontiguousarray(capacity, dtype=np.int32),
        initial_left=np.ascontiguousarray(initial_left, dtype=np.int32),
        los=np.asarray(inputs.los, np.float64),
        pool_amount=np.ascontiguousarray(pool_amount, dtype=np.int32),
        pool_start=np.ascontiguousarray(pool_start, dtype=np.int32),
        year_of=year_of,
        january=january,
        uses=inputs.uses_contingent.reshape(1, n_t, 1, 1).astype(np.int32),
        moving=inputs.moving_on.reshape(1, n_t, 1, 1).astype(np.int32),
        no_limit=np.where(inputs.uses_contingent, 0, 2**30).reshape(1, n_t, 1, 1).astype(np.int32),
        moving_on_uses_contingent=inputs.moving_on_uses_contingent,
        split_dtype=split_dtype,
        split_eps=split_eps,
        slot_corp=slot_corp,
        n_corp=n_c,
        pipe_c=np.array(
            [
                slot_of[
                    inputs.corporations.index(p.corporation), inputs.gemeenten.index(p.gemeente)
                ]
                for p in pipe
            ],
            np.int64,
        ),
        pipe_t=np.array([inputs.types.index(p.type_code) for p in pipe], np.int64),
        pipe_g=np.array([inputs.gemeenten.index(p.gemeente) for p in pipe], np.int64),
        pipe_start=np.array([month_index(inputs.start, p.start_month) for p in pipe], np.int64),
        pipe_places=np.array([p.places for p in pipe], np.int64),
        pipe_delay_p=np.array([p.delay_probability for p in pipe], np.float64),
        pipe_delay_cdf=delay_cdf,
    )


# -- the monthly steps --------------------------------------------------------------------------
def reset_contingent(prep: Prepared, m: int, left: I32) -> I32:
    """In January the year's contingent replaces what was left: unused contingent is lost."""
    if m > 0 and prep.january[m]:
        left[...] = prep.pool_amount[prep.year_of[m]]
    return left


def draw_inflow(prep: Prepared, m: int, rng: np.random.Generator, runs: int) -> I32:
    """New care leavers per gemeente x type (T, R, G) by inverse CDF on shared uniforms.

    The uniforms do not depend on the expected counts, so two scenarios run with the same seed
    see coupled inflows (a higher expectation never gives fewer arrivals in a run).
    """
    if prep.cdf is None:
        return np.broadcast_to(prep.det_inflow[m], (prep.n_t, runs, prep.n_g)).astype(np.int32)
    u = rng.random((prep.n_t, runs, prep.n_g))
    # count = number of table rows P(X <= k) below u: one comparison against all rows at once.
    table = prep.cdf[m, : int(prep.kmax[m])]
    return (u[None] > table).sum(axis=0, dtype=np.int32)


def draw_pipeline(prep: Prepared, rng: np.random.Generator, runs: int) -> IntArray:
    """Opening month per project and run (P, R): start plus a slip when delayed.

    In deterministic mode a project slips by its median slip when P(delay) > 0.5, else not.
    """
    n_p = len(prep.pipe_places)
    if n_p == 0:
        return np.zeros((0, runs), np.int64)
    if prep.mode == "deterministic":
        # No draws: a project slips (by its median slip) only when a slip is more likely than not.
        u_delay = np.full((n_p, runs), 0.5)
        u_slip = np.full((n_p, runs), 0.5)
    else:
        u_delay = rng.random((n_p, runs))
        u_slip = rng.random((n_p, runs))
    delayed = u_delay < prep.pipe_delay_p[:, None]
    slip = (u_slip[:, :, None] > prep.pipe_delay_cdf[:, None, :]).sum(axis=2) + 1
    return prep.pipe_start[:, None] + np.where(delayed, slip, 0)


def open_pipeline(prep: Prepared, m: int, opening: IntArray, extra: I32) -> I32:
    """Add the places of projects that open in month ``m`` (projects open before month 0 count
    from the start)."""
    if opening.shape[0] == 0:
        return extra
    now = (opening == m) if m > 0 else (opening <= 0)
    places = (now * prep.pipe_places[:, None]).astype(np.int32)
    index = (prep.pipe_c, prep.pipe_t, slice(None), prep.pipe_g)
    np.add.at(extra, index, places)  # type: ignore[arg-type]
    return extra


def due_move_outs(prep: Prepared, m: int, history: FloatArray, runs: int) -> FloatArray:
    """Expected stays ending in month ``m`` per gemeente x type (T, R, G), from the placement
    history: sum over d of los[t, d] * placements[m - d]."""
    n_l = prep.los.shape[1]
    lo = max(0, m - n_l + 1)
    if m == 0:
        return np.zeros((prep.n_t, runs, prep.n_g))
    window = history[:, :, lo:m]  # (T, R*G, w) placements in months lo..m-1
    weights = prep.los[:, np.arange(m - lo, 0, -1)]  # stay d = m - j for j in lo..m-1
    due = np.matmul(window, weights[:, :, None])[:, :, 0]
    return due.reshape(prep.n_t, runs, prep.n_g)


def pool_sum(prep: Prepared, x: I32) -> I32:
    """Group array (C, T, R, G) -> contingent pools (C, P, R, G)."""
    if prep.n_pool == 1:
        return x.sum(axis=1, keepdims=True, dtype=np.int32)
    return x


def _split(prep: Prepared, total: I32, weights: I32, axis: int) -> I32:
    return split_proportional(total, weights, axis, prep.split_dtype, prep.split_eps)


def allow_moving_on(prep: Prepared, ready: I32, left: I32) -> I32:
    """How many of the people ready to move on get a regular dwelling (counted against the
    contingent of the corporation whose place they leave); the rest stay, blocking the place.
    A short pool is shared over the types in proportion to who is ready."""
    if prep.n_pool == 1:
        need = ready.sum(axis=1, dtype=np.int32)
        short = need > left[:, 0]
        if not short.any():
            return ready
        rationed = _split(prep, np.minimum(need, left[:, 0]), ready, axis=1)
        return np.where(short[:, None], rationed, ready)
    return np.minimum(ready, left)


def allocate_placements(prep: Prepared, demand: I32, free: I32, left: I32) -> I32:
    """Placements per group (C, T, R, G) this month: where the contingent is enforced.

    Demand of a gemeente x type is met by the free places of that gemeente x type across
    corporations, each corporation offering at most its free places and, for types that use the
    contingent, at most its contingent left. The demand met (min of demand and that offer) is
    split over corporations in proportion to their offer. When types share one pool and together
    ask more than is left, the pool is split over them in proportion to what they asked; what is
    cut is not re-offered to another corporation in the same month.
    """
    # Types outside the contingent see an unlimited pool (left + a large number).
    offer = np.minimum(free, left + prep.no_limit)
    met = np.minimum(demand, offer.sum(axis=0, dtype=np.int32))
    placed = _split(prep, met, offer, axis=0)
    if prep.n_pool == 1 and prep.n_t > 1:
        counted = placed * prep.uses
        need = counted.sum(axis=1, dtype=np.int32)
        short = need > left[:, 0]
        if short.any():
            rationed = _split(prep, np.minimum(need, left[:, 0]), counted, axis=1)
            cut = short[:, None] & (prep.uses > 0)
            placed = np.where(cut, rationed, placed)
    return placed


# -- one chunk of runs --------------------------------------------------------------------------
@dataclass
class ChunkSeries:
    """Per-run monthly outputs of one chunk, natural granularity, internal layout.

    group outputs (M, C, T, R, G); gemeente x type outputs (M, T, R, G); contingent (M, C, R, G).
    """

    occupancy: I32
    placements: I32
    move_outs: I32
    waiting: I32
    shortfall: I32
    inflow: I32
    contingent_used: I32
    contingent_left: I32
    slot_corp: IntArray  # (S, G): which corporation each slot of the C-axis holds
    n_corp: int


GROUP_OUTPUTS = ("occupancy", "placements", "move_outs")
DEMAND_OUTPUTS = ("waiting", "shortfall", "inflow")
CONTINGENT_OUTPUTS = ("contingent_used", "contingent_left")


def new_chunk_series(prep: Prepared, runs: int) -> ChunkSeries:
    """Uninitialised output buffers for ``runs`` runs (every cell is written by a chunk).

    The arrays are views in the (M, C, T, R, G) order of ``ChunkSeries`` on memory laid out as
    (M, G, C, T, R): the compiled kernel works one gemeente at a time with the runs as the
    inner, contiguous (vectorised) loop.
    """
    n_c, n_t, n_g, n_m = prep.n_c, prep.n_t, prep.n_g, prep.n_m

    def group() -> I32:
        return np.empty((n_m, n_g, n_c, n_t, runs), np.int32).transpose(0, 2, 3, 4, 1)

    def per(n: int) -> I32:
        return np.empty((n_m, n_g, n, runs), np.int32).transpose(0, 2, 3, 1)

    return ChunkSeries(
        occupancy=group(),
        placements=group(),
        move_outs=group(),
        waiting=per(n_t),
        shortfall=per(n_t),
        inflow=per(n_t),
        contingent_used=per(n_c),
        contingent_left=per(n_c),
        slot_corp=prep.slot_corp,
        n_corp=prep.n_corp,
    )


ALL_OUTPUTS = GROUP_OUTPUTS + DEMAND_OUTPUTS + CONTINGENT_OUTPUTS


def memory_order(arr: I32) -> I32:
    """A chunk output in the (M, G, ...) order of its memory (see ``new_chunk_series``):
    (M, C, T, R, G) -> (M, G, C, T, R); (M, X, R, G) -> (M, G, X, R)."""
    if arr.ndim == 5:
        return arr.transpose(0, 4, 1, 2, 3)
    return arr.transpose(0, 3, 1, 2)


def simulate_chunk(
    prep: Prepared,
    waiting0: IntArray,
    runs: int,
    inflow_rng: np.random.Generator,
    pipeline_rng: np.random.Generator,
    out: ChunkSeries | None = None,
) -> ChunkSeries:
    """Run ``runs`` projections with the compiled kernel (``supply.kernel``).

    Same recipe, same random numbers and the same results as ``simulate_chunk_reference``
    (tested); the reference states the model in whole-array NumPy steps.
    """
    from supply import kernel

    n_c, n_t, n_g, n_m = prep.n_c, prep.n_t, prep.n_g, prep.n_m
    if out is None or out.waiting.shape[2] != runs or out.occupancy.shape[1] != n_c:
        out = new_chunk_series(prep, runs)
    out.slot_corp, out.n_corp = prep.slot_corp, prep.n_corp
    opening = draw_pipeline(prep, pipeline_rng, runs)
    if prep.cdf is None:
        uniforms = np.zeros((0, 0, 0, 0))
        cdf = np.zeros((n_m, 0, n_t, 1, n_g))
    else:
        # One draw of (M, T, R, G) is the same stream as the reference's (T, R, G) per month.
        uniforms = inflow_rng.random((n_m, n_t, runs, n_g))
        cdf = prep.cdf
    kernel.simulate_kernel(
        runs,
        np.ascontiguousarray(waiting0, dtype=np.int64),
        uniforms,
        cdf,
        prep.kmax,
        prep.det_inflow,
        prep.capacity,
        prep.initial_left,
        prep.los,
        prep.pool_amount,
        prep.pool_start,
        prep.year_of,
        prep.january,
        np.ascontiguousarray(prep.uses.reshape(-1)),
        np.ascontiguousarray(prep.moving.reshape(-1)),
        prep.moving_on_uses_contingent,
        prep.split_dtype is np.float32,
        float(prep.split_eps),
        opening,
        prep.pipe_c,
        prep.pipe_t,
        prep.pipe_g,
        prep.pipe_places,
        (prep.slot_corp >= 0).sum(axis=0).astype(np.int64),
        *(memory_order(getattr(out, name)) for name in ALL_OUTPUTS),
    )
    return out


def simulate_chunk_reference(
    prep: Prepared,
    waiting0: IntArray,
    runs: int,
    inflow_rng: np.random.Generator,
    pipeline_rng: np.random.Generator,
    out: ChunkSeries | None = None,
) -> ChunkSeries:
    """Run ``runs`` projections side by side in whole-array NumPy steps (the reference); the
    loop is over months only.

    ``out`` (from ``new_chunk_series``) is reused when given: fresh buffers of this size cost
    page faults on every chunk.
    """
    n_c, n_t, n_g, n_m = prep.n_c, prep.n_t, prep.n_g, prep.n_m
    group = (n_c, n_t, runs, n_g)
    if out is None or out.waiting.shape[2] != runs or out.occupancy.shape[1] != n_c:
        out = new_chunk_series(prep, runs)
    out.slot_corp, out.n_corp = prep.slot_corp, prep.n_corp
    waiting = np.broadcast_to(waiting0.T[:, None, :], (n_t, runs, n_g)).astype(np.int32)
    placed_stay = np.zeros(group, np.int32)  # placed during the projection, still there
    blocked = np.zeros(group, np.int32)  # stay ended, waiting for a regular dwelling
    left = np.broadcast_to(prep.pool_start, (n_c, prep.n_pool, runs, n_g)).astype(np.int32)
    extra = np.zeros(group, np.int32)  # pipeline places opened so far
    opening = draw_pipeline(prep, pipeline_rng, runs)
    history = np.zeros((n_t, runs * n_g, n_m))  # placements per gemeente x type
    expected_out = np.zeros((n_t, runs, n_g))  # cumulative expected end-of-stay
    realised_out = np.zeros((n_t, runs, n_g))
    moving_on = prep.moving_on_uses_contingent
    amount_cg = prep.pool_amount.sum(axis=2, dtype=np.int32)  # (Y, C, 1, G)
    for m in range(n_m):
        reset_contingent(prep, m, left)
        arrivals = draw_inflow(prep, m, inflow_rng, runs)
        waiting += arrivals
        open_pipeline(prep, m, opening, extra)
        # Stays that end: cumulative rounding keeps the realised count within one person of the
        # expected count of each gemeente x type; leavers are taken from corporations in
        # proportion to their own placed occupants (places of one type are interchangeable).
        expected_out += due_move_outs(prep, m, history, runs)
        staying = placed_stay - blocked if moving_on else placed_stay
        staying_gt = staying.sum(axis=0, dtype=np.int32)
        # Rounding to 1e-6 first lets exact halves (steady states with a half person) alternate
        # up and down (round half to even) instead of following float noise one way.
        ending = np.minimum(np.rint(np.round(expected_out, 6)) - realised_out, staying_gt)
        ending = np.maximum(ending, 0).astype(np.int32)
        realised_out += ending
        leavers = _split(prep, ending, staying, axis=0)
        if moving_on:
            ready = (leavers + blocked) * prep.moving
            allowed = allow_moving_on(prep, ready, left)
            left -= pool_sum(prep, allowed)
            blocked = ready - allowed
            moved = leavers - leavers * prep.moving + allowed
        else:
            moved = leavers
        placed_stay -= moved
        occupied = prep.initial_left[m + 1] + placed_stay
        free = prep.capacity[m] + extra
        free -= occupied
        np.maximum(free, 0, out=free)
        placed = allocate_placements(prep, waiting, free, left)
        left -= pool_sum(prep, placed * prep.uses)
        placed_stay += placed
        placed_gt = placed.sum(axis=0, dtype=np.int32)
        waiting -= placed_gt
        history[:, :, m] = placed_gt.reshape(n_t, runs * n_g)
        np.add(occupied, placed, out=out.occupancy[m])
        out.placements[m] = placed
        np.add(moved, prep.initial_left[m] - prep.initial_left[m + 1], out=out.move_outs[m])
        out.waiting[m] = waiting
        out.inflow[m] = arrivals
        if moving_on:
            np.add(waiting, blocked.sum(axis=0, dtype=np.int32), out=out.shortfall[m])
        else:
            out.shortfall[m] = waiting
        left_cg = left.sum(axis=1, dtype=np.int32) if prep.n_pool > 1 else left[:, 0]
        out.contingent_left[m] = left_cg
        np.subtract(amount_cg[prep.year_of[m]], left_cg, out=out.contingent_used[m])
    return out
