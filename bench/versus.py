"""Interleaved A/B of the matcher: ``python bench/versus.py --baseline REV --seeds 1-20``.

Compares the matcher of this working tree (the candidate) with an older version (the
baseline: a git revision, checked out for the run as a detached worktree in a temporary
folder, or ``--baseline-root PATH``, a folder holding another version) on the generator's seed
rounds (``bench/matcher.py``'s ``build_round``: ``--scale``, ``--shared-heavy``).

Why interleaved: a shared machine's speed drifts by a third within minutes, so two whole
passes of ``bench/matcher.py --seeds`` one after the other compare the machine as much as the
code. Here two persistent processes, one per version, take turns seed by seed: each run goes
over every seed, and for each seed one version solves, then the other, the order alternating
by run and seed. Each process first solves the first seed once, not counted (imports, caches).
The round of each seed is built by each version's own generator, outside the timing; the two
versions' objectives are compared seed by seed (``same_objective``).

Prints a line per seed and run on stderr and as its LAST line one JSON object: ``baseline``
(the revision or folder), ``seeds``, ``runs``, ``instance``, per version (``baseline_figures``
and ``candidate_figures``) ``max_s`` with ``worst_seed``, ``median_s``, ``sum_best_s`` (over the
seeds of each seed's fastest run), ``mean_sum_s`` (the sum over all runs divided by ``runs``),
``within_1s`` and ``all_optimal``; ``all_same_objective``, ``sum_ratio`` (candidate / baseline
of ``sum_best_s``) and ``per_seed`` (every run's wall seconds, both objectives and statuses).
The baseline must have ``bench/matcher.py`` with ``build_round`` (since 5 December 2026).
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TextIO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.matcher import seed_list  # noqa: E402

WORKER = Path(__file__).resolve().with_name("versus_worker.py")
SIDES = ("baseline", "candidate")


def baseline_first(run: int, index: int) -> bool:
    """Whether the baseline solves first at seed position ``index`` of run ``run``: it
    alternates along the seeds and between runs, so each version goes first equally often."""
    return (run + index) % 2 == 0


class Side:
    """One version's persistent worker process."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        boot = (
            "import runpy, sys; "
            f"sys.path[0:1] = [{str(root)!r}]; "
            f"runpy.run_path({str(WORKER)!r}, run_name='__main__')"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", boot],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def solve(self, request: dict[str, Any]) -> dict[str, Any]:
        stdin, stdout = self.pipes()
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            code = self.proc.wait()
            raise RuntimeError(f"the {self.name} worker stopped (exit code {code})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def pipes(self) -> tuple[IO[str], IO[str]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        return self.proc.stdin, self.proc.stdout

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def checked_out(rev: str) -> Iterator[Path]:
    """The revision ``rev`` of this repository as a detached worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="stek-versus-") as tmp:
        path = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), rev],
            check=True,
        )
        try:
            yield path
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False
            )


def figures(
    best: dict[int, float], runs: dict[int, list[float]], ok: dict[int, bool]
) -> dict[str, Any]:
    """One version's summary: worst, median and sum of the per-seed best, mean sum of all runs."""
    seeds = sorted(best)
    worst = max(seeds, key=lambda s: best[s])
    n_runs = len(runs[seeds[0]])
    return {
        "max_s": round(best[worst], 3),
        "worst_seed": worst,
        "median_s": round(statistics.median(best.values()), 3),
        "sum_best_s": round(sum(best.values()), 3),
        "mean_sum_s": round(sum(sum(r) for r in runs.values()) / n_runs, 3),
        "within_1s": sum(best[s] <= 1.0 for s in seeds),
        "all_optimal": all(ok.values()),
    }


def compare(
    sides: dict[str, Any], seeds: list[int], runs: int, request: dict[str, Any], log: TextIO
) -> dict[str, Any]:
    """Every seed ``runs`` times on both sides, taking turns; the summary (without names)."""
    walls: dict[str, dict[int, list[float]]] = {s: {seed: [] for seed in seeds} for s in SIDES}
    answers: dict[str, dict[int, dict[str, Any]]] = {s: {} for s in SIDES}
    for side in SIDES:
        sides[side].solve(request | {"seed": seeds[0]})  # warm-up, not counted
    for run in range(runs):
        for index, seed in enumerate(seeds):
            order = SIDES if baseline_first(run, index) else SIDES[::-1]
            for side in order:
                answer = sides[side].solve(request | {"seed": seed})
                walls[side][seed].append(float(answer["solve_s"]))
                answers[side][seed] = answer
                print(
                    f"run {run + 1} seed {seed} {side}: {answer['solve_s']:.3f} s "
                    f"{answer['status']} {answer['objective']}",
                    file=log,
                    flush=True,
                )
    per_seed: dict[str, Any] = {}
    for seed in seeds:
        base, cand = answers["baseline"][seed], answers["candidate"][seed]
        per_seed[str(seed)] = {
            "baseline_s": walls["baseline"][seed],
            "candidate_s": walls["candidate"][seed],
            "baseline_objective": base["objective"],
            "candidate_objective": cand["objective"],
            "baseline_status": base["status"],
            "candidate_status": cand["status"],
            "same_objective": base["objective"] == cand["objective"],
        }
    out: dict[str, Any] = {"seeds": seeds, "runs": runs}
    for side in SIDES:
        best = {seed: min(walls[side][seed]) for seed in seeds}
        ok = {seed: answers[side][seed]["status"] == "optimal" for seed in seeds}
        out[f"{side}_figures"] = figures(best, walls[side], ok)
    out["all_same_objective"] = all(p["same_objective"] for p in per_seed.values())
    base_sum = out["baseline_figures"]["sum_best_s"]
    out["sum_ratio"] = (
        round(out["candidate_figures"]["sum_best_s"] / base_sum, 3) if base_sum else None
    )
    out["per_seed"] = per_seed
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--baseline", help="a git revision of this repository (e.g. HEAD~3)")
    which.add_argument("--baseline-root", type=Path, help="a folder holding the other version")
    parser.add_argument("--seeds", default="1-20", help="a range like 1-20 (or 1,5,12)")
    parser.add_argument("--runs", type=int, default=2, help="passes over the seeds (default 2)")
    parser.add_argument("--scale", choices=("regional", "national"), default="regional")
    parser.add_argument("--shared-heavy", action="store_true", help="the shared-house family")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        seeds = seed_list(args.seeds)
    except ValueError as exc:
        parser.error(str(exc))
    if args.baseline_root is not None and not (args.baseline_root / "matcher").is_dir():
        parser.error(f"--baseline-root: {args.baseline_root} holds no matcher/ folder")
    request = {
        "scale": args.scale,
        "shared_heavy": args.shared_heavy,
        "time_limit": args.time_limit,
    }
    # A stop (SIGTERM) unwinds like Ctrl-C: the worker processes end and the worktree goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    def run(root: Path) -> dict[str, Any]:
        sides = {"baseline": Side("baseline", root), "candidate": Side("candidate", ROOT)}
        try:
            return compare(sides, seeds, args.runs, request, sys.stderr)
        finally:
            for side in sides.values():
                side.close()

    if args.baseline_root is not None:
        out = run(args.baseline_root.resolve())
        name = str(args.baseline_root)
    else:
        with checked_out(args.baseline) as root:
            out = run(root)
        name = args.baseline
    instance = f"{args.scale}-fixtures" + ("-shared-heavy" if args.shared_heavy else "")
    print(json.dumps({"baseline": name, "instance": instance} | out, sort_keys=True))


if __name__ == "__main__":
    main()
