"""Aggregation levels and exact run quantiles with bounded memory.

Per-run series are summed to the requested levels (``total``, ``gemeente``, ``type``,
``corporation``, ``gemeente_type``, ``gemeente_corporation``, ``group``) inside each chunk, and
their values are counted in an integer histogram per (cell, month). Histograms merge exactly
across chunks, so quantiles are exact order statistics of all runs while memory grows with the
value range, not with the number of runs. Quantiles follow NumPy's ``inverted_cdf``: P10 is the
smallest value v such that at least 10 % of the runs are <= v.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from supply.engine import (
    CONTINGENT_OUTPUTS,
    DEMAND_OUTPUTS,
    GROUP_OUTPUTS,
    ChunkSeries,
    memory_order,
)
from supply.kernel import count_values, level_sums
from supply.model import FloatArray, IntArray, SupplyInputError

LEVELS: dict[str, tuple[str, ...]] = {
    "total": (),
    "gemeente": ("g",),
    "type": ("t",),
    "corporation": ("c",),
    "gemeente_type": ("g", "t"),
    "gemeente_corporation": ("g", "c"),
    "group": ("g", "t", "c"),
}
DEFAULT_LEVELS = (
    "total",
    "gemeente",
    "type",
    "corporation",
    "gemeente_type",
    "gemeente_corporation",
)
OUTPUTS = GROUP_OUTPUTS + DEMAND_OUTPUTS + CONTINGENT_OUTPUTS
# Internal layout of each output's per-run array, after the month axis.
OUTPUT_DIMS: dict[str, tuple[str, ...]] = {
    **{name: ("c", "t", "r", "g") for name in GROUP_OUTPUTS},
    **{name: ("t", "r", "g") for name in DEMAND_OUTPUTS},
    **{name: ("c", "r", "g") for name in CONTINGENT_OUTPUTS},
}


def level_applies(output: str, level: str) -> bool:
    """Whether ``output`` can be reported at ``level`` (waiting has no corporation, contingent
    no type)."""
    return set(LEVELS[level]) <= set(OUTPUT_DIMS[output]) - {"r"}


def check_levels(levels: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [lv for lv in levels if lv not in LEVELS]
    if unknown:
        raise SupplyInputError(
            f"levels: onbekend niveau {unknown[0]!r} (kies uit {', '.join(LEVELS)})"
        )
    if not levels:
        raise SupplyInputError("levels: geef minstens één niveau")
    return tuple(dict.fromkeys(levels))


def expand_slots(
    arr: NDArray[np.int32], dims: tuple[str, ...], slot_corp: NDArray[np.int64], n_corp: int
) -> NDArray[np.int32]:
    """Slot axis ``c`` -> corporation axis (needs ``g`` in ``dims``); arr is (M, *dims)."""
    ci, gi = 1 + dims.index("c"), 1 + dims.index("g")
    moved = np.moveaxis(arr, (ci, gi), (0, 1))  # (S, G, ...)
    out = np.zeros((n_corp, *moved.shape[1:]), arr.dtype)
    s_idx, g_idx = np.nonzero(slot_corp >= 0)
    out[slot_corp[s_idx, g_idx], g_idx] = moved[s_idx, g_idx]
    return np.moveaxis(out, (0, 1), (ci, gi))


def aggregate(
    series: NDArray[np.int32],
    output: str,
    level: str,
    slot_corp: NDArray[np.int64] | None = None,
    n_corp: int | None = None,
) -> NDArray[np.int32]:
    """Per-run array (M, *dims) -> (cells, M, R) summed to ``level``; cells in g, t, c order."""
    return aggregate_levels(series, output, (level,), slot_corp, n_corp)[level]


def aggregate_levels(
    series: NDArray[np.int32],
    output: str,
    levels: tuple[str, ...],
    slot_corp: NDArray[np.int64] | None = None,
    n_corp: int | None = None,
) -> dict[str, NDArray[np.int32]]:
    """Per-run sums at several levels at once, each finer sum reused for the coarser ones.

    The engine's ``c`` axis holds corporation slots per gemeente (``slot_corp``, see
    ``engine.corporation_slots``); levels that keep the corporation are summed in slot space
    with the gemeente kept, then spread to corporations. Returns (cells, M, R) arrays; sums stay
    in int32 and run over outer axes (fast).
    """
    dims = OUTPUT_DIMS[output]
    Key = frozenset[str]
    sums: dict[Key, tuple[NDArray[np.int32], tuple[str, ...]]] = {
        frozenset(d for d in dims if d != "r"): (series, dims)
    }
    corp_sums: dict[Key, tuple[NDArray[np.int32], tuple[str, ...]]] = {}

    def reduce(
        cache: dict[Key, tuple[NDArray[np.int32], tuple[str, ...]]], keep: Key
    ) -> tuple[NDArray[np.int32], tuple[str, ...]]:
        # Sum from the smallest cached superset, dropping one dimension at a time.
        while keep not in cache:
            source = min((k for k in cache if keep < k), key=len)
            arr, src_dims = cache[source]
            drop = sorted(source - keep)[0]
            summed = arr.sum(axis=1 + src_dims.index(drop), dtype=np.int32)
            cache[frozenset(source - {drop})] = (summed, tuple(d for d in src_dims if d != drop))
        return cache[keep]

    def get(keep: Key) -> tuple[NDArray[np.int32], tuple[str, ...]]:
        if "c" not in keep or slot_corp is None:
            return reduce(sums, keep)
        if keep in corp_sums:
            return corp_sums[keep]
        with_g = keep | {"g"}
        if with_g not in corp_sums:
            arr, arr_dims = reduce(sums, with_g)
            corp_sums[with_g] = (expand_slots(arr, arr_dims, slot_corp, n_corp or 0), arr_dims)
        return reduce(corp_sums, keep)

    out = {}
    for level in sorted(levels, key=lambda lv: -len(LEVELS[lv])):
        if not level_applies(output, level):
            continue
        arr, arr_dims = get(frozenset(LEVELS[level]))
        order = [1 + arr_dims.index(d) for d in LEVELS[level]] + [0, 1 + arr_dims.index("r")]
        moved = np.transpose(arr, order)
        out[level] = moved.reshape(-1, moved.shape[-2], moved.shape[-1])
    return out


_LEVEL_ORDER = (
    "total",
    "gemeente",
    "type",
    "corporation",
    "gemeente_type",
    "gemeente_corporation",
    "group",
)


def compiled_level_sums(
    series: ChunkSeries, output: str, levels: tuple[str, ...]
) -> dict[str, NDArray[np.int32]]:
    """``aggregate_levels`` for one output of a chunk, with the compiled kernel (same result,
    tested): (cells, M, R) per level that applies."""
    arr = memory_order(getattr(series, output))  # (M, G, ...)
    dims = OUTPUT_DIMS[output]
    n_m = arr.shape[0]
    if dims == ("t", "r", "g"):
        arr5 = arr[:, :, None, :, :]  # (M, G, 1, T, R)
        slot_corp = np.zeros((1, arr.shape[1]), np.int64)
        n_corp = 1
    elif dims == ("c", "r", "g"):
        arr5 = arr[:, :, :, None, :]  # (M, G, S, 1, R)
        slot_corp, n_corp = series.slot_corp, series.n_corp
    else:
        arr5 = arr
        slot_corp, n_corp = series.slot_corp, series.n_corp
    _, n_g, _, n_t, n_r = arr5.shape
    sizes = {
        "total": 1,
        "gemeente": n_g,
        "type": n_t,
        "corporation": n_corp,
        "gemeente_type": n_g * n_t,
        "gemeente_corporation": n_g * n_corp,
        "group": n_g * n_t * n_corp,
    }
    wanted = [lv for lv in levels if level_applies(output, lv)]
    outs = {
        lv: np.empty((sizes[lv] if lv in wanted else 0, n_m, n_r), np.int32) for lv in _LEVEL_ORDER
    }
    want = np.array([lv in wanted for lv in _LEVEL_ORDER])
    level_sums(
        arr5,
        np.ascontiguousarray(slot_corp, dtype=np.int64),
        n_corp,
        want,
        *(outs[lv] for lv in _LEVEL_ORDER),
    )
    return {lv: outs[lv] for lv in wanted}


def level_cells(
    level: str, gemeenten: tuple[str, ...], types: tuple[str, ...], corporations: tuple[str, ...]
) -> list[tuple[str, ...]]:
    """The cell keys of a level, in the order ``aggregate`` produces them."""
    axes = {"g": gemeenten, "t": types, "c": corporations}
    cells: list[tuple[str, ...]] = [()]
    for dim in LEVELS[level]:
        cells = [(*cell, code) for cell in cells for code in axes[dim]]
    return cells


class Histogram:
    """Counts of integer values per (cell, month); grows its value range when needed."""

    def __init__(self, cells: int, months: int) -> None:
        self.cells = cells
        self.months = months
        self.lo = 0
        self.width = 0
        self.counts = np.zeros((cells, months, 0), np.int64)
        self.runs = 0

    def _ensure(self, lo: int, hi: int) -> None:
        """Grow the value range to cover lo..hi."""
        if self.width == 0:
            self.lo, self.width = lo, hi - lo + 1
            self.counts = np.zeros((self.cells, self.months, self.width), np.int64)
        elif lo < self.lo or hi >= self.lo + self.width:
            new_lo = min(lo, self.lo)
            new_width = max(hi, self.lo + self.width - 1) - new_lo + 1
            grown = np.zeros((self.cells, self.months, new_width), np.int64)
            shift = self.lo - new_lo
            grown[:, :, shift : shift + self.width] = self.counts
            self.lo, self.width, self.counts = new_lo, new_width, grown

    def add(self, data: NDArray[np.int32] | NDArray[np.int64]) -> None:
        """Count ``data`` (cells, M, R)."""
        if data.shape[2] == 0:
            return
        self._ensure(int(data.min()), int(data.max()))
        count_values(np.ascontiguousarray(data), self.lo, self.counts)
        self.runs += data.shape[2]

    def merge(self, other: Histogram) -> None:
        """Add another histogram of the same cells and months (exact)."""
        if other.runs == 0:
            return
        self._ensure(other.lo, other.lo + other.width - 1)
        shift = other.lo - self.lo
        self.counts[:, :, shift : shift + other.width] += other.counts
        self.runs += other.runs

    def quantiles(self, qs: tuple[float, ...]) -> IntArray:
        """(Q, cells, M) exact quantiles (inverted CDF) over all counted runs."""
        cum = np.cumsum(self.counts, axis=2)
        out = np.empty((len(qs), self.cells, self.months), np.int64)
        for i, q in enumerate(qs):
            rank = max(1, int(np.ceil(q * self.runs - 1e-9)))
            out[i] = np.argmax(cum >= rank, axis=2) + self.lo
        return out

    def mean(self) -> FloatArray:
        values = np.arange(self.lo, self.lo + self.width, dtype=np.float64)
        return np.asarray(self.counts @ values / max(self.runs, 1), np.float64)


@dataclass(frozen=True)
class LevelStats:
    """Quantiles and mean of one output at one level: arrays (cells, M)."""

    output: str
    level: str
    cells: tuple[tuple[str, ...], ...]
    quantiles: dict[float, IntArray]
    mean: FloatArray
    # (cells, M) True where small-cell protection hid the figures (supply.disclosure); None:
    # nothing hidden (outputs about places, or unprotected engine output)
    hidden: NDArray[np.bool_] | None = None

    def shown(self, ci: int, mi: int) -> bool:
        """Whether the figures of cell ``ci`` in month ``mi`` may be shown."""
        return self.hidden is None or not bool(self.hidden[ci, mi])

    def cell_index(self, *codes: str) -> int:
        try:
            return self.cells.index(tuple(codes))
        except ValueError:
            raise KeyError(f"{self.level}: geen cel {codes!r}") from None


class Accumulator:
    """Histograms for every (output, level) of a projection, fed chunk by chunk."""

    def __init__(
        self, outputs: tuple[str, ...], levels: tuple[str, ...], cell_counts: dict[str, int], m: int
    ) -> None:
        self.pairs = [(o, lv) for o in outputs for lv in levels if level_applies(o, lv)]
        self.hist = {(o, lv): Histogram(cell_counts[lv], m) for o, lv in self.pairs}

    def add(self, series: ChunkSeries, minus: ChunkSeries | None = None) -> None:
        """Count one chunk; with ``minus`` count the per-run paired difference."""
        for output in dict.fromkeys(o for o, _ in self.pairs):
            levels = tuple(lv for o, lv in self.pairs if o == output)
            data = compiled_level_sums(series, output, levels)
            if minus is not None:
                other = compiled_level_sums(minus, output, levels)
                data = {lv: data[lv] - other[lv] for lv in data}
            for level, arr in data.items():
                self.hist[(output, level)].add(arr)

    def merge(self, other: Accumulator) -> None:
        for key, hist in self.hist.items():
            hist.merge(other.hist[key])

    def stats(
        self,
        qs: tuple[float, ...],
        cells: dict[str, list[tuple[str, ...]]],
    ) -> dict[tuple[str, str], LevelStats]:
        out = {}
        for (output, level), hist in self.hist.items():
            quant = hist.quantiles(qs)
            out[(output, level)] = LevelStats(
                output=output,
                level=level,
                cells=tuple(cells[level]),
                quantiles={q: quant[i] for i, q in enumerate(qs)},
                mean=hist.mean(),
            )
        return out
