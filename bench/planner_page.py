"""Benchmark: the planner page on the demo region over loopback HTTP, beside the health endpoint.

The committed demo region is loaded into a temporary SQLite file, the app serves on 127.0.0.1
(uvicorn in a thread) and an httpx client signed in as planner fetches ``GET /planner`` (the
HTML with every fan chart inline: charts are SVG in the page, no further requests) and
``GET /api/v1/health`` (the baseline: same server, same client). The first page load computes
the projection (``planner_page_cold_ms``); later ones hit the cache keyed by the inputs'
fingerprint. CPU time is the process's (client and server share it), per request.

Run alone: ``.venv/bin/python bench/planner_page.py``; ``bench/maps.py`` adds its figures to
its own last line. The last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import json
import re
import resource
import statistics
import tempfile
import time
from collections.abc import Callable

import httpx

from api.cli import load_demo
from bench.serving import serve
from store.migrate import upgrade

PLANNER = "planner1@demo.stek.invalid"
TARGET_MS = 1000.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fetch: Callable[[], httpx.Response]) -> tuple[float, float]:
    """(wall ms, CPU ms) of one request that must answer 200."""
    cpu, start = _cpu(), time.perf_counter()
    response = fetch()
    wall = (time.perf_counter() - start) * 1000.0
    response.raise_for_status()
    return wall, (_cpu() - cpu) * 1000.0


def measure(n: int = 10, path: str = "/planner") -> dict[str, float]:
    """Planner page and health endpoint figures on the demo region (ms)."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/demo.db"
        upgrade(url)
        load_demo(url)
        with serve(url) as base, httpx.Client(base_url=base, timeout=120) as http:
            form = http.get("/inloggen")
            found = CSRF.search(form.text)
            if found is None:
                raise RuntimeError("sign-in form without CSRF token")
            signed_in = http.post(
                "/inloggen",
                data={"email": PLANNER, "password": "demo", "csrf_token": found.group(1)},
            )
            if signed_in.status_code != 303:
                raise RuntimeError(f"sign-in failed: {signed_in.status_code}")
            cold, _ = _timed(lambda: http.get(path))
            html = http.get(path).text
            page = [_timed(lambda: http.get(path)) for _ in range(n)]
            health = [_timed(lambda: http.get("/api/v1/health")) for _ in range(n)]
    walls = [w for w, _ in page]
    return {
        "planner_page_ms": round(statistics.median(walls), 1),
        "planner_page_worst_ms": round(max(walls), 1),
        "planner_page_cold_ms": round(cold, 1),
        "planner_page_cpu_ms": round(statistics.median(c for _, c in page), 1),
        "health_ms": round(statistics.median(w for w, _ in health), 1),
        "planner_page_kb": round(len(html.encode()) / 1024, 1),
        "planner_page_charts": html.count('<figure class="chart"'),
    }


def main() -> None:
    figures = measure()
    print(
        f"planner page: median {figures['planner_page_ms']:.0f} ms, worst "
        f"{figures['planner_page_worst_ms']:.0f} ms, first (cold) "
        f"{figures['planner_page_cold_ms']:.0f} ms, CPU {figures['planner_page_cpu_ms']:.0f} ms "
        f"(target {TARGET_MS:.0f} ms; {figures['planner_page_charts']:.0f} charts, "
        f"{figures['planner_page_kb']:.0f} kB); health {figures['health_ms']:.1f} ms"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
