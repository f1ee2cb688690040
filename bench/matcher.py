"""Benchmark of the matcher: ``python bench/matcher.py --scale regional|national``.

Builds the instance with the fixtures generator (``fixtures.generate``) when it is available, or
else with the synthetic stand-in below (same shape: contingents, shared houses, companions,
conflicts, search radii), solves it, and prints as its LAST line one JSON object with: instance,
youths, options, pairs, status, objective, bound, gap, solve_s, flow_only_s, housed,
greedy_housed, peak_rss_mb (and a few more figures).

Baselines measured in the same process: ``flow_only_s`` is a plain min-cost flow (vectorised
arcs) on the same instance's flow part; ``greedy_housed`` is the greedy in urgency order; when
the exact path settled the round, ``plain_cpsat_s`` is the same round solved by the two-stage
CP-SAT without it (``lp_fixing=False``), with whether the objectives agree. ``peak_rss_mb`` is
taken before that second solve.
All data generated here is synthetic.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matcher.policy_table import policy_at
from matcher.problem import (
    Anchor,
    Contingent,
    HousingType,
    Option,
    Round,
    Youth,
)

MOVE_IN = date(2026, 12, 1)
SCALES: dict[str, dict[str, Any]] = {
    "regional": {"youths": 500, "options": 1000, "gemeenten": 11, "radius_m": 6500.0},
    "national": {"youths": 20_000, "options": 20_000, "gemeenten": 300, "radius_m": 11_000.0},
}

TYPES = (
    HousingType("kma", "Kamers met Aandacht", 18, 23, False, False, 1, 1, 0, 2),
    HousingType("urgentie", "Urgentiewoning", 18, 27, True, False, 1, 1, 0, 2),
    HousingType("friends", "Friendswonen", 18, 27, True, False, 2, 3, 0, 1, max_age_gap=5),
    HousingType(
        "bwlight",
        "Beschermd wonen light",
        18,
        26,
        False,
        True,
        1,
        6,
        1,
        3,
        uses_contingent=False,
        max_age_gap=8,
    ),
    HousingType("mentorhuis", "Mentorhuis", 16, 23, False, True, 1, 2, 1, 3, uses_contingent=False),
    HousingType("housingfirst", "Housing First", 16, 23, True, True, 1, 1, 2, 3),
)


def synthetic_round(n_youths: int, n_options: int, n_gem: int, radius: float, seed: int) -> Round:
    """A synthetic round (stand-in for fixtures.generate): all persons and dwellings invented."""
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n_gem))
    cell = 12_000.0
    gem_codes = [
        f"GM{9000 - n_gem + g:04d}" if n_gem < 1000 else f"GM{g:04d}" for g in range(n_gem)
    ]
    gx = 100_000.0 + (np.arange(n_gem) % side) * cell
    gy = 380_000.0 + (np.arange(n_gem) // side) * cell
    corps = [f"CORP{c:03d}" for c in range(max(3, n_gem // 4))]
    options: list[Option] = []
    kinds = ["kma", "urgentie", "friends", "bwlight", "mentorhuis", "housingfirst"]
    weights = np.array([0.30, 0.40, 0.08, 0.015, 0.125, 0.08])
    j = 0
    while len(options) < n_options:
        kind = kinds[int(rng.choice(len(kinds), p=weights))]
        g = int(rng.integers(n_gem))
        x = float(gx[g] + rng.uniform(0, cell))
        y = float(gy[g] + rng.uniform(0, cell))
        gm = gem_codes[g]
        wk = f"WK{gm[2:]}{int(rng.integers(4)):02d}"
        bu = f"BU{wk[2:]}{int(rng.integers(3)):02d}"
        corp = corps[(g + int(rng.integers(3))) % len(corps)]
        if kind == "bwlight":
            rooms = min(6, n_options - len(options))
            for _r in range(rooms):
                options.append(
                    Option(
                        f"OPT-{j:06d}",
                        kind,
                        None,
                        gm,
                        wk,
                        bu,
                        x,
                        y,
                        480.0,
                        40.0,
                        1,
                        shared_house_id=f"H-{j:06d}",
                    )
                )
                j += 1
            continue
        cap = 3 if kind == "friends" else (2 if kind == "mentorhuis" else 1)
        owner = None if kind in ("mentorhuis",) else corp
        rent = {
            "kma": 430.0,
            "urgentie": 620.0,
            "friends": 900.0,
            "mentorhuis": 400.0,
            "housingfirst": 560.0,
        }[kind]
        options.append(
            Option(
                f"OPT-{j:06d}",
                kind,
                owner,
                gm,
                wk,
                bu,
                x,
                y,
                float(rent * rng.uniform(0.85, 1.1)),
                float(rng.uniform(0, 60)),
                cap,
            )
        )
        j += 1
    # Contingents: per corporation x gemeente, about 60 % of the places that need one.
    need: dict[tuple[str, str], int] = {}
    for o in options:
        if o.corporation is not None and o.type_code != "bwlight":
            need[(o.corporation, o.gemeente_code)] = (
                need.get((o.corporation, o.gemeente_code), 0) + o.capacity
            )
    contingents = tuple(
        Contingent(c, gm, MOVE_IN.year, max(1, int(n * 0.6)), used=int(rng.integers(0, 2)))
        for (c, gm), n in sorted(need.items())
    )
    youths: list[Youth] = []
    for i in range(n_youths):
        g = int(rng.integers(n_gem))
        age = int(rng.integers(16, 27))
        birth = MOVE_IN - timedelta(days=int(age * 365.25 + rng.integers(0, 360)))
        accepted = [str(k) for k in rng.choice(kinds, size=int(rng.integers(2, 5)), replace=False)]
        ax = float(gx[g] + rng.uniform(0, cell))
        ay = float(gy[g] + rng.uniform(0, cell))
        anchors: tuple[Anchor, ...] = (Anchor("school", ax, ay),)
        if rng.random() < 0.4:
            anchors += (Anchor("werk", ax + rng.normal(0, 3000), ay + rng.normal(0, 3000)),)
        prefs = (gem_codes[g],) + (
            (f"WK{gem_codes[g][2:]}{int(rng.integers(4)):02d}",) if rng.random() < 0.5 else ()
        )
        youths.append(
            Youth(
                code=f"J-{i:06d}",
                birth_date=birth,
                gemeente_code=gem_codes[g],
                income=float(rng.choice([0.0, 330.0, 1050.0, 1345.0, 1600.0]))
                if age >= 18
                else 0.0,
                support_need=int(rng.integers(0, 4)),
                accepted_types=tuple(accepted),
                preferred_areas=prefs,
                anchors=anchors,
                urgency=int(rng.integers(1, 6)),
                care_end_date=MOVE_IN + timedelta(days=int(rng.integers(-120, 400))),
                waiting_since=MOVE_IN - timedelta(days=int(rng.integers(0, 900))),
                max_distance_m=radius,
            )
        )
    # Companions (2 %: friends applying together) and conflicts (1 %), among neighbours.
    pairs = rng.choice(n_youths, size=(max(1, n_youths // 100), 2), replace=False)
    comp: dict[int, str] = {}
    for a, b in pairs:
        comp[int(a)], comp[int(b)] = youths[int(b)].code, youths[int(a)].code
    conf = rng.choice(n_youths, size=(max(1, n_youths // 200), 2), replace=False)
    cmap: dict[int, list[str]] = {}
    for a, b in conf:
        cmap.setdefault(int(a), []).append(youths[int(b)].code)
    out = []
    for i, yth in enumerate(youths):
        extra: dict[str, Any] = {}
        if i in comp:
            extra["companions"] = (comp[i],)
            extra["accepted_types"] = (
                "friends",
                *[t for t in yth.accepted_types if t != "friends"],
            )
            extra["birth_date"] = MOVE_IN - timedelta(days=int(21 * 365.25))
        if i in cmap:
            extra["conflicts"] = tuple(cmap[i])
        out.append(dataclasses.replace(yth, **extra))
    return Round(
        month=date(2026, 12, 1),
        move_in=MOVE_IN,
        types=TYPES,
        options=tuple(options),
        youths=tuple(out),
        contingents=contingents,
        policy=policy_at(date(2026, 12, 1)),
        gemeente_caps=((gem_codes[0], 10),),
        seed=seed,
        meta={"synthetic": "ja"},
    )


def build_round(scale: str, seed: int) -> tuple[Round, str]:
    """The instance: the fixtures generator when present, else the synthetic stand-in."""
    cfg = SCALES[scale]
    try:
        from fixtures.generate import generate_region, to_round  # type: ignore[import-not-found]
    except ImportError:
        return (
            synthetic_round(cfg["youths"], cfg["options"], cfg["gemeenten"], cfg["radius_m"], seed),
            f"{scale}-synthetic-bench",
        )
    region = generate_region(cfg["youths"], cfg["options"], seed, scale=scale)
    return to_round(region, MOVE_IN), f"{scale}-fixtures"


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux: ru_maxrss is in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="regional")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args(argv)

    from matcher.eligibility import screen
    from matcher.flow import solve_flow
    from matcher.greedy import greedy
    from matcher.scoring import pair_values
    from matcher.sides import build_instance
    from matcher.solve import canonical_round, flow_input, solve

    t0 = time.perf_counter()
    rnd, name = build_round(args.scale, args.seed)
    build_s = time.perf_counter() - t0

    def progress(phase: str, info: dict[str, Any]) -> None:
        figures = " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in info.items()
        )
        print(f"[{phase}] {figures}", file=sys.stderr)

    t0, c0 = time.perf_counter(), time.process_time()
    result = solve(rnd, time_limit_s=args.time_limit, seed=args.seed, progress=progress)
    solve_s, solve_cpu_s = time.perf_counter() - t0, time.process_time() - c0

    # Baselines on the same instance: plain min-cost flow (arrays built from the screening, as a
    # stand-alone flow would) and the greedy in urgency order.
    canon = canonical_round(rnd)
    screening = screen(canon)
    values = pair_values(canon, screening, args.seed)
    inst = build_instance(
        canon,
        screening.youth_idx,
        screening.option_idx,
        values.value,
        values.urgency,
        screening.option_contingent,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    fin, _ = flow_input(inst)
    flow = solve_flow(fin)
    flow_only_s, flow_only_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    peak_before_plain = peak_rss_mb()
    plain: dict[str, Any] = {}
    if result.method == "lp+cp-sat":
        # Second baseline: the same round through the two-stage CP-SAT without the exact path.
        t0 = time.perf_counter()
        other = solve(rnd, time_limit_s=args.time_limit, seed=args.seed, lp_fixing=False)
        plain = {
            "plain_cpsat_s": round(time.perf_counter() - t0, 3),
            "plain_cpsat_status": other.status,
            "plain_cpsat_same_objective": other.objective == result.objective,
        }
    t0 = time.perf_counter()
    g = greedy(inst)
    greedy_s = time.perf_counter() - t0
    greedy_value = int(sum(int(values.urgency[y]) for y in np.nonzero(g >= 0)[0].tolist()))
    weight_of = {y.code: int(values.urgency[i]) for i, y in enumerate(canon.youths)}
    shared = sum(1 for o in canon.options if o.shared_house_id or o.type_code == "friends")
    out = {
        "instance": name,
        "youths": len(canon.youths),
        "options": len(canon.options),
        "pairs": result.pairs,
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "solve_s": round(solve_s, 3),
        "flow_only_s": round(flow_only_s, 3),
        "solve_over_flow": round(solve_s / max(flow_only_s, 1e-9), 2),
        # CPU seconds of this process (all its threads): steadier than wall time on a shared
        # machine, where other work stretches wall time unevenly between phases.
        "solve_cpu_s": round(solve_cpu_s, 3),
        "flow_only_cpu_s": round(flow_only_cpu_s, 3),
        "solve_over_flow_cpu": round(solve_cpu_s / max(flow_only_cpu_s, 1e-9), 2),
        "phase_s": {k: round(v, 3) for k, v in result.phase_seconds.items()},
        "method": result.method,
        "candidate_pairs": result.candidate_pairs,
        "housed": result.housed,
        "greedy_housed": int((g >= 0).sum()),
        "housing_value": sum(weight_of[y] for y in result.assignment),
        "greedy_housing_value": greedy_value,
        "greedy_s": round(greedy_s, 3),
        "flow_only_value": flow.value,
        "shared_house_options_pct": round(100.0 * shared / max(1, len(canon.options)), 1),
        "build_s": round(build_s, 3),
        "peak_rss_mb": round(peak_before_plain, 1),
        **plain,
    }
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
