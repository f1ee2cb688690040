"""Small-cell protection of projections: no figure about young people below the threshold.

A projection counts young people (waiting, shortfall, inflow, placements, occupancy, move-outs,
contingent use) per gemeente, type and corporation. In a small gemeente a count of 1 to 4 can
point at one person, so every figure that planners, gemeenten or maps see goes through
:func:`protect_projection` or :func:`protect_comparison` first (docs/privacy.md):

1. **Primary suppression.** A cell-month is hidden when any of its figures (the mean or a
   quantile) lies strictly between 0 and the threshold (default 5). Zero is shown: "nobody" is
   no disclosure about a person.
2. **Secondary suppression.** The levels add up: a gemeente is the sum of its types (and of its
   corporations), the total the sum of the gemeenten, and so on, exactly for the per-run
   counts and hence for the means. Where a sum and all but one of its parts are shown, the
   hidden part is their difference. So in every such sum (the whole and its parts, per output
   and month) either nothing or at least two entries are hidden: when exactly one is, the
   smallest shown part with a positive mean is hidden too (the whole if no part is left).
   Repeated until no sum has exactly one hidden entry.

Hidden figures are replaced, not only flagged: quantiles become -1 and means NaN, so a reader
that forgets ``hidden`` shows nonsense, never the count. ``contingent_left`` counts places, not
people, and is left as it is.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from supply.projection import Projection
from supply.scenario import Comparison
from supply.stats import LEVELS, LevelStats

PEOPLE_OUTPUTS = (
    "waiting",
    "shortfall",
    "inflow",
    "placements",
    "occupancy",
    "move_outs",
    "contingent_used",
)
HIDDEN_QUANTILE = -1

Entry = tuple[str, int]  # (level, cell index)


def about_people(output: str) -> bool:
    """Whether ``output`` counts young people (and is protected)."""
    return output in PEOPLE_OUTPUTS


def primary(st: LevelStats, threshold: int) -> NDArray[np.bool_]:
    """(cells, M): a figure of the cell-month lies in (0, threshold)."""
    hidden = (st.mean > 0) & (st.mean < threshold)
    for arr in st.quantiles.values():
        hidden |= (arr > 0) & (arr < threshold)
    return np.asarray(hidden, np.bool_)


def sums(stats: dict[str, LevelStats]) -> list[tuple[Entry, list[Entry]]]:
    """Every (whole, parts) that adds up among these levels of one output: a cell of a level
    and the cells of the level with one dimension more that share its codes."""
    out: list[tuple[Entry, list[Entry]]] = []
    for coarse, c_st in stats.items():
        c_dims = LEVELS[coarse]
        for fine, f_st in stats.items():
            f_dims = LEVELS[fine]
            if len(f_dims) != len(c_dims) + 1 or not set(c_dims) < set(f_dims):
                continue
            parts: dict[tuple[str, ...], list[Entry]] = {}
            for fi, cell in enumerate(f_st.cells):
                key = tuple(cell[f_dims.index(d)] for d in c_dims)
                parts.setdefault(key, []).append((fine, fi))
            for ci, cell in enumerate(c_st.cells):
                if parts.get(tuple(cell)):
                    out.append(((coarse, ci), parts[tuple(cell)]))
    return out


def secondary(
    hidden: dict[str, NDArray[np.bool_]],
    means: dict[str, NDArray[np.float64]],
    equations: list[tuple[Entry, list[Entry]]],
) -> None:
    """Complete ``hidden`` (level -> (cells, M), changed in place) so that no sum has exactly
    one hidden entry in any month. Each sum is checked for every month at once; a month's
    entries are picked as if the months were done one by one (the same sums in the same
    order), so the result does not depend on the vectorising."""
    changed = True
    while changed:
        changed = False
        for whole, parts in equations:
            entries = [whole, *parts]
            count = np.sum([hidden[lv][ci] for lv, ci in entries], axis=0)
            for mi in np.flatnonzero(count == 1):
                shown = [(lv, ci) for lv, ci in parts if not hidden[lv][ci, mi]]
                positive = [e for e in shown if means[e[0]][e[1], mi] > 0]
                pick = min(
                    positive or shown, key=lambda e: (means[e[0]][e[1], mi], e), default=None
                )
                if pick is None:  # every part hidden: the whole is the one left
                    pick = whole
                hidden[pick[0]][pick[1], mi] = True
                changed = True


def protect_output(stats: dict[str, LevelStats], threshold: int) -> dict[str, LevelStats]:
    """The levels of one output, protected (a new ``LevelStats`` per level)."""
    if threshold <= 1 or not stats:
        return stats
    hidden = {lv: primary(st, threshold) for lv, st in stats.items()}
    means = {lv: np.asarray(st.mean, np.float64) for lv, st in stats.items()}
    secondary(hidden, means, sums(stats))
    out = {}
    for lv, st in stats.items():
        mask = hidden[lv]
        mean = np.where(mask, np.nan, st.mean)
        quantiles = {
            q: np.where(mask, HIDDEN_QUANTILE, arr).astype(arr.dtype)
            for q, arr in st.quantiles.items()
        }
        out[lv] = replace(st, mean=mean, quantiles=quantiles, hidden=mask)
    return out


def protect_stats(
    stats: dict[tuple[str, str], LevelStats], threshold: int
) -> dict[tuple[str, str], LevelStats]:
    """Every (output, level) of a projection, the outputs about people protected."""
    by_output: dict[str, dict[str, LevelStats]] = {}
    for (output, level), st in stats.items():
        by_output.setdefault(output, {})[level] = st
    out = dict(stats)
    for output, levels in by_output.items():
        if about_people(output):
            for level, st in protect_output(levels, threshold).items():
                out[(output, level)] = st
    return out


def protect_projection(projection: Projection, threshold: int) -> Projection:
    """``projection`` with its figures about people protected."""
    return replace(projection, stats=protect_stats(projection.stats, threshold))


def protect_comparison(comparison: Comparison, threshold: int) -> Comparison:
    """Base and scenario protected; a difference is hidden where either side is (its figures
    set to 0 and the mean to NaN, and flagged)."""
    base = protect_stats(comparison.base, threshold)
    scenario = protect_stats(comparison.scenario, threshold)
    difference = dict(comparison.difference)
    for key, st in comparison.difference.items():
        b, s = base[key].hidden, scenario[key].hidden
        if b is None and s is None:
            continue
        mask = np.zeros(st.mean.shape, np.bool_)
        for side in (b, s):
            if side is not None:
                mask |= side
        difference[key] = replace(
            st,
            mean=np.where(mask, np.nan, st.mean),
            quantiles={q: np.where(mask, 0, a).astype(a.dtype) for q, a in st.quantiles.items()},
            hidden=mask,
        )
    return replace(comparison, base=base, scenario=scenario, difference=difference)
