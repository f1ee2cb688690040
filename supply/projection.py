"""Monte Carlo projection: settings, chunked runs, results and CSV export.

Runs are simulated in chunks of ``chunk_size`` side by side; every chunk gets its own child of
``numpy.random.SeedSequence(seed)``, so a projection is reproducible for a given seed, number of
runs and chunk size (changing the chunk size changes which random numbers a run sees). Chunks
can run on ``workers`` threads (NumPy releases the GIL in its array loops); results do not depend
on the number of workers.
"""

from __future__ import annotations

import csv
import multiprocessing
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from supply.engine import (
    ChunkSeries,
    InflowMode,
    Prepared,
    new_chunk_series,
    prepare,
    simulate_chunk,
    tune_allocator,
)
from supply.model import SupplyInputError, SupplyInputs
from supply.stats import (
    DEFAULT_LEVELS,
    OUTPUT_DIMS,
    OUTPUTS,
    Accumulator,
    LevelStats,
    check_levels,
    expand_slots,
    level_cells,
)

DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class ProjectionSettings:
    """How to run a projection.

    ``mode``: ``poisson`` or ``negbin`` (inflow drawn per month, gemeente and type; ``dispersion``
    is the negative-binomial size, variance = mean + mean^2 / dispersion) or ``deterministic``
    (expected inflow, rounded cumulatively to whole people; one run).
    """

    runs: int = 2000
    seed: int = 0
    mode: InflowMode = "poisson"
    dispersion: float | None = None
    chunk_size: int = 128
    workers: int = 1
    levels: tuple[str, ...] = DEFAULT_LEVELS
    outputs: tuple[str, ...] = OUTPUTS
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    tune_allocator: bool = True  # see supply.engine.tune_allocator (glibc, process-wide)
    parallel: Literal["threads", "processes"] = "threads"

    def __post_init__(self) -> None:
        if self.mode not in ("poisson", "negbin", "deterministic"):
            raise SupplyInputError(f"mode: onbekende modus {self.mode!r}")
        if self.runs < 1:
            raise SupplyInputError("runs: minstens 1 run")
        if self.chunk_size < 1 or self.workers < 1:
            raise SupplyInputError("chunk_size en workers: minstens 1")
        check_levels(self.levels)
        bad = [o for o in self.outputs if o not in OUTPUTS]
        if bad:
            raise SupplyInputError(f"outputs: onbekende uitkomst {bad[0]!r}")
        if self.parallel not in ("threads", "processes"):
            raise SupplyInputError(f"parallel: kies threads of processes, niet {self.parallel!r}")
        if any(not 0 < q < 1 for q in self.quantiles):
            raise SupplyInputError("quantiles: kwantielen liggen tussen 0 en 1")

    @property
    def effective_runs(self) -> int:
        return 1 if self.mode == "deterministic" else self.runs


@dataclass(frozen=True)
class Projection:
    """Quantiles and means per output, level, cell and month."""

    start: date
    months: int
    gemeenten: tuple[str, ...]
    types: tuple[str, ...]
    corporations: tuple[str, ...]
    settings: ProjectionSettings
    runs: int
    stats: dict[tuple[str, str], LevelStats] = field(repr=False)

    def get(self, output: str, level: str) -> LevelStats:
        try:
            return self.stats[(output, level)]
        except KeyError:
            raise KeyError(f"geen uitkomst {output!r} op niveau {level!r} berekend") from None

    def month_dates(self) -> list[date]:
        from supply.model import month_at

        return [month_at(self.start, i) for i in range(self.months)]

    def rows(self) -> Iterator[dict[str, Any]]:
        """One row per output, level, cell and month: mean and the quantiles."""
        dates = self.month_dates()
        for (output, level), st in sorted(self.stats.items()):
            for ci, cell in enumerate(st.cells):
                for mi, month in enumerate(dates):
                    shown = st.shown(ci, mi)
                    row: dict[str, Any] = {
                        "output": output,
                        "level": level,
                        "cell": "|".join(cell) or "totaal",
                        "month": month.strftime("%Y-%m"),
                        "mean": round(float(st.mean[ci, mi]), 4) if shown else None,
                    }
                    for q, arr in st.quantiles.items():
                        row[f"p{round(q * 100)}"] = int(arr[ci, mi]) if shown else None
                    row["hidden"] = not shown
                    yield row


