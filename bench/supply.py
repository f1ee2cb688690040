"""Benchmark of the supply projection (issue 6).

11 gemeenten x 8 types x 10 corporations x 60 months x 10,000 runs (synthetic inputs; by default
three or four corporations work in each gemeente, as in real regions: ``--per-gemeente 10`` is the
dense worst case). Prints as its last line one JSON object with runs, months, groups, seconds,
peak_rss_mb, littles_law_error and a baseline measured in the same process: the NumPy reference
engine (the implementation before the compiled kernel) on 256 runs, extrapolated to the run count
(labelled as such). The compiled kernels are loaded (or compiled, in a fresh checkout) before the
timed run; that time is reported as ``kernel_load_seconds``.

Usage: python bench/supply.py [--runs N] [--workers W] [--levels total,gemeente,...]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from supply.engine import (
    corporation_slots,
    new_chunk_series,
    prepare,
    simulate_chunk_reference,
)
from supply.model import PipelineProject, SupplyInputs, los_uniform
from supply.projection import ProjectionSettings, project
from supply.stats import DEFAULT_LEVELS

GEMEENTEN = (
    "GM0796",
    "GM0828",
    "GM1948",
    "GM1721",
    "GM0757",
    "GM0845",
    "GM0865",
    "GM1991",
    "GM1982",
    "GM0755",
    "GM0797",
)
TYPES = ("friends", "kma", "mentorhuis", "housing_first", "bw_light", "urgentie", "kamer", "skills")
STAYS = ((12, 36), (12, 24), (6, 24), (12, 36), (12, 24), (24, 36), (6, 18), (18, 24))


def synthetic_inputs(months: int = 60, seed: int = 7, per_gemeente: int = 4) -> SupplyInputs:
    """A synthetic region of the benchmark's size (not real figures)."""
    rng = np.random.default_rng(seed)
    n_g, n_t, n_c = len(GEMEENTEN), len(TYPES), 10
    corps = tuple(f"CORP{i:02d}" for i in range(n_c))
    size = rng.uniform(0.3, 2.0, n_g)
    inflow = np.broadcast_to(
        (size[:, None] * rng.uniform(0.2, 0.8, n_t)[None, :])[None], (months, n_g, n_t)
    ).copy()
    # Which corporations work in which gemeente: all of them (dense, the worst case) or, as in
    # real regions and the demo fixtures, three or four per gemeente.
    present = np.ones((n_g, n_c), bool)
    if per_gemeente < n_c:
        present[:] = False
        for g in range(n_g):
            present[g, rng.choice(n_c, size=per_gemeente - g % 2, replace=False)] = True
    capacity = rng.integers(0, 8, (n_g, n_t, n_c)) * present[:, None, :]
    occupancy = (capacity * rng.uniform(0.5, 1.0, capacity.shape)).astype(np.int64)
    los = np.stack([los_uniform(lo, hi, 37) for lo, hi in STAYS])
    years = (months + 11) // 12 + 1
    contingent = rng.integers(0, 6, (years, n_g, n_c)) * present[None] * (n_c // per_gemeente)
    pipe_g = rng.integers(n_g, size=12)
    pipe_c = [int(rng.choice(np.nonzero(present[g])[0])) for g in pipe_g]
    pipeline = tuple(
        PipelineProject(
            gemeente=GEMEENTEN[int(pipe_g[i])],
            type_code=TYPES[int(rng.integers(n_t))],
            corporation=corps[pipe_c[i]],
            start_month=date(2027, int(rng.integers(1, 13)), 1),
            places=int(rng.integers(2, 12)),
            delay_probability=0.4,
            delay_pmf=(0.5, 0.3, 0.2),
        )
        for i in range(12)
    )
    return SupplyInputs(
        start=date(2026, 1, 1),
        gemeenten=GEMEENTEN,
        types=TYPES,
        corporations=corps,
        inflow=inflow,
        waiting=rng.integers(0, 10, (n_g, n_t)),
        capacity=capacity,
        occupancy=occupancy,
        turnover=np.full((n_g, n_t, n_c), 0.03),
        los=los,
        contingent=contingent,
        contingent_used=np.zeros((n_g, n_c), np.int64),
        uses_contingent=np.array([True, True, False, True, False, True, True, False]),
        moving_on=np.ones(n_t, bool),
        pipeline=pipeline,
        moving_on_uses_contingent=True,
    )


def littles_law_error() -> float:
    """Deterministic steady state with ample supply: |L - lambda W| / (lambda W), worst type."""
    base = synthetic_inputs(months=120)
    inflow = np.full_like(base.inflow, 0.5)
    cap = np.full_like(base.capacity, 1000)
    inputs = SupplyInputs(
        start=base.start,
        gemeenten=base.gemeenten,
        types=base.types,
        corporations=base.corporations,
        inflow=inflow,
        waiting=np.zeros_like(base.waiting),
        capacity=cap,
        occupancy=np.zeros_like(cap),
        turnover=np.zeros_like(base.turnover),
        los=base.los,
        contingent=np.full_like(base.contingent, 100000),
        contingent_used=np.zeros_like(base.contingent_used),
        uses_contingent=base.uses_contingent,
        moving_on=base.moving_on,
    )
    settings = ProjectionSettings(mode="deterministic", levels=("gemeente_type",))
    st = project(inputs, settings).get("occupancy", "gemeente_type")
    tail = st.mean[:, -24:].mean(axis=1).reshape(len(base.gemeenten), len(base.types))
    expected = 0.5 * inputs.mean_stay()[None, :]
    return float(np.max(np.abs(tail - expected) / expected))


class PeakRss:
    """Samples the RSS of this process plus its worker processes every 20 ms."""

    def __init__(self) -> None:
        self.proc = psutil.Process(os.getpid())
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = self.proc.memory_info().rss
        for child in self.proc.children(recursive=True):  # worker processes count too
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def baseline_reference(inputs: SupplyInputs, runs: int, chunks: int = 2) -> float:
    """Seconds for ``runs`` runs with the NumPy reference engine (``simulate_chunk_reference``,
    whole-array steps, the implementation before the compiled kernel), simulation only, one
    thread, measured on ``chunks`` chunks of 128 runs and extrapolated."""
    prep = prepare(inputs, "poisson", None)
    out = new_chunk_series(prep, 128)
    t0 = time.perf_counter()
    for i in range(chunks):
        rng = np.random.default_rng(i)
        simulate_chunk_reference(prep, inputs.waiting, 128, rng, rng, out)
    return (time.perf_counter() - t0) / (chunks * 128) * runs


def warm_up(inputs: SupplyInputs) -> float:
    """Load (or, in a fresh checkout, compile) the kernels outside the timed run."""
    t0 = time.perf_counter()
    project(inputs, ProjectionSettings(runs=4, chunk_size=2, workers=1))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=128)
    parser.add_argument("--parallel", choices=("threads", "processes"), default="threads")
    parser.add_argument("--levels", default=",".join(DEFAULT_LEVELS))
    parser.add_argument(
        "--per-gemeente",
        type=int,
        default=4,
        help="corporations present per gemeente (10 = dense, every corporation everywhere)",
    )
    args = parser.parse_args()
    inputs = synthetic_inputs(per_gemeente=args.per_gemeente)
    settings = ProjectionSettings(
        runs=args.runs,
        seed=1,
        chunk_size=args.chunk,
        workers=args.workers,
        parallel=args.parallel,
        levels=tuple(args.levels.split(",")),
    )
    warm = warm_up(inputs)
    with PeakRss() as rss:
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        projection = project(inputs, settings)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    total = projection.get("shortfall", "total")
    print(
        f"shortfall total month 60: P10 {total.quantiles[0.1][0, -1]} "
        f"P50 {total.quantiles[0.5][0, -1]} P90 {total.quantiles[0.9][0, -1]}"
    )
    baseline = baseline_reference(inputs, args.runs)
    law = littles_law_error()
    print(
        json.dumps(
            {
                "runs": args.runs,
                "months": inputs.months,
                "groups": inputs.groups,
                "seconds": round(seconds, 3),
                "peak_rss_mb": round(rss.peak / 2**20, 1),
                "cpu_seconds": round(cpu, 3),
                "littles_law_error": round(law, 5),
                "corporations_per_gemeente": f"{args.per_gemeente - 1}-{args.per_gemeente}"
                if args.per_gemeente < 10
                else "10 (dense)",
                "corporation_slots": int(corporation_slots(inputs).shape[0]),
                "workers": args.workers,
                "parallel": args.parallel,
                "chunk_size": args.chunk,
                "quantile_levels": list(settings.levels),
                "outputs": len(settings.outputs),
                "kernel_load_seconds": round(warm, 2),
                "load_average_1min": round(os.getloadavg()[0], 2),
                "baseline": "NumPy reference engine (whole-array steps, the previous "
                "implementation), simulation only, one thread, 256 runs extrapolated",
                "baseline_seconds_extrapolated": round(baseline, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
