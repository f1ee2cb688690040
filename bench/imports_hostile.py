"""Benchmark: hostile CSV imports against the real server (issue 13 item 2).

Run:  .venv/bin/python bench/imports_hostile.py [--rows 1000000] [--repeat 2]

The server runs as its own process (uvicorn on 127.0.0.1, a temporary SQLite database with the
small synthetic demo region), so its memory is measured alone: the resident set size of that
process is sampled every 20 ms (psutil) while each request runs. An admin uploads
``contingents`` files through ``POST /api/v1/imports/contingents``:

- baseline: the server's idle RSS after start-up and sign-in, and a valid import of 1,000
  distinct contingent rows (time and peak RSS), same server, same run;
- ``duplicates``: ``--rows`` identical rows (one key repeated; before issue 13 each duplicate
  row listed every other one: quadratic);
- ``bad_rows``: ``--rows`` distinct rows, each with its own error (a year out of range).

Each case is run ``--repeat`` times (the machine is shared; figures vary); the figures reported
are the worst of the runs. Targets: under 500 MB server memory, under 60 s, and a capped error
list (``settings.max_import_errors``). The last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import tempfile
import threading
import time
from typing import Any

import httpx
import psutil
from sqlalchemy import select

from api.cli import load_demo
from bench.serving import stek_process
from store import models as m
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "admin@demo.stek.invalid"
HEADER = "corporatie;gemeentecode;year;amount\n"
TARGET_MB, TARGET_S = 500, 60


class _Sampler:
    """Peak RSS of one process while a block runs, sampled every 20 ms."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(0.02)

    def __enter__(self) -> _Sampler:
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def _mb(n: float) -> float:
    return round(n / (1024 * 1024), 1)


def _post(
    client: httpx.Client, base: str, token: dict[str, str], process: psutil.Process, data: bytes
) -> dict[str, Any]:
    with _Sampler(process) as sampler:
        started = time.perf_counter()
        response = client.post(
            f"{base}/api/v1/imports/contingents",
            files={"file": ("contingents.csv", data, "text/csv")},
            headers=token,
        )
        seconds = time.perf_counter() - started
    body = response.json()
    return {
        "status": response.status_code,
        "seconds": round(seconds, 2),
        "peak_rss_mb": _mb(sampler.peak),
        "errors_returned": len(body.get("errors", [])),
        "total_errors": body.get("total_errors"),
        "response_kb": round(len(response.content) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="stek-bench-hostile-") as folder:
        url = f"sqlite:///{Path(folder) / 'stek.db'}"
        upgrade(url)
        load_demo(url, ROOT / "fixtures" / "demo")
        engine = make_engine(url)
        with make_sessionmaker(engine)() as s:
            corps = list(
                s.scalars(
                    select(m.Organisation.code)
                    .where(m.Organisation.kind == "corporatie")
                    .order_by(m.Organisation.code)
                )
            )
            gemeenten = list(
                s.scalars(
                    select(m.Area.code).where(m.Area.level == "gemeente").order_by(m.Area.code)
                )
            )
        engine.dispose()
        valid_keys = [(c, g, y) for y in range(2000, 2101) for c in corps for g in gemeenten]
        assert len(valid_keys) >= 1000, "the demo region has too few corporations and gemeenten"
        corp, gm = corps[0], gemeenten[0]
        files = {
            "valid_1000": (
                HEADER + "".join(f"{c};{g};{y};1\n" for c, g, y in valid_keys[:1000])
            ).encode(),
            "duplicates": (HEADER + f"{corp};{gm};2031;1\n" * args.rows).encode(),
            "bad_rows": (
                HEADER + "".join(f"{corp};{gm};{3000 + i};1\n" for i in range(args.rows))
            ).encode(),
        }
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in files}
        idle: list[float] = []
        for _ in range(args.repeat):
            # a fresh server per repeat: every run starts from the same idle process
            with stek_process(url) as (base, pid), httpx.Client(timeout=600) as client:
                process = psutil.Process(pid)
                response = client.post(
                    f"{base}/api/v1/auth/token", json={"email": ADMIN, "password": "demo"}
                )
                response.raise_for_status()
                token = {"Authorization": f"Bearer {response.json()['access_token']}"}
                client.get(f"{base}/api/v1/health")
                time.sleep(0.5)
                idle.append(_mb(process.memory_info().rss))
                for case in ("bad_rows", "duplicates"):
                    result = _post(client, base, token, process, files[case])
                    result["rows"] = args.rows
                    result["file_mb"] = _mb(len(files[case]))
                    runs[case].append(result)
                    print(case, json.dumps(result), flush=True)
                # the valid import writes: run it last so the database stays as loaded for the
                # hostile cases; on later repeats it updates the same 1,000 rows
                result = _post(client, base, token, process, files["valid_1000"])
                result["rows"] = 1000
                runs["valid_1000"].append(result)
                print("valid_1000", json.dumps(result), flush=True)

    def worst(case: str) -> dict[str, Any]:
        results = runs[case]
        return {
            "rows": results[0]["rows"],
            "status": sorted({r["status"] for r in results}),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "seconds": max(r["seconds"] for r in results),
            "errors_returned": max(r["errors_returned"] for r in results),
            "total_errors": results[0]["total_errors"],
            "runs": [{"peak_rss_mb": r["peak_rss_mb"], "seconds": r["seconds"]} for r in results],
        }

    hostile = {case: worst(case) for case in ("duplicates", "bad_rows")}
    summary = {
        **hostile,
        "baseline": {
            "idle_rss_mb": max(idle),
            "valid_1000": worst("valid_1000"),
        },
        "targets": {"peak_rss_mb": TARGET_MB, "seconds": TARGET_S},
        "within_targets": all(
            h["peak_rss_mb"] < TARGET_MB and h["seconds"] < TARGET_S and h["status"] == [422]
            for h in hostile.values()
        ),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
