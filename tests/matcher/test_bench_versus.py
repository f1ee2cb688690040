"""``bench/versus.py``: the interleaved A/B of two matcher versions."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.versus import ROOT, baseline_first, compare, main, seed_list


def test_seed_lists_read_ranges_and_lists() -> None:
    assert seed_list("1-3,7, 5") == [1, 2, 3, 5, 7]
    assert seed_list("4") == [4]


@pytest.mark.parametrize(
    ("text", "says"), [("3-1", "runs backwards"), ("x", "is not a seed"), ("1,,2", "''")]
)
def test_bad_seed_lists_name_the_part(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        seed_list(text)


def test_each_version_goes_first_equally_often_per_seed_over_two_runs() -> None:
    for index in range(7):
        firsts = [baseline_first(run, index) for run in range(2)]
        assert firsts.count(True) == 1
    # Along the seeds of one run the order alternates too.
    assert [baseline_first(0, i) for i in range(4)] == [True, False, True, False]


class FakeSide:
    """A version answering from a table of wall times, recording the order it was asked in."""

    def __init__(self, name: str, walls: dict[int, list[float]], objective: int, log: list[Any]):
        self.name, self.walls, self.objective, self.log = name, walls, objective, log

    def solve(self, request: dict[str, Any]) -> dict[str, Any]:
        seed = request["seed"]
        self.log.append((self.name, seed))
        wall = self.walls[seed].pop(0)
        status = "optimal" if wall < 5 else "feasible"
        return {"solve_s": wall, "objective": self.objective + seed, "status": status}


def test_compare_interleaves_skips_the_warm_up_and_sums_the_best_runs() -> None:
    asked: list[Any] = []
    base = FakeSide("baseline", {1: [9.0, 2.0, 3.0], 2: [1.5, 0.5]}, 100, asked)
    cand = FakeSide("candidate", {1: [8.0, 1.0, 4.0], 2: [0.9, 0.8]}, 100, asked)
    out = compare({"baseline": base, "candidate": cand}, [1, 2], 2, {}, io.StringIO())
    # Warm-up on seed 1 (9.0 and 8.0 dropped), then turns: run 1 seed 1 baseline first, seed 2
    # candidate first; run 2 the other way round.
    assert asked == [
        ("baseline", 1),
        ("candidate", 1),
        ("baseline", 1),
        ("candidate", 1),
        ("candidate", 2),
        ("baseline", 2),
        ("candidate", 1),
        ("baseline", 1),
        ("baseline", 2),
        ("candidate", 2),
    ]
    b, c = out["baseline_figures"], out["candidate_figures"]
    assert out["per_seed"]["1"]["baseline_s"] == [2.0, 3.0]
    assert b["sum_best_s"] == 2.5 and c["sum_best_s"] == 1.8
    assert b["mean_sum_s"] == 3.5 and c["mean_sum_s"] == pytest.approx(3.35)
    assert (b["max_s"], b["worst_seed"], c["max_s"], c["worst_seed"]) == (2.0, 1, 1.0, 1)
    assert (b["within_1s"], c["within_1s"]) == (1, 2)
    assert out["sum_ratio"] == pytest.approx(0.72)
    assert out["all_same_objective"] is True


def test_compare_reports_a_changed_objective_and_a_round_not_proven() -> None:
    base = FakeSide("baseline", {1: [1.0, 1.0], 2: [1.0]}, 100, [])
    cand = FakeSide("candidate", {1: [1.0, 7.0], 2: [1.0]}, 101, [])
    out = compare({"baseline": base, "candidate": cand}, [1, 2], 1, {}, io.StringIO())
    assert out["all_same_objective"] is False
    assert out["per_seed"]["1"]["same_objective"] is False
    assert out["baseline_figures"]["all_optimal"] is True
    assert out["candidate_figures"]["all_optimal"] is False


def test_a_baseline_root_without_a_matcher_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--baseline-root", str(tmp_path), "--seeds", "1"])


def test_two_versions_solve_the_same_seed_round_in_their_own_processes() -> None:
    """The whole tool, against this repository's HEAD as a detached worktree: both processes
    build and solve regional seed 3, the worktree is gone afterwards."""
    before = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "versus.py"),
            "--baseline=HEAD",
            "--seeds=3",
            "--runs=1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["seeds"] == [3] and out["baseline"] == "HEAD"
    seed = out["per_seed"]["3"]
    assert seed["baseline_status"] == seed["candidate_status"] == "optimal"
    assert seed["same_objective"] and out["all_same_objective"]
    assert len(seed["baseline_s"]) == len(seed["candidate_s"]) == 1
    assert "run 1 seed 3 baseline" in proc.stderr
    after = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert after == before
