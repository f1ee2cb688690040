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
def _split(total: int, weights: Any, out: Any, n: int, use32: bool, eps: float) -> None:
    """Cumulative rounding of ``total`` over ``weights[:n]`` (see engine.split_proportional)."""
    whole = 0
    for k in range(n):
        whole += weights[k]
    ratio = np.float64(total) / np.float64(max(whole, 1))
    prev = np.int32(0)
    run = 0
    if use32:
        r32 = np.float32(ratio)
        e32 = np.float32(eps)
        for k in range(n):
            run += weights[k]
            # Truncation is floor here: every term is >= 0.
            cum = np.int32(np.float32(np.float32(run) * r32) + e32)
            out[k] = cum - prev
            prev = cum
    else:
        for k in range(n):
            run += weights[k]
            cum = np.int32(np.float64(run) * ratio + eps)
            out[k] = cum - prev
            prev = cum


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
    out_occupancy: Any,  # (M, R, G, C, T) int32 (memory order of the chunk buffers)
    out_placements: Any,
    out_move_outs: Any,
    out_waiting: Any,  # (M, R, G, T) int32
    out_shortfall: Any,
    out_inflow: Any,
    out_used: Any,  # (M, R, G, C) int32
    out_left: Any,
) -> None:
    n_m = capacity.shape[0]
    n_c = capacity.shape[1]
    n_t = capacity.shape[2]
    n_g = capacity.shape[4]
    n_p = pool_start.shape[1]
    n_l = los.shape[1]
    n_proj = pipe_c.shape[0]
    n_pairs = n_runs * n_g
    drawn = uniforms.shape[0] > 0
    # State per (run, gemeente) pair; pair = r * G + g, so consecutive pairs write neighbouring
    # cells of the (..., R, G) outputs. Months are the outer loop: one month's outputs stay in
    # cache while every pair writes them (pair-outer order was memory-bound).
    waiting = np.empty((n_pairs, n_t), np.int32)
    placed_stay = np.zeros((n_pairs, n_c, n_t), np.int32)
    blocked = np.zeros((n_pairs, n_c, n_t), np.int32)
    extra = np.zeros((n_pairs, n_c, n_t), np.int32)
    left = np.empty((n_pairs, n_c, n_p), np.int32)
    # due[pair, t, m]: expected stays ending in month m, added forward when people are placed
    # (float64: float32 sums drift past the 1e-6 rounding over long horizons).
    due = np.zeros((n_pairs, n_t, n_m), np.float64)
    expected_out = np.zeros((n_pairs, n_t), np.float64)
    realised_out = np.zeros((n_pairs, n_t), np.float64)
    for pair in range(n_pairs):
        g = pair % n_g
        for t in range(n_t):
            waiting[pair, t] = waiting0[g, t]
        for c in range(n_c):
            for p in range(n_p):
                left[pair, c, p] = pool_start[c, p, 0, g]
    staying = np.zeros((n_c, n_t), np.int32)
    leavers = np.zeros((n_c, n_t), np.int32)
    ready = np.zeros((n_c, n_t), np.int32)
    allowed = np.zeros((n_c, n_t), np.int32)
    moved = np.zeros((n_c, n_t), np.int32)
    offer = np.zeros((n_c, n_t), np.int32)
    placed = np.zeros((n_c, n_t), np.int32)
    arrivals = np.zeros(n_t, np.int32)
    col = np.zeros(n_c, np.int32)
    col_out = np.zeros(n_c, np.int32)
    row = np.zeros(n_t, np.int32)
    row_out = np.zeros(n_t, np.int32)
    for m in range(n_m):
        year = year_of[m]
        for pair in range(n_pairs):
            r = pair // n_g
            g = pair % n_g
            lf = left[pair]
            # 1. January: the year's contingent replaces what was left.
            if m > 0 and january[m]:
                for c in range(n_c):
                    for p in range(n_p):
                        lf[c, p] = pool_amount[year, c, p, 0, g]
            # 2. Inflow by inverse CDF.
            for t in range(n_t):
                if drawn:
                    u = uniforms[m, t, r, g]
                    k = 0
                    for j in range(kmax[m]):  # the table is non-decreasing: stop at the first
                        if u > cdf[m, j, t, 0, g]:
                            k += 1
                        else:
                            break
                    arrivals[t] = k
                else:
                    arrivals[t] = det_inflow[m, t, 0, g]
                waiting[pair, t] += arrivals[t]
            # 3. Pipeline projects opening this month.
            for q in range(n_proj):
                if pipe_g[q] != g:
                    continue
                o = opening[q, r]
                if (m > 0 and o == m) or (m == 0 and o <= 0):
                    extra[pair, pipe_c[q], pipe_t[q]] += pipe_places[q]
            # 4. Stays that end (cohort convolution, cumulative rounding).
            for t in range(n_t):
                if m > 0:
                    expected_out[pair, t] += due[pair, t, m]
                total = 0
                for c in range(n_c):
                    s = placed_stay[pair, c, t]
                    if moving_on_uses:
                        s -= blocked[pair, c, t]
                    staying[c, t] = s
                    col[c] = s
                    total += s
                target = np.rint(np.rint(expected_out[pair, t] * 1e6) / 1e6)
                e = max(min(target - realised_out[pair, t], np.float64(total)), 0.0)
                ending = np.int32(e)
                realised_out[pair, t] += ending
                _split(ending, col, col_out, n_c, use32, eps)
                for c in range(n_c):
                    leavers[c, t] = col_out[c]
            # 5. Moving on needs contingent; the rest stays blocked.
            if moving_on_uses:
                for c in range(n_c):
                    for t in range(n_t):
                        ready[c, t] = (leavers[c, t] + blocked[pair, c, t]) * moving[t]
                if n_p == 1:
                    for c in range(n_c):
                        need_c = 0
                        for t in range(n_t):
                            need_c += ready[c, t]
                        if need_c > lf[c, 0]:
                            for t in range(n_t):
                                row[t] = ready[c, t]
                            _split(min(need_c, lf[c, 0]), row, row_out, n_t, use32, eps)
                            for t in range(n_t):
                                allowed[c, t] = row_out[t]
                        else:
                            for t in range(n_t):
                                allowed[c, t] = ready[c, t]
                        for t in range(n_t):
                            lf[c, 0] -= allowed[c, t]
                else:
                    for c in range(n_c):
                        for t in range(n_t):
                            allowed[c, t] = min(ready[c, t], lf[c, t])
                            lf[c, t] -= allowed[c, t]
                for c in range(n_c):
                    for t in range(n_t):
                        blocked[pair, c, t] = ready[c, t] - allowed[c, t]
                        moved[c, t] = leavers[c, t] - leavers[c, t] * moving[t] + allowed[c, t]
            else:
                for c in range(n_c):
                    for t in range(n_t):
                        moved[c, t] = leavers[c, t]
            # 6. Placements, limited by free places and contingent.
            for c in range(n_c):
                for t in range(n_t):
                    placed_stay[pair, c, t] -= moved[c, t]
                    occupied = initial_left[m + 1, c, t, 0, g] + placed_stay[pair, c, t]
                    free = max(capacity[m, c, t, 0, g] + extra[pair, c, t] - occupied, 0)
                    if uses[t]:
                        offer[c, t] = min(free, lf[c, 0 if n_p == 1 else t])
                    else:
                        offer[c, t] = free
            for t in range(n_t):
                supply = 0
                for c in range(n_c):
                    col[c] = offer[c, t]
                    supply += offer[c, t]
                _split(min(waiting[pair, t], supply), col, col_out, n_c, use32, eps)
                for c in range(n_c):
                    placed[c, t] = col_out[c]
            if n_p == 1 and n_t > 1:
                for c in range(n_c):
                    need_c = 0
                    for t in range(n_t):
                        row[t] = placed[c, t] * uses[t]
                        need_c += row[t]
                    if need_c > lf[c, 0]:
                        _split(min(need_c, lf[c, 0]), row, row_out, n_t, use32, eps)
                        for t in range(n_t):
                            if uses[t]:
                                placed[c, t] = row_out[t]
            for c in range(n_c):
                for t in range(n_t):
                    if uses[t]:
                        lf[c, 0 if n_p == 1 else t] -= placed[c, t]
            # Bookkeeping and outputs.
            for t in range(n_t):
                placed_t = 0
                blocked_t = 0
                for c in range(n_c):
                    placed_stay[pair, c, t] += placed[c, t]
                    placed_t += placed[c, t]
                    blocked_t += blocked[pair, c, t]
                    out_occupancy[m, r, g, c, t] = (
                        initial_left[m + 1, c, t, 0, g] + placed_stay[pair, c, t]
                    )
                    out_placements[m, r, g, c, t] = placed[c, t]
                    out_move_outs[m, r, g, c, t] = (
                        moved[c, t] + initial_left[m, c, t, 0, g] - initial_left[m + 1, c, t, 0, g]
                    )
                waiting[pair, t] -= placed_t
                if placed_t > 0:
                    h = np.float64(placed_t)
                    for d in range(1, min(n_l, n_m - m)):
                        due[pair, t, m + d] += h * los[t, d]
                out_waiting[m, r, g, t] = waiting[pair, t]
                out_inflow[m, r, g, t] = arrivals[t]
                out_shortfall[m, r, g, t] = waiting[pair, t] + (blocked_t if moving_on_uses else 0)
            for c in range(n_c):
                left_c = 0
                amount = 0
                for p in range(n_p):
                    left_c += lf[c, p]
                    amount += pool_amount[year, c, p, 0, g]
                out_left[m, r, g, c] = left_c
                out_used[m, r, g, c] = amount - left_c


