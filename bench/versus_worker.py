"""One side of ``bench/versus.py``: solves the seed rounds it is sent with one code version.

Started by ``bench/versus.py`` with the version's root first on ``sys.path`` (``runpy`` runs
this file without putting its own folder there), so ``matcher`` and ``bench.matcher`` are that
version's. Reads one JSON request a line on stdin (``scale``, ``seed``, ``shared_heavy``,
``time_limit``), builds the round once per request key with that version's
``bench.matcher.build_round`` (not timed), solves it and writes one JSON line on stdout:
``solve_s``, ``cpu_s``, ``objective``, ``status``, ``method``. Anything the solver prints goes
to stderr, so the protocol's stdout carries nothing else.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO


def serve(root: Path, requests: TextIO, out: TextIO) -> None:
    """Answer every request line until stdin closes."""
    import matcher
    from bench.matcher import build_round
    from matcher.solve import solve

    here = Path(matcher.__file__).resolve()
    if root not in here.parents:
        raise SystemExit(f"matcher was imported from {here}, not from {root}")
    rounds: dict[tuple[str, int, bool], Any] = {}
    for line in requests:
        req = json.loads(line)
        key = (str(req["scale"]), int(req["seed"]), bool(req["shared_heavy"]))
        if key not in rounds:
            rounds[key] = build_round(*key)[0]
        t0, c0 = time.perf_counter(), time.process_time()
        result = solve(rounds[key], time_limit_s=float(req["time_limit"]), seed=key[1])
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        answer = {
            "solve_s": round(wall, 4),
            "cpu_s": round(cpu, 4),
            "objective": result.objective,
            "status": result.status,
            "method": result.method,
        }
        out.write(json.dumps(answer) + "\n")
        out.flush()


def main() -> None:
    root = Path(sys.path[0]).resolve()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the solver's own prints (native or Python) go to stderr
    sys.stdout = sys.stderr
    serve(root, sys.stdin, out)


if __name__ == "__main__":
    main()
