"""Candidate pairs for screening: a superset of the eligible pairs without a youths x options loop.

Youths without a search radius take, per housing type that passes their type-level rules, every
option of that type; youths with a radius take the options within the radius of one of their
anchors, found with a uniform grid over the option points (one grid per type, each anchor scans
the rows of cells its radius square covers, then the exact radius check of ``rule_distance``).
Pairs come in chunks of about ``CHUNK_PAIRS`` to bound memory; ``matcher.rules.screen`` applies
the remaining rules to each chunk.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from matcher.rules.arrays import BoolArray, IntArray, RoundArrays

__all__ = ["CHUNK_PAIRS", "candidate_chunks", "radius_candidates"]

# Candidate pairs handled per chunk: bounds peak memory (about 100 bytes a pair).
CHUNK_PAIRS = 1_000_000


def candidate_chunks(arr: RoundArrays, ok_yt: BoolArray, option_ok: BoolArray) -> Iterator[
    tuple[IntArray, IntArray]
]:  # fmt: skip
    """Candidate (youth, option) chunks: a superset of the eligible pairs, each pair once.

    Youths with a search radius take the options within the radius of one of their anchors
    (grid scan, ``radius_candidates``); the others take every option of each type that passes
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
    yield from radius_candidates(arr, ok_yt, lim_y, grid_opts)


def radius_candidates(
    arr: RoundArrays, ok_yt: BoolArray, lim_y: IntArray, grid_opts: IntArray
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
