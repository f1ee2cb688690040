"""Benchmark: 20 rounds solved by two `stek worker` processes on PostgreSQL, one killed mid-solve.

Run:  .venv/bin/python bench/workers.py [--pg URL] [--rounds 20] [--youths 300]

A generated region (``--youths`` young people, 20 more places) is loaded into a scratch
PostgreSQL database; ``--rounds`` rounds (one a month, as the pages and the API make them) are
set to *solving* with their jobs queued. Two ``stek worker`` processes start; as soon as the
first has a solve running it is killed with SIGKILL. The other finishes every round, the killed
one's after its lease (``STEK_JOB_LEASE_S``, 3 s here) has run out.

Counted afterwards, from the database: ``completed`` (rounds with a proposal, status draft),
``duplicates`` (rounds with more than one proposal: must be 0), ``lost`` (rounds failed or still
solving: must be 0). The baseline: the same rounds solved again one after another in this
process without the queue (``baseline_sequential_s``), whose proposals must equal the workers'
(``same_proposals``).

Last line: JSON with ``rounds``, ``completed``, ``duplicates``, ``lost``, ``seconds``,
``killed_mid_job`` (the job the killed worker held: its attempts, 2, and whether the other
worker finished it), ``baseline_sequential_s``, ``same_proposals``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import os
import signal
import subprocess
import tempfile
import time
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import load_demo
from api.services import rounds as svc
from bench.serving import scratch_pg_database
from fixtures.generate import generate_region, write_region
from store import models as m
from store.db import make_engine, make_sessionmaker, unit_of_work
from store.migrate import upgrade

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STEK = str(Path(sys.executable).parent / "stek")
SYSTEM = svc.Actor.system()


def _months(n: int) -> list[date]:
    return [date(2027 + (i // 12), i % 12 + 1, 1) for i in range(n)]


def _queue(factory: sessionmaker[Session], n: int) -> list[int]:
    ids = []
    for month in _months(n):
        with unit_of_work(factory) as s:
            rnd = svc.create_round(s, month, seed=1, actor=SYSTEM)
            svc.start_solve(s, rnd.id, SYSTEM)
            svc.enqueue_solve(s, rnd.id, 60.0)
            ids.append(rnd.id)
    return ids


def _pairs(factory: sessionmaker[Session], round_id: int, version: int) -> list[tuple[str, str]]:
    with factory() as s:
        proposal = s.scalars(
            select(m.Proposal).where(m.Proposal.round_id == round_id, m.Proposal.version == version)
        ).one()
        return sorted((x.youth.code, x.option.code) for x in proposal.matches)


def run(url: str, rounds: int, youths: int, folder: Path) -> dict[str, Any]:
    upgrade(url)
    write_region(generate_region(youths, youths + 20, seed=3), folder)
    load_demo(url, folder)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    ids = _queue(factory, rounds)
    env = {**os.environ, "STEK_JOB_LEASE_S": "3", "STEK_LOG_FORMAT": "text"}
    logs = [folder / "worker-1.log", folder / "worker-2.log"]
    started = time.perf_counter()
    workers = []
    for log in logs:
        with log.open("w") as out:
            workers.append(
                subprocess.Popen(
                    [STEK, "worker", "--database-url", url, "--poll", "0.2"],
                    stdout=out,
                    stderr=out,
                    env=env,
                )
            )
    victim = workers[0]
    killed_job = 0
    try:
        deadline = time.monotonic() + 120
        while True:  # the first worker's first running solve
            with factory() as s:
                running = s.scalars(select(m.Job).where(m.Job.status == "running")).all()
            mine = [j for j in running if j.worker and f":{victim.pid}:" in j.worker]
            if mine:  # claimed and not finished: the solve is under way
                victim.send_signal(signal.SIGKILL)
                victim.wait(timeout=10)
                killed_job = mine[0].id
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the first worker claimed nothing within 120 s")
            time.sleep(0.02)
        deadline = time.monotonic() + 600
        while True:
            with factory() as s:
                solving = s.scalar(
                    select(func.count())
                    .select_from(m.AllocationRound)
                    .where(m.AllocationRound.status == "solving")
                )
            if not solving or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - started
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=60)
    with factory() as s:
        statuses = dict(
            s.execute(
                select(m.AllocationRound.id, m.AllocationRound.status).where(
                    m.AllocationRound.id.in_(ids)
                )
            ).all()
        )
        versions = dict(
            s.execute(
                select(m.Proposal.round_id, func.count())
                .where(m.Proposal.round_id.in_(ids))
                .group_by(m.Proposal.round_id)
            ).all()
        )
        attempts = sorted(a for (a,) in s.execute(select(m.Job.attempts)))
        taken_over = s.get(m.Job, killed_job)
        assert taken_over is not None
        killed = {
            "job": killed_job,
            "attempts": taken_over.attempts,
            "finished_by_other_worker": taken_over.status == "done"
            and taken_over.worker is not None
            and f":{victim.pid}:" not in taken_over.worker,
        }
    completed = sum(1 for r in ids if statuses.get(r) == "draft" and versions.get(r) == 1)
    duplicates = sum(1 for r in ids if versions.get(r, 0) > 1)
    lost = sum(1 for r in ids if statuses.get(r) in ("failed", "solving"))
    # baseline: the same snapshots solved one after another in this process
    same = True
    base_start = time.perf_counter()
    for round_id in ids:
        with unit_of_work(factory) as s:
            svc.get_round(s, round_id).status = "solving"  # (a benchmark's shortcut)
        if svc.run_solve(factory, round_id, 60.0) is None:
            same = False
            continue
    baseline = time.perf_counter() - base_start
    for round_id in ids:
        if versions.get(round_id) == 1:
            same = same and _pairs(factory, round_id, 1) == _pairs(factory, round_id, 2)
    engine.dispose()
    return {
        "rounds": len(ids),
        "completed": completed,
        "duplicates": duplicates,
        "lost": lost,
        "seconds": round(seconds, 1),
        "killed_mid_job": killed,
        "job_attempts": attempts,
        "baseline_sequential_s": round(baseline, 1),
        "same_proposals": same,
        "youths": youths,
        "database": "postgresql",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server URL")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--youths", type=int, default=300)
    args = parser.parse_args()
    with (
        scratch_pg_database(args.pg, "stek_bench_workers") as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        if url is None:
            raise SystemExit("bench/workers.py needs PostgreSQL (--pg)")
        figures = run(url, args.rounds, args.youths, Path(tmp))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
