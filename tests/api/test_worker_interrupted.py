"""A database that goes away between a worker's claim and its commit (issue 17 item 5) loses
nothing and stores no second proposal: on PostgreSQL the connection of the transaction that
stores the proposal is terminated just before it commits (as a restart would), the solve
raises ``jobs.Interrupted``, nothing is stored, the job goes back to the queue and the next
claim stores the proposal once."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.cli import load_demo
from api.services import rounds as svc
from api.worker import Worker
from fixtures.generate import generate_region, write_region
from store import jobs
from store import models as m
from store.db import make_engine, make_sessionmaker, unit_of_work

SYSTEM = svc.Actor.system()


def _solving(url: str, folder: Path, n: int) -> tuple[Engine, sessionmaker[Session], int]:
    """A region loaded and a round set to solving with its job queued."""
    write_region(generate_region(n, n + 20, seed=3), folder)
    load_demo(url, folder)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as s:
        round_id = svc.create_round(s, date(2026, 12, 1), seed=1, actor=SYSTEM).id
        svc.start_solve(s, round_id, SYSTEM)
        svc.enqueue_solve(s, round_id, 10.0)
    return engine, factory, round_id


def test_a_connection_lost_before_commit_stores_nothing_and_the_job_runs_again(
    pg_url: str, tmp_path: Path
) -> None:
    engine, factory, round_id = _solving(pg_url, tmp_path / "region", 40)
    with factory() as s:
        claim = jobs.claim(s, "w1", 30)
    assert claim is not None

    admin = make_engine(pg_url, isolation_level="AUTOCOMMIT")
    cut: list[int] = []

    def restart(session: Session) -> None:  # once: kill this transaction's connection
        stores = any(isinstance(o, m.Proposal) for o in session.identity_map.values())
        if cut or not stores:  # only the transaction that stores the proposal
            return
        pid = session.connection().execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        cut.append(pid)

    event.listen(Session, "before_commit", restart)
    try:
        with pytest.raises(jobs.Interrupted, match="storing the proposal"):
            svc.run_solve(factory, round_id, 10.0, claim)
    finally:
        event.remove(Session, "before_commit", restart)
        admin.dispose()
    assert cut, "the connection was not cut"
    with factory() as s:
        assert svc.get_round(s, round_id).status == "solving"
        assert s.scalars(select(m.Proposal)).all() == []
        job = s.get(m.Job, claim.id)
        assert job is not None and (job.status, job.token) == ("running", claim.token)
        assert jobs.release(s, claim)
    worker = Worker(factory, pg_url, lease_s=5)
    assert worker.run_once()
    with factory() as s:
        assert svc.get_round(s, round_id).status == "draft"
        assert [p.version for p in s.scalars(select(m.Proposal))] == [1]
        job = s.get(m.Job, claim.id)
        assert job is not None and (job.status, job.attempts) == ("done", 2)
    engine.dispose()


def test_a_worker_gives_an_interrupted_job_back(
    db_url: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """The worker's side, on both databases: a solve that reports ``Interrupted`` (its child
    exited with the database gone) sends the job back to the queue, not the round to failed."""
    engine, factory, round_id = _solving(db_url, tmp_path / "region", 20)

    def gone(*_: Any) -> None:
        raise jobs.Interrupted("the database went away during the solve")

    monkeypatch.setattr(svc, "solve_apart", gone)
    assert Worker(factory, db_url, lease_s=5).run_once()
    with factory() as s:
        assert svc.get_round(s, round_id).status == "solving"
        job = s.scalars(select(m.Job)).one()
        assert (job.status, job.token, job.attempts) == ("queued", None, 1)
    monkeypatch.undo()
    assert Worker(factory, db_url, lease_s=5).run_once()
    with factory() as s:
        assert svc.get_round(s, round_id).status == "draft"
    engine.dispose()
