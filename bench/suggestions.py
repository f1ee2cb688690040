"""Benchmark of ``GET /api/v1/youths/{id}/suggestions`` over HTTP with 20,000 options.

Run:  .venv/bin/python bench/suggestions.py [--options 20000] [--youths 2000] [--requests 1000]
      [--url URL] [--in-process]

Loads a synthetic national region (``fixtures.generate``, every record synthetic) into a fresh
database (a SQLite file in a temporary folder unless ``--url`` names an empty database), serves
the app with uvicorn on 127.0.0.1 (or with ``--in-process`` through Starlette's TestClient, an
ASGI round trip with its own thread hop), and asks suggestions for varied youths, one request
at a time over one keep-alive connection. Suggestions are for the youth's own regisseur only, so
the regisseur with the largest caseload asks, for the youths in it (``caseload`` in the JSON).

Three measurements in the same process, each over HTTP:

* **indexed**: the app as it runs, the option index kept in ``app.state`` (built once before
  timing; its build time is printed);
* **scan**: the index kept, but every rule evaluated on every option (no per-type pruning, no
  STRtree for the search radius or no-go polygons), interleaved with the indexed requests so
  both see the same machine load;
* **baseline**: no index kept and no pruning: each request loads the options from the database,
  builds the arrays and scans every option.

The LAST line is one JSON object: options, requests, p50_ms, p95_ms, baseline_p50_ms,
baseline_p95_ms, and the other figures. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.cli import load_demo
from api.services.suggestions import IndexCache
from api.settings import Settings
from fixtures.generate import ROUND_MONTH, generate_region, write_region
from store import models as m
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade


@contextmanager
def serve(app: FastAPI, loopback: bool) -> Iterator[httpx.Client | TestClient]:
    """An HTTP client for ``app``: in-process, or over a uvicorn server on 127.0.0.1."""
    if not loopback:
        with TestClient(app) as client:
            yield client
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def measure(
    apps: list[FastAPI], every: list[int], loopback: bool, email: str, youth_ids: list[int], k: int
) -> tuple[list[list[float]], float]:
    """Per-request wall times (ms) per app, interleaved: app j answers every ``every[j]``-th
    youth, so all apps are timed under the same machine load. Also the first app's warm-up
    request time (ms): the index build."""
    url = "/api/v1/youths/{}/suggestions?k=" + str(k) + "&on=" + ROUND_MONTH.isoformat()
    with ExitStack() as stack:
        clients = [stack.enter_context(serve(app, loopback)) for app in apps]
        headers = []
        for client in clients:
            token = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
            token.raise_for_status()
            headers.append({"Authorization": f"Bearer {token.json()['access_token']}"})
        warm_ms = 0.0
        for j, client in enumerate(clients):
            start = time.perf_counter()
            client.get(url.format(youth_ids[0]), headers=headers[j]).raise_for_status()
            if j == 0:
                warm_ms = (time.perf_counter() - start) * 1000
        times: list[list[float]] = [[] for _ in apps]
        for i, youth_id in enumerate(youth_ids):
            for j, client in enumerate(clients):
                if i % every[j]:
                    continue
                start = time.perf_counter()
                response = client.get(url.format(youth_id), headers=headers[j])
                times[j].append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
    return times, warm_ms


def percentiles(times: list[float]) -> tuple[float, float]:
    return round(float(np.percentile(times, 50)), 2), round(float(np.percentile(times, 95)), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--options", type=int, default=20_000)
    parser.add_argument("--youths", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--scan-requests", type=int, default=300)
    parser.add_argument("--baseline-requests", type=int, default=60)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--url", default=None, help="an empty database (default: SQLite file)")
    parser.add_argument(
        "--in-process", action="store_true", help="TestClient instead of uvicorn on loopback"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="stek-bench-suggest-"))
    url = args.url or f"sqlite:///{folder / 'bench.db'}"
    start = time.perf_counter()
    upgrade(url)
    region = generate_region(args.youths, args.options, seed=args.seed, scale="national")
    write_region(region, folder / "region")
    load_demo(url, folder / "region")
    load_s = time.perf_counter() - start
    print(f"database loaded in {load_s:.1f} s ({url.split(':', 1)[0]})", flush=True)

    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        # Suggestions are for the youth's own regisseur only: the largest caseload's regisseur
        # asks for the youths in it.
        regisseur_id, email = session.execute(
            select(m.User.id, m.User.email)
            .join(m.Youth, m.Youth.regisseur_id == m.User.id)
            .group_by(m.User.id, m.User.email)
            .order_by(func.count().desc(), m.User.id)
            .limit(1)
        ).one()
        ids = list(
            session.scalars(
                select(m.Youth.id).where(m.Youth.regisseur_id == regisseur_id).order_by(m.Youth.id)
            )
        )
        n_options = len(session.scalars(select(m.HousingOption.id)).all())
        n_youths = int(session.scalar(select(func.count()).select_from(m.Youth)) or 0)
    engine.dispose()
    rng = random.Random(args.seed)
    order = [rng.choice(ids) for _ in range(args.requests)]  # varied youths, some repeated

    def app_with(cache: IndexCache) -> FastAPI:
        app = create_app(Settings(database_url=url))
        app.state.suggestion_index = cache
        return app

    scan_every = max(1, args.requests // max(1, args.scan_requests))
    (times, scan), warm_ms = measure(
        [app_with(IndexCache()), app_with(IndexCache(use_index=False))],
        [1, scan_every],
        not args.in_process,
        email,
        order,
        args.k,
    )
    p50, p95 = percentiles(times)
    s50, s95 = percentiles(scan)
    print(f"indexed:  {len(times)} requests, p50 {p50} ms, p95 {p95} ms "
          f"(first request with index build {warm_ms:.0f} ms)", flush=True)  # fmt: skip
    print(f"scan:     {len(scan)} requests, p50 {s50} ms, p95 {s95} ms (interleaved)", flush=True)
    (base,), _ = measure(
        [app_with(IndexCache(enabled=False, use_index=False))],
        [1],
        not args.in_process,
        email,
        order[: args.baseline_requests],
        args.k,
    )
    b50, b95 = percentiles(base)
    print(f"baseline: {len(base)} requests, p50 {b50} ms, p95 {b95} ms", flush=True)
    figures: dict[str, Any] = {
        "options": n_options,
        "youths": n_youths,
        "caseload": len(ids),  # the youths asked about: one regisseur's own
        "requests": len(times),
        "p50_ms": p50,
        "p95_ms": p95,
        "baseline_p50_ms": b50,
        "baseline_p95_ms": b95,
        "baseline_requests": len(base),
        "baseline": "no index kept: load options, build arrays, scan all options per request",
        "scan_p50_ms": s50,
        "scan_p95_ms": s95,
        "scan_requests": len(scan),
        "first_request_ms": round(warm_ms, 1),
        "http": "in-process TestClient" if args.in_process else "uvicorn loopback",
        "database": url.split(":", 1)[0],
        "k": args.k,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
