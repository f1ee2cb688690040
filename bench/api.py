"""Benchmark: listing a 500-match proposal and recording decisions over loopback HTTP.

Run:  .venv/bin/python bench/api.py [--pg URL] [--requests 200]

For SQLite (a temporary file) and PostgreSQL (a database ``stek_bench_api`` created on the
server of ``--pg`` and dropped afterwards; skipped when unreachable), the synthetic demo region
is loaded with 520 youths and 520 options, and a published round with one proposal of 500
matches is inserted directly (the solver is not what is measured). The app then serves on
127.0.0.1 (uvicorn in a thread) and an httpx client signed in as admin measures:

- baseline: ``GET /api/v1/health`` (auth-free, a few COUNT queries), same server, same client;
- ``GET /api/v1/rounds/{id}/proposals/1``: the whole 500-match proposal as admin;
- ``POST /api/v1/matches/{id}/decision``: accepting a match, each request a different match.

The last line is one JSON object: ``proposal_list_p95_ms`` and ``decision_p95_ms`` are the worse
of the two databases, per-database figures beside them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import date

import httpx
import numpy as np
from sqlalchemy import select

from api.cli import load_demo
from bench.serving import scratch_pg_database, serve
from fixtures.generate import generate_region, write_region
from store import models as m
from store.db import make_engine, make_sessionmaker, unit_of_work
from store.migrate import upgrade

MATCHES = 500
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DATABASE = "stek_bench_api"


def _prepare(url: str, folder: Path) -> int:
    """Migrate, load the region, insert a published round with a 500-match proposal."""
    upgrade(url)
    load_demo(url, folder)
    engine = make_engine(url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            youths = list(s.scalars(select(m.Youth.id).order_by(m.Youth.code).limit(MATCHES)))
            options = list(
                s.scalars(select(m.HousingOption.id).order_by(m.HousingOption.code).limit(MATCHES))
            )
            if len(youths) < MATCHES or len(options) < MATCHES:
                raise RuntimeError("the region is too small for a 500-match proposal")
            rnd = m.AllocationRound(
                month=date(2026, 12, 1), status="published", seed=0, solver_version="bench"
            )
            s.add(rnd)
            s.flush()
            proposal = m.Proposal(round_id=rnd.id, version=1, status="optimal", objective=0.0)
            s.add(proposal)
            s.flush()
            s.add_all(
                m.Match(proposal_id=proposal.id, youth_id=y, option_id=o, score=1.0)
                for y, o in zip(youths, options, strict=True)
            )
            return rnd.id
    finally:
        engine.dispose()


def _p95(samples: list[float]) -> float:
    return float(np.percentile(np.array(samples) * 1000.0, 95))


def _time(fn: Callable[[], httpx.Response], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = fn()
        out.append(time.perf_counter() - start)
        response.raise_for_status()
    return out


def measure(url: str, folder: Path, n: int) -> dict[str, float]:
    round_id = _prepare(url, folder)
    with serve(url) as base, httpx.Client(base_url=base, timeout=60) as http:
        token = http.post(
            "/api/v1/auth/token", json={"email": "admin@demo.stek.invalid", "password": "demo"}
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        proposal_url = f"/api/v1/rounds/{round_id}/proposals/1"
        for _ in range(5):  # warm-up: connections, caches, first-request imports
            http.get("/api/v1/health")
            http.get(proposal_url)
        health = _time(lambda: http.get("/api/v1/health"), n)
        listing = _time(lambda: http.get(proposal_url), n)
        matches = http.get(proposal_url).json()["matches"]
        if len(matches) != MATCHES:
            raise RuntimeError(f"expected {MATCHES} matches, got {len(matches)}")
        pending = iter(matches[: min(n, MATCHES)])

        def decide() -> httpx.Response:
            match = next(pending)
            return http.post(
                f"/api/v1/matches/{match['id']}/decision",
                json={"decision": "accept", "version": match["version"]},
            )

        decisions = _time(decide, min(n, MATCHES))
    return {
        "health_p95_ms": round(_p95(health), 2),
        "proposal_list_p95_ms": round(_p95(listing), 2),
        "decision_p95_ms": round(_p95(decisions), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server URL ('' to skip)")
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement")
    args = parser.parse_args()

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="stek-bench-api-") as tmp:
        folder = Path(tmp) / "region"
        write_region(generate_region(MATCHES + 20, MATCHES + 20, seed=11), folder)
        results["sqlite"] = measure(f"sqlite:///{Path(tmp) / 'bench.db'}", folder, args.requests)
        if args.pg:
            with scratch_pg_database(args.pg, PG_DATABASE) as pg_url:
                if pg_url is not None:
                    results["postgresql"] = measure(pg_url, folder, args.requests)
    for name, figures in results.items():
        print(
            f"{name:10s} baseline health p95 {figures['health_p95_ms']:7.2f} ms | "
            f"list {MATCHES}-match proposal p95 {figures['proposal_list_p95_ms']:7.2f} ms | "
            f"decision p95 {figures['decision_p95_ms']:7.2f} ms"
        )
    summary = {
        "proposal_list_p95_ms": max(r["proposal_list_p95_ms"] for r in results.values()),
        "decision_p95_ms": max(r["decision_p95_ms"] for r in results.values()),
        "baseline": "GET /api/v1/health p95 on the same server and client",
        "target_proposal_list_p95_ms": 100,
        "matches": MATCHES,
        "requests": args.requests,
        **{f"{db}_{k}": v for db, r in results.items() for k, v in r.items()},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
