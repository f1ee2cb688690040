"""Benchmark of contingent pacing on a simulated year (issue 6).

The demo region's generator (``fixtures.generate``, synthetic) gives youths, places and the
contingents of one year. Half of the youths form the history pool (past arrivals that dual-price
pacing resamples futures from); the other half arrive in this year, in a month drawn uniformly.
Places become free in a month drawn uniformly (planned, so known in advance). Every matching is
the matcher's min-cost flow over the eligible pairs with their matcher values.

Youths wait at most ``--patience`` months (default 2) after arriving, in every policy and in the
hindsight optimum (docs/decisions.md 20).

Prints the value reached by the hindsight optimum (the whole year in one matching, all arrivals
known), by stochastic pacing (a two-stage LP over sampled futures), by dual-price pacing, by
budget pacing and by greedy month-by-month use, and as its last line one JSON object with
hindsight_value, paced_value (stochastic pacing), greedy_value, paced_ratio, greedy_ratio and the
dual-price and budget figures.

Usage: python bench/pacing.py [--youths N] [--options N] [--seed S] [--samples K] [--patience M]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.generate import ROUND_MONTH, generate_region, to_round
from matcher.flownet import flow_input
from matcher.groups import companion_pairs
from matcher.instance import build_instance
from matcher.rules import screen
from matcher.scoring import pair_values
from supply.pacing import YearProblem, hindsight, run_year


def year_problem(
    n_youths: int, n_options: int, seed: int, contingent_scale: float, patience: int | None
) -> tuple[YearProblem, dict[str, int]]:
    region = generate_region(n_youths, n_options, seed=seed)
    rnd = to_round(region, ROUND_MONTH, seed=seed)
    screening = screen(rnd)
    values = pair_values(rnd, screening, seed)
    keep = companion_pairs(rnd, screening.youth_idx, screening.option_idx)
    inst = build_instance(
        rnd,
        screening.youth_idx[keep],
        screening.option_idx[keep],
        values.value[keep],
        values.urgency,
        screening.option_contingent,
        values.housing_scale,
    )
    flow, _ = flow_input(inst)
    amount = np.floor(np.asarray(flow.contingent_left) * contingent_scale).astype(np.int64)
    flow = type(flow)(**{**flow.__dict__, "contingent_left": amount})
    rng = np.random.default_rng(seed + 1)
    history = rng.random(flow.n_youths) < 0.5
    youth_month = np.where(history, -1, rng.integers(0, 12, flow.n_youths))
    option_month = rng.integers(0, 12, flow.n_options)
    facts = {
        "youths_this_year": int((~history).sum()),
        "history_pool": int(history.sum()),
        "options": flow.n_options,
        "pairs": len(flow.pair_youth),
        "contingents": len(amount),
        "contingent_units": int(amount.sum()),
    }
    return YearProblem(flow, youth_month, option_month, patience=patience), facts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--youths", type=int, default=600)
    parser.add_argument("--options", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument(
        "--contingent-scale",
        type=float,
        default=0.5,
        help="contingent amounts x this (0.5: the generator sizes them for all 600 youths, half "
        "of whom are the history pool)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=2,
        help="months a youth can wait after arriving (-1: until December, which makes waiting "
        "free and the hindsight optimum reachable by matching everything in December)",
    )
    args = parser.parse_args()
    patience = None if args.patience < 0 else args.patience
    problem, facts = year_problem(
        args.youths, args.options, args.seed, args.contingent_scale, patience
    )
    print(f"jaar: {facts}")
    results = {}
    for name in ("hindsight", "greedy", "budget", "dual", "stochastic"):
        t0 = time.perf_counter()
        outcome = (
            hindsight(problem)
            if name == "hindsight"
            else run_year(problem, name, samples=args.samples, seed=args.seed)  # type: ignore[arg-type]
        )
        seconds = time.perf_counter() - t0
        results[name] = outcome
        print(
            f"{name:9s} waarde {outcome.value:>12,d}  plaatsingen {outcome.placements:4d}  "
            f"contingent per maand {outcome.contingent_used_by_month.tolist()}  "
            f"ongebruikt {outcome.contingent_unused}  ({seconds:.1f} s)"
        )
    best = results["hindsight"].value
    print(
        json.dumps(
            {
                "hindsight_value": best,
                "paced_value": results["stochastic"].value,
                "greedy_value": results["greedy"].value,
                "paced_ratio": round(results["stochastic"].value / best, 4),
                "greedy_ratio": round(results["greedy"].value / best, 4),
                "dual_value": results["dual"].value,
                "dual_ratio": round(results["dual"].value / best, 4),
                "budget_value": results["budget"].value,
                "budget_ratio": round(results["budget"].value / best, 4),
                "paced_method": (
                    f"two-stage stochastic LP over {args.samples} sampled futures per month"
                ),
                "patience_months": patience,
                "contingent_unused": {k: v.contingent_unused for k, v in results.items()},
                **facts,
            }
        )
    )


if __name__ == "__main__":
    main()