def chunk_plan(runs: int, chunk_size: int) -> list[int]:
    """Run counts per chunk."""
    full, rest = divmod(runs, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def run_chunks(
    preps: list[tuple[Prepared, NDArray[np.int64]]],
    settings: ProjectionSettings,
    consume: Callable[[list[ChunkSeries]], None],
    progress: Callable[[int, int], None] | None = None,
    chunk_ids: Sequence[int] | None = None,
) -> int:
    """Simulate chunks for one or more prepared inputs with common random numbers.

    Each prepared input sees the same generators per chunk (common random numbers); ``consume``
    gets the list of chunk series in input order. ``chunk_ids`` limits the run to some chunks of
    the plan (their seeds stay those of the whole plan). Returns the number of runs simulated.
    Threads are used when ``settings.workers > 1`` (``accumulate`` handles processes).
    """
    if settings.tune_allocator:
        tune_allocator()
    runs = settings.effective_runs
    plan = chunk_plan(runs, settings.chunk_size)
    children = np.random.SeedSequence(settings.seed).spawn(len(plan))
    ids = list(range(len(plan)) if chunk_ids is None else chunk_ids)
    if not ids:
        return 0
    runs = sum(plan[i] for i in ids)

    # Output buffers are recycled: at most workers + 2 chunks exist at once (the look-ahead
    # below plus the one being consumed), each holding one series per input.
    free: queue.Queue[list[ChunkSeries]] = queue.Queue()
    for _ in range(min(len(ids), settings.workers + 2)):
        free.put([new_chunk_series(prep, plan[0]) for prep, _ in preps])

    def work(i: int) -> list[ChunkSeries]:
        buffers = free.get()
        out = []
        for (prep, waiting), buffer in zip(preps, buffers, strict=True):
            # Fresh generators from the same seed sequence per input: common random numbers.
            inflow_ss, pipe_ss = np.random.SeedSequence(
                children[i].entropy, spawn_key=children[i].spawn_key
            ).spawn(2)
            inflow_rng = np.random.default_rng(inflow_ss)
            pipe_rng = np.random.default_rng(pipe_ss)
            out.append(simulate_chunk(prep, waiting, plan[i], inflow_rng, pipe_rng, buffer))
        return out

    def release(series: list[ChunkSeries]) -> None:
        if series[0].waiting.shape[2] == plan[0]:
            free.put(series)
        else:  # the smaller last chunk: hand back full-size buffers instead
            free.put([new_chunk_series(prep, plan[0]) for prep, _ in preps])

    done = 0
    if settings.workers == 1 or len(ids) == 1:
        results: Iterator[list[ChunkSeries]] = map(work, ids)
        for series in results:
            consume(series)
            release(series)
            done += 1
            if progress:
                progress(done, len(ids))
    else:
        with ThreadPoolExecutor(settings.workers) as pool:
            # Bounded look-ahead keeps at most a few chunks in memory at once.
            pending: list[Future[list[ChunkSeries]]] = []
            index = 0
            while index < len(ids) or pending:
                while index < len(ids) and len(pending) < settings.workers + 1:
                    pending.append(pool.submit(work, ids[index]))
                    index += 1
                series = pending.pop(0).result()
                consume(series)
                release(series)
                done += 1
                if progress:
                    progress(done, len(ids))
    return runs


def _feed(accs: list[Accumulator]) -> Callable[[list[ChunkSeries]], None]:
    """One input: count it. Two inputs: count each and their per-run paired difference."""

    def consume(series: list[ChunkSeries]) -> None:
        if len(series) == 1:
            accs[0].add(series[0])
        else:
            accs[0].add(series[0])
            accs[1].add(series[1])
            accs[2].add(series[1], minus=series[0])

    return consume


def _new_accs(
    n_inputs: int, settings: ProjectionSettings, counts: dict[str, int], months: int
) -> list[Accumulator]:
    n = 1 if n_inputs == 1 else 3
    return [Accumulator(settings.outputs, settings.levels, counts, months) for _ in range(n)]


def _accumulate_part(
    preps: list[tuple[Prepared, NDArray[np.int64]]],
    settings: ProjectionSettings,
    counts: dict[str, int],
    months: int,
    chunk_ids: list[int],
) -> tuple[list[Accumulator], int]:
    """Worker process: simulate some chunks and count them (module level: picklable)."""
    accs = _new_accs(len(preps), settings, counts, months)
    single = replace(settings, workers=1)
    runs = run_chunks(preps, single, _feed(accs), chunk_ids=chunk_ids)
    return accs, runs


def _accumulate_threads(
    preps: list[tuple[Prepared, NDArray[np.int64]]],
    settings: ProjectionSettings,
    counts: dict[str, int],
    months: int,
    plan: list[int],
    progress: Callable[[int, int], None] | None,
) -> tuple[list[Accumulator], int]:
    """Each thread simulates and counts its own share of the chunks into its own histograms
    (the compiled kernels release the GIL); histograms merge exactly, so the result is the
    same as with one thread."""
    parts = [list(range(w, len(plan), settings.workers)) for w in range(settings.workers)]
    parts = [p for p in parts if p]
    single = replace(settings, workers=1)
    lock = threading.Lock()
    done = [0]

    def tick(_done: int, _total: int) -> None:
        with lock:
            done[0] += 1
            if progress:
                progress(done[0], len(plan))

    def part(ids: list[int]) -> tuple[list[Accumulator], int]:
        accs = _new_accs(len(preps), settings, counts, months)
        return accs, run_chunks(preps, single, _feed(accs), progress=tick, chunk_ids=ids)

    with ThreadPoolExecutor(len(parts)) as pool:
        results = list(pool.map(part, parts))
    merged, runs = results[0]
    for accs, part_runs in results[1:]:
        for mine, theirs in zip(merged, accs, strict=True):
            mine.merge(theirs)
        runs += part_runs
    return merged, runs


def accumulate(
    preps: list[tuple[Prepared, NDArray[np.int64]]],
    settings: ProjectionSettings,
    counts: dict[str, int],
    months: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[Accumulator], int]:
    """Simulate every chunk and count the outputs: in this process (threads when
    ``workers > 1``) or, with ``parallel="processes"``, in worker processes that each count
    their share of the chunks; histograms merge exactly, so the result is the same."""
    plan = chunk_plan(settings.effective_runs, settings.chunk_size)
    if settings.workers == 1 or len(plan) == 1:
        accs = _new_accs(len(preps), settings, counts, months)
        runs = run_chunks(preps, settings, _feed(accs), progress=progress)
        return accs, runs
    if settings.parallel == "threads":
        return _accumulate_threads(preps, settings, counts, months, plan, progress)
    parts = [list(range(w, len(plan), settings.workers)) for w in range(settings.workers)]
    # "spawn": safe in processes that run threads (a web server); costs an import per worker.
    context = multiprocessing.get_context("spawn")
    merged: list[Accumulator] | None = None
    runs = 0
    with ProcessPoolExecutor(settings.workers, mp_context=context) as pool:
        futures = [
            pool.submit(_accumulate_part, preps, settings, counts, months, ids)
            for ids in parts
            if ids
        ]
        for done, future in enumerate(futures, start=1):
            accs, part_runs = future.result()
            runs += part_runs
            if merged is None:
                merged = accs
            else:
                for mine, theirs in zip(merged, accs, strict=True):
                    mine.merge(theirs)
            if progress:
                progress(done, len(futures))
    assert merged is not None
    return merged, runs


def _cells(inputs: SupplyInputs, levels: tuple[str, ...]) -> dict[str, list[tuple[str, ...]]]:
    return {
        lv: level_cells(lv, inputs.gemeenten, inputs.types, inputs.corporations) for lv in levels
    }


def project(
    inputs: SupplyInputs,
    settings: ProjectionSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Projection:
    """Run the Monte Carlo projection and return quantiles per output, level and month."""
    settings = settings or ProjectionSettings()
    prep = prepare(inputs, settings.mode, settings.dispersion)
    cells = _cells(inputs, settings.levels)
    counts = {k: len(v) for k, v in cells.items()}
    accs, runs = accumulate([(prep, inputs.waiting)], settings, counts, inputs.months, progress)
    acc = accs[0]
    return Projection(
        start=inputs.start,
        months=inputs.months,
        gemeenten=inputs.gemeenten,
        types=inputs.types,
        corporations=inputs.corporations,
        settings=settings,
        runs=runs,
        stats=acc.stats(settings.quantiles, cells),
    )


@dataclass(frozen=True)
class RunSeries:
    """Per-run monthly series in public axis order (for tests and small studies).

    group outputs (R, M, G, T, C); gemeente x type outputs (R, M, G, T); contingent (R, M, G, C).
    """

    arrays: dict[str, NDArray[np.int64]]

    def __getitem__(self, name: str) -> NDArray[np.int64]:
        return self.arrays[name]


def _public(series: ChunkSeries) -> dict[str, NDArray[np.int64]]:
    out: dict[str, NDArray[np.int64]] = {}
    for name in OUTPUTS:
        arr = getattr(series, name)
        dims = OUTPUT_DIMS[name]
        if "c" in dims:
            arr = expand_slots(arr, dims, series.slot_corp, series.n_corp)
        arr = arr.astype(np.int64)
        if arr.ndim == 5:  # (M, C, T, R, G) -> (R, M, G, T, C)
            out[name] = np.transpose(arr, (3, 0, 4, 2, 1))
        else:  # (M, X, R, G) -> (R, M, G, X)
            out[name] = np.transpose(arr, (2, 0, 3, 1))
    return out


def simulate(inputs: SupplyInputs, settings: ProjectionSettings | None = None) -> RunSeries:
    """All per-run series of a (small) projection; memory grows with runs x groups x months."""
    settings = settings or ProjectionSettings()
    prep = prepare(inputs, settings.mode, settings.dispersion)
    parts: list[dict[str, NDArray[np.int64]]] = []
    run_chunks([(prep, inputs.waiting)], settings, lambda s: parts.append(_public(s[0])))
    return RunSeries({k: np.concatenate([p[k] for p in parts]) for k in OUTPUTS})


CellGuard = Callable[[Any], Any]


def as_is(value: Any) -> Any:
    return value


def write_rows_csv(
    rows: Iterator[dict[str, Any]] | list[dict[str, Any]], path: Path, cell: CellGuard = as_is
) -> int:
    """Write dict rows as a ``;``-separated UTF-8 CSV (file-formats.md); returns the row count.

    ``cell`` passes every value on its way out: the adapters give the spreadsheet-formula guard
    (``store.csvio.spreadsheet_safe``), since cells hold names from imported files.
    """
    rows = list(rows)
    if not rows:
        raise SupplyInputError("geen rijen om te exporteren")
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows({k: cell(v) for k, v in row.items()} for row in rows)
    return len(rows)


def write_projection_csv(projection: Projection, path: Path, cell: CellGuard = as_is) -> int:
    """Export a projection (every output, level, cell, month) as CSV."""
    return write_rows_csv(projection.rows(), path, cell)
