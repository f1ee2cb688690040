"""Compiled month step and histogram counting (numba), the fast path of the projection.

``simulate_chunk_compiled`` runs exactly the recipe of ``supply.engine`` (the NumPy reference,
kept for tests and as the readable statement of the model), but as one compiled loop per
(run, gemeente): nothing in a month couples gemeenten or runs, so each (run, gemeente) pair walks
its months on small (slot x type) arrays that stay in cache, and pairs run in parallel on numba's
threads. Inflow uniforms are drawn in NumPy beforehand in the same order as the reference
(``rng.random((T, R, G))`` month after month is the same stream as one ``(M, T, R, G)`` draw), so
both paths give the same numbers for the same seed (tested).

``level_sums`` sums per-run series to the aggregation levels (each coarser level from a finer
one) and ``count_values`` adds them to integer histograms; both are parallel over disjoint
outputs, so no two threads write the same cell.

Compiled with ``cache=True``: the first call in a fresh checkout compiles (a few seconds), later
processes load the machine code from ``__pycache__``.
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
from numpy.typing import NDArray

_JIT: dict[str, Any] = {"nogil": True, "cache": True}


@nb.njit(inline="always", **_JIT)
def _split_runs(
    total: Any,  # (R,) int32 amount to split per run
    weights: Any,  # (N, R) int32 weights per part and run
    out: Any,  # (N, R) int32 shares
    scratch_f: Any,  # (R,) float64
    scratch_i: Any,  # (2, R) int64: running weight, previous cumulative share
    use32: bool,
    eps: float,
) -> None:
    """Cumulative rounding of ``total[r]`` over ``weights[:, r]`` for every run at once (the
    same arithmetic as engine.split_proportional; runs are the inner, vectorised loop)."""
    n, n_r = weights.shape
    most = 0
    for r in range(n_r):
        most = max(most, total[r])
    if most == 0:  # common: nothing to split in any run
        for k in range(n):
            for r in range(n_r):
                out[k, r] = 0
        return
    run = scratch_i[0]
    prev = scratch_i[1]
    for r in range(n_r):
        run[r] = 0
        prev[r] = 0
    for k in range(n):
        for r in range(n_r):
            run[r] += weights[k, r]
    ratio = scratch_f
    for r in range(n_r):
        ratio[r] = np.float64(total[r]) / np.float64(max(run[r], 1))
        run[r] = 0
    if use32:
        e32 = np.float32(eps)
        for k in range(n):
            for r in range(n_r):
                run[r] += weights[k, r]
                # Truncation is floor here: every term is >= 0.
                cum = np.int64(np.float32(np.float32(run[r]) * np.float32(ratio[r])) + e32)
                out[k, r] = cum - prev[r]
                prev[r] = cum
    else:
        for k in range(n):
            for r in range(n_r):
                run[r] += weights[k, r]
                cum = np.int64(np.float64(run[r]) * ratio[r] + eps)
                out[k, r] = cum - prev[r]
                prev[r] = cum


@nb.njit(**_JIT)
def simulate_kernel(
    n_runs: int,
    waiting0: Any,  # (G, T) int64
    uniforms: Any,  # (M, T, R, G) float64, or (0, 0, 0, 0) in deterministic mode
    cdf: Any,  # (M, K, T, 1, G) float64 or (M, 0, T, 1, G)
    kmax: Any,  # (M,)
    det_inflow: Any,  # (M, T, 1, G) int32
    capacity: Any,  # (M, C, T, 1, G) int32
    initial_left: Any,  # (M + 1, C, T, 1, G) int32
    los: Any,  # (T, L) float64
    pool_amount: Any,  # (Y, C, P, 1, G) int32
    pool_start: Any,  # (C, P, 1, G) int32
    year_of: Any,  # (M,) int64
    january: Any,  # (M,) bool
    uses: Any,  # (T,) int32
    moving: Any,  # (T,) int32
    moving_on_uses: bool,
    use32: bool,
    eps: float,
    opening: Any,  # (P, R) int64 opening month per project and run
    pipe_c: Any,
    pipe_t: Any,
    pipe_g: Any,
    pipe_places: Any,
    n_slots: Any,  # (G,) int64 corporation slots in use per gemeente (the first n_slots[g])
    out_occupancy: Any,  # (M, G, C, T, R) int32 (memory order of the chunk buffers)
    out_placements: Any,
    out_move_outs: Any,
    out_waiting: Any,  # (M, G, T, R) int32
    out_shortfall: Any,
    out_inflow: Any,
    out_used: Any,  # (M, G, C, R) int32
    out_left: Any,
) -> None:
    """One chunk: gemeenten one after another, months in order, and every step a loop over the
    chunk's runs innermost (contiguous, vectorised by LLVM): the reference's whole-array steps,
    fused so that one gemeente's state stays in cache."""
    n_m = capacity.shape[0]
    n_c = capacity.shape[1]
    n_t = capacity.shape[2]
    n_g = capacity.shape[4]
    n_p = pool_start.shape[1]
    n_l = los.shape[1]
    n_proj = pipe_c.shape[0]
    n_r = n_runs
    drawn = uniforms.shape[0] > 0
    waiting = np.empty((n_t, n_r), np.int32)
    placed_stay = np.empty((n_c, n_t, n_r), np.int32)
    blocked = np.empty((n_c, n_t, n_r), np.int32)
    extra = np.empty((n_c, n_t, n_r), np.int32)
    left = np.empty((n_c, n_p, n_r), np.int32)
    # due[t, m, r]: expected stays ending in month m, added forward when people are placed
    # (float64: float32 sums drift past the 1e-6 rounding over long horizons).
    due = np.empty((n_t, n_m, n_r), np.float64)
    expected_out = np.empty((n_t, n_r), np.float64)
    realised_out = np.empty((n_t, n_r), np.float64)
    arrivals = np.empty((n_t, n_r), np.int32)
    staying = np.empty((n_t, n_c, n_r), np.int32)  # per type: weights over corporations
    leavers = np.empty((n_t, n_c, n_r), np.int32)
    ending = np.empty((n_t, n_r), np.int32)
    ready = np.empty((n_c, n_t, n_r), np.int32)  # per corporation: weights over types
    allowed = np.empty((n_c, n_t, n_r), np.int32)
    moved = np.empty((n_c, n_t, n_r), np.int32)
    offer = np.empty((n_t, n_c, n_r), np.int32)
    placed = np.empty((n_t, n_c, n_r), np.int32)
    counted = np.empty((n_c, n_t, n_r), np.int32)
    rationed = np.empty((n_c, n_t, n_r), np.int32)
    amount = np.empty(n_r, np.int32)
    need = np.empty(n_r, np.int32)
    scratch_f = np.empty(n_r, np.float64)
    scratch_i = np.empty((2, n_r), np.int64)
    ubuf = np.empty(n_r, np.float64)
    for g in range(n_g):
        ncg = n_slots[g]  # slots >= ncg are empty in this gemeente: no places, no contingent
        for t in range(n_t):
            for r in range(n_r):
                waiting[t, r] = waiting0[g, t]
        placed_stay[:] = 0
        blocked[:] = 0
        extra[:] = 0
        due[:] = 0.0
        expected_out[:] = 0.0
        realised_out[:] = 0.0
        for c in range(n_c):
            for p in range(n_p):
                for r in range(n_r):
                    left[c, p, r] = pool_start[c, p, 0, g]
        for m in range(n_m):
            year = year_of[m]
            # 1. January: the year's contingent replaces what was left.
            if m > 0 and january[m]:
                for c in range(n_c):
                    for p in range(n_p):
                        for r in range(n_r):
                            left[c, p, r] = pool_amount[year, c, p, 0, g]
            # 2. Inflow by inverse CDF: count the table rows below the uniform.
            for t in range(n_t):
                if drawn:
                    top = 0.0
                    for r in range(n_r):
                        arrivals[t, r] = 0
                        u = uniforms[m, t, r, g]
                        ubuf[r] = u
                        top = max(top, u)
                    for j in range(kmax[m]):
                        level = cdf[m, j, t, 0, g]
                        if level >= top:  # the table is non-decreasing: no run counts further
                            break
                        for r in range(n_r):
                            arrivals[t, r] += ubuf[r] > level
                else:
                    for r in range(n_r):
                        arrivals[t, r] = det_inflow[m, t, 0, g]
                for r in range(n_r):
                    waiting[t, r] += arrivals[t, r]
            # 3. Pipeline projects opening this month.
            for q in range(n_proj):
                if pipe_g[q] != g:
                    continue
                for r in range(n_r):
                    o = opening[q, r]
                    if (m > 0 and o == m) or (m == 0 and o <= 0):
                        extra[pipe_c[q], pipe_t[q], r] += pipe_places[q]
            # 4. Stays that end (cohort convolution, cumulative rounding), split over the
            #    corporations in proportion to their own placed occupants.
            for t in range(n_t):
                for r in range(n_r):
                    expected_out[t, r] += due[t, m, r]
                    total = 0
                    for c in range(ncg):
                        s = placed_stay[c, t, r]
                        if moving_on_uses:
                            s -= blocked[c, t, r]
                        staying[t, c, r] = s
                        total += s
                    target = np.rint(np.rint(expected_out[t, r] * 1e6) / 1e6) - realised_out[t, r]
                    e = np.int32(max(min(target, np.float64(total)), 0.0))
                    ending[t, r] = e
                    realised_out[t, r] += e
                _split_runs(
                    ending[t], staying[t, :ncg], leavers[t, :ncg], scratch_f, scratch_i, use32, eps
                )
            # 5. Moving on needs contingent; the rest stays blocked.
            if moving_on_uses:
                for c in range(ncg):
                    for t in range(n_t):
                        mv = moving[t]
                        for r in range(n_r):
                            ready[c, t, r] = (leavers[t, c, r] + blocked[c, t, r]) * mv
                if n_p == 1:
                    for c in range(ncg):
                        any_short = False
                        for r in range(n_r):
                            total = 0
                            for t in range(n_t):
                                total += ready[c, t, r]
                            need[r] = min(total, left[c, 0, r])
                            any_short |= total > left[c, 0, r]
                        if any_short:  # rationing only where a pool is short
                            _split_runs(
                                need, ready[c], rationed[c], scratch_f, scratch_i, use32, eps
                            )
                        for r in range(n_r):
                            total = 0
                            for t in range(n_t):
                                total += ready[c, t, r]
                            short = total > left[c, 0, r]
                            taken = 0
                            for t in range(n_t):
                                a = rationed[c, t, r] if short else ready[c, t, r]
                                allowed[c, t, r] = a
                                taken += a
                            left[c, 0, r] -= taken
                else:
                    for c in range(ncg):
                        for t in range(n_t):
                            for r in range(n_r):
                                a = min(ready[c, t, r], left[c, t, r])
                                allowed[c, t, r] = a
                                left[c, t, r] -= a
                for c in range(ncg):
                    for t in range(n_t):
                        mv = moving[t]
                        for r in range(n_r):
                            blocked[c, t, r] = ready[c, t, r] - allowed[c, t, r]
                            lv = leavers[t, c, r]
                            moved[c, t, r] = lv - lv * mv + allowed[c, t, r]
            else:
                for c in range(ncg):
                    for t in range(n_t):
                        for r in range(n_r):
                            moved[c, t, r] = leavers[t, c, r]
            # 6. Placements, limited by free places and contingent.
            for c in range(ncg):
                for t in range(n_t):
                    occ0 = initial_left[m + 1, c, t, 0, g]
                    cap = capacity[m, c, t, 0, g]
                    p = 0 if n_p == 1 else t
                    limited = uses[t] != 0
                    for r in range(n_r):
                        placed_stay[c, t, r] -= moved[c, t, r]
                        free = max(cap + extra[c, t, r] - occ0 - placed_stay[c, t, r], 0)
                        offer[t, c, r] = min(free, left[c, p, r]) if limited else free
            for t in range(n_t):
                for r in range(n_r):
                    supply = 0
                    for c in range(ncg):
                        supply += offer[t, c, r]
                    amount[r] = min(waiting[t, r], supply)
                _split_runs(
                    amount, offer[t, :ncg], placed[t, :ncg], scratch_f, scratch_i, use32, eps
                )
            if n_p == 1 and n_t > 1:
                for c in range(ncg):
                    any_short = False
                    for r in range(n_r):
                        total = 0
                        for t in range(n_t):
                            v = placed[t, c, r] * uses[t]
                            counted[c, t, r] = v
                            total += v
                        need[r] = min(total, left[c, 0, r])
                        any_short |= total > left[c, 0, r]
                    if not any_short:
                        continue
                    _split_runs(need, counted[c], rationed[c], scratch_f, scratch_i, use32, eps)
                    for r in range(n_r):
                        total = 0
                        for t in range(n_t):
                            total += counted[c, t, r]
                        if total > left[c, 0, r]:
                            for t in range(n_t):
                                if uses[t]:
                                    placed[t, c, r] = rationed[c, t, r]
            for c in range(ncg):
                for t in range(n_t):
                    if uses[t]:
                        p = 0 if n_p == 1 else t
                        for r in range(n_r):
                            left[c, p, r] -= placed[t, c, r]
            # Bookkeeping and outputs.
            for t in range(n_t):
                for r in range(n_r):
                    amount[r] = 0  # placed this month in this gemeente x type
                    need[r] = 0  # blocked
                for c in range(ncg, n_c):
                    for r in range(n_r):
                        out_occupancy[m, g, c, t, r] = 0
                        out_placements[m, g, c, t, r] = 0
                        out_move_outs[m, g, c, t, r] = 0
                for c in range(ncg):
                    now = initial_left[m + 1, c, t, 0, g]
                    before = initial_left[m, c, t, 0, g]
                    for r in range(n_r):
                        pl = placed[t, c, r]
                        placed_stay[c, t, r] += pl
                        amount[r] += pl
                        need[r] += blocked[c, t, r]
                        out_occupancy[m, g, c, t, r] = now + placed_stay[c, t, r]
                        out_placements[m, g, c, t, r] = pl
                        out_move_outs[m, g, c, t, r] = moved[c, t, r] + before - now
                for r in range(n_r):
                    waiting[t, r] -= amount[r]
                    out_waiting[m, g, t, r] = waiting[t, r]
                    out_inflow[m, g, t, r] = arrivals[t, r]
                    out_shortfall[m, g, t, r] = waiting[t, r] + (need[r] if moving_on_uses else 0)
                for d in range(1, min(n_l, n_m - m)):
                    w = los[t, d]
                    if w == 0.0:
                        continue
                    for r in range(n_r):
                        due[t, m + d, r] += np.float64(amount[r]) * w
            for c in range(n_c):
                for r in range(n_r):
                    left_c = 0
                    total = 0
                    for p in range(n_p):
                        left_c += left[c, p, r]
                        total += pool_amount[year, c, p, 0, g]
                    out_left[m, g, c, r] = left_c
                    out_used[m, g, c, r] = total - left_c