@nb.njit(**_JIT)
def level_sums(
    series: Any,  # (M, R, G, S, T) int32: S = 1 without corporation axis, T = 1 without type
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
    """Per-run sums of one output at every wanted level (cells in g, t, c order)."""
    n_m, n_r, n_g, n_s, n_t = series.shape
    gt = np.zeros((n_r, n_g, n_t), np.int32)
    gc = np.zeros((n_r, n_g, n_corp), np.int32)
    for m in range(n_m):
        gt[:] = 0
        gc[:] = 0
        # Read in memory order.
        for r in range(n_r):
            for g in range(n_g):
                for s in range(n_s):
                    c = slot_corp[s, g]
                    if c < 0:
                        continue
                    for t in range(n_t):
                        v = series[m, r, g, s, t]
                        gt[r, g, t] += v
                        gc[r, g, c] += v
        if want[6]:
            for cell in range(n_g * n_t * n_corp):
                for r in range(n_r):
                    out_group[cell, m, r] = 0
            for r in range(n_r):
                for g in range(n_g):
                    for s in range(n_s):
                        c = slot_corp[s, g]
                        if c < 0:
                            continue
                        for t in range(n_t):
                            out_group[(g * n_t + t) * n_corp + c, m, r] = series[m, r, g, s, t]
        if want[4]:
            for g in range(n_g):
                for t in range(n_t):
                    for r in range(n_r):
                        out_gt[g * n_t + t, m, r] = gt[r, g, t]
        if want[5]:
            for g in range(n_g):
                for c in range(n_corp):
                    for r in range(n_r):
                        out_gc[g * n_corp + c, m, r] = gc[r, g, c]
        if want[3]:
            for c in range(n_corp):
                for r in range(n_r):
                    acc = 0
                    for g in range(n_g):
                        acc += gc[r, g, c]
                    out_c[c, m, r] = acc
        if want[2]:
            for t in range(n_t):
                for r in range(n_r):
                    acc = 0
                    for g in range(n_g):
                        acc += gt[r, g, t]
                    out_t[t, m, r] = acc
        for r in range(n_r):
            total = 0
            for g in range(n_g):
                acc = 0
                for t in range(n_t):
                    acc += gt[r, g, t]
                total += acc
                if want[1]:
                    out_g[g, m, r] = acc
            if want[0]:
                out_total[0, m, r] = total


@nb.njit(**_JIT)
def count_values(data: Any, lo: int, counts: Any) -> None:
    """counts[cell, m, value - lo] += 1 for every run's value in data (cells, M, R)."""
    n_cells, n_m, n_r = data.shape
    for row in range(n_cells * n_m):
        cell = row // n_m
        m = row % n_m
        for r in range(n_r):
            counts[cell, m, data[cell, m, r] - lo] += 1


def warm_up() -> None:
    """Compile (or load from cache) every kernel on a tiny input."""
    data = np.zeros((1, 1, 1), np.int32)
    count_values(data, 0, np.zeros((1, 1, 1), np.int64))


I32 = NDArray[np.int32]