@nb.njit(**_JIT)
def level_sums(
    series: Any,  # (M, G, S, T, R) int32: S = 1 without corporation axis, T = 1 without type
    slot_corp: Any,  # (S, G) int64, -1 for an empty slot; (1, G) of zeros without corporations
    n_corp: int,
    want: Any,  # (7,) bool: total, gemeente, type, corporation, g_t, g_c, group
    out_total: Any,  # (1, M, R)
    out_g: Any,  # (G, M, R)
    out_t: Any,  # (T, M, R)
    out_c: Any,  # (C, M, R)
    out_gt: Any,  # (G*T, M, R)
    out_gc: Any,  # (G*C, M, R)
    out_group: Any,  # (G*T*C, M, R)
) -> None:
    """Per-run sums of one output at every wanted level (cells in g, t, c order); runs are the
    inner, contiguous loop."""
    n_m, n_g, n_s, n_t, n_r = series.shape
    gt = np.zeros((n_g, n_t, n_r), np.int32)
    gc = np.zeros((n_g, n_corp, n_r), np.int32)
    acc = np.zeros(n_r, np.int32)
    for m in range(n_m):
        gt[:] = 0
        gc[:] = 0
        for g in range(n_g):
            for s in range(n_s):
                c = slot_corp[s, g]
                if c < 0:
                    continue
                for t in range(n_t):
                    for r in range(n_r):
                        v = series[m, g, s, t, r]
                        gt[g, t, r] += v
                        gc[g, c, r] += v
        if want[6]:
            for cell in range(n_g * n_t * n_corp):
                for r in range(n_r):
                    out_group[cell, m, r] = 0
            for g in range(n_g):
                for s in range(n_s):
                    c = slot_corp[s, g]
                    if c < 0:
                        continue
                    for t in range(n_t):
                        cell = (g * n_t + t) * n_corp + c
                        for r in range(n_r):
                            out_group[cell, m, r] = series[m, g, s, t, r]
        if want[4]:
            for g in range(n_g):
                for t in range(n_t):
                    for r in range(n_r):
                        out_gt[g * n_t + t, m, r] = gt[g, t, r]
        if want[5]:
            for g in range(n_g):
                for c in range(n_corp):
                    for r in range(n_r):
                        out_gc[g * n_corp + c, m, r] = gc[g, c, r]
        if want[3]:
            for c in range(n_corp):
                acc[:] = 0
                for g in range(n_g):
                    for r in range(n_r):
                        acc[r] += gc[g, c, r]
                for r in range(n_r):
                    out_c[c, m, r] = acc[r]
        if want[2]:
            for t in range(n_t):
                acc[:] = 0
                for g in range(n_g):
                    for r in range(n_r):
                        acc[r] += gt[g, t, r]
                for r in range(n_r):
                    out_t[t, m, r] = acc[r]
        total = np.zeros(n_r, np.int32)
        for g in range(n_g):
            acc[:] = 0
            for t in range(n_t):
                for r in range(n_r):
                    acc[r] += gt[g, t, r]
            for r in range(n_r):
                total[r] += acc[r]
            if want[1]:
                for r in range(n_r):
                    out_g[g, m, r] = acc[r]
        if want[0]:
            for r in range(n_r):
                out_total[0, m, r] = total[r]


@nb.njit(**_JIT)
def count_values(data: Any, lo: int, counts: Any) -> None:
    """counts[cell, m, value - lo] += 1 for every run's value in data (cells, M, R).

    Four interleaved partial counts per row break the store-to-load dependency of repeated
    values (the runs of one cell cluster on a few values)."""
    n_cells, n_m, n_r = data.shape
    part = np.zeros((4, 64), np.int32)
    for cell in range(n_cells):
        for m in range(n_m):
            row = data[cell, m]
            low = row[0]
            high = row[0]
            for r in range(n_r):
                low = min(low, row[r])
                high = max(high, row[r])
            width = high - low + 1
            if width == 1:  # every run has the same value (absent groups, fixed months)
                counts[cell, m, low - lo] += n_r
                continue
            if width > 64:
                for r in range(n_r):
                    counts[cell, m, row[r] - lo] += 1
                continue
            for k in range(4):
                for v in range(width):
                    part[k, v] = 0
            for r in range(n_r):
                part[r & 3, row[r] - low] += 1
            base = low - lo
            for v in range(width):
                counts[cell, m, base + v] += part[0, v] + part[1, v] + part[2, v] + part[3, v]


def warm_up() -> None:
    """Compile (or load from cache) every kernel on a tiny input."""
    data = np.zeros((1, 1, 1), np.int32)
    count_values(data, 0, np.zeros((1, 1, 1), np.int64))


I32 = NDArray[np.int32]
