"""Solves as jobs (api/worker.py, issue 17 item 5): a worker runs a round's solve job, a worker
whose lease was taken over stores nothing, a job claimed too often fails its round with a Dutch
reason, start-up leaves rounds with a live job alone. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli_app
from api.cli import load_demo
from api.services import rounds as svc
from api.settings import Settings
from api.worker import Worker
from fixtures.generate import generate_region, write_region
from store import jobs
from store import models as m
from store.db import unit_of_work

MONTH = date(2026, 12, 1)
SYSTEM = svc.Actor.system()


def _solving(db_url: str, folder: Path, factory: sessionmaker[Session], n: int = 40) -> int:
    """A round set to solving with its job queued (as the pages and the API leave it)."""
    write_region(generate_region(n, n + 20, seed=3), folder)
    load_demo(db_url, folder)
    with unit_of_work(factory) as s:
        round_id = svc.create_round(s, MONTH, seed=1, actor=SYSTEM).id
        svc.start_solve(s, round_id, SYSTEM)
        svc.enqueue_solve(s, round_id, 10.0)
    return round_id


def _job(factory: sessionmaker[Session]) -> m.Job:
    with factory() as s:
        job = s.scalars(select(m.Job)).one()
        s.expunge(job)
        return job


def test_a_worker_solves_the_queued_round(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solving(db_url, tmp_path / "region", session_factory)
    worker = Worker(session_factory, db_url, lease_s=5)
    assert worker.run_once()
    assert not worker.run_once()  # nothing left
    job = _job(session_factory)
    assert job.status == "done" and job.worker == worker.name and job.attempts == 1
    assert job.result is not None and job.result["round"] == round_id
    with session_factory() as s:
        rnd = svc.get_round(s, round_id)
        assert rnd.status == "draft"
        assert job.result["housed"] == len(svc.latest_proposal(s, round_id).matches) > 0


def test_a_worker_whose_lease_was_taken_over_stores_nothing(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solving(db_url, tmp_path / "region", session_factory)
    with session_factory() as s:
        stalled = jobs.claim(s, "stalled", 30)
    assert stalled is not None
    with session_factory.begin() as s:  # its lease runs out; another worker takes over
        s.execute(update(m.Job).values(lease_until=jobs.now() - timedelta(seconds=1)))
    with session_factory() as s:
        successor = jobs.claim(s, "successor", 30)
    assert successor is not None and successor.attempts == 2
    assert svc.run_solve(session_factory, round_id, 10.0, stalled) is None
    with session_factory() as s:
        assert svc.get_round(s, round_id).status == "solving"
        assert not s.scalars(select(m.Proposal)).all()
    assert svc.run_solve(session_factory, round_id, 10.0, successor) is not None
    with session_factory() as s:
        assert svc.get_round(s, round_id).status == "draft"
        assert [p.version for p in s.scalars(select(m.Proposal))] == [1]
    job = _job(session_factory)
    assert (job.status, job.worker) == ("done", "successor")
    # the stalled worker's failure report is void too: the round stays solved
    assert not svc.fail_solve(session_factory, round_id, "te laat", stalled)
    with session_factory() as s:
        assert svc.get_round(s, round_id).status == "draft"


def test_a_job_claimed_too_often_fails_its_round_with_the_reason(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solving(db_url, tmp_path / "region", session_factory)
    with session_factory.begin() as s:  # three workers died on it already
        s.execute(
            update(m.Job).values(
                status="running",
                attempts=jobs.MAX_ATTEMPTS,
                lease_until=jobs.now() - timedelta(seconds=1),
            )
        )
    assert Worker(session_factory, db_url, lease_s=5).run_once()
    with session_factory() as s:
        rnd = svc.get_round(s, round_id)
        assert rnd.status == "failed"
        assert rnd.error == (
            "het doorrekenen is 3 keer onderbroken; opnieuw proberen start het opnieuw"
        )
    job = _job(session_factory)
    assert job.status == "failed" and job.error == rnd.error


def test_a_job_for_a_round_no_longer_solving_is_done_without_a_solve(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solving(db_url, tmp_path / "region", session_factory)
    assert svc.run_solve(session_factory, round_id, 10.0) is not None  # solved without the job
    assert Worker(session_factory, db_url, lease_s=5).run_once()
    job = _job(session_factory)
    assert job.status == "done" and job.result == {"round": round_id, "skipped": "draft"}
    with session_factory() as s:
        assert [p.version for p in s.scalars(select(m.Proposal))] == [1]


def test_start_up_fails_only_rounds_without_a_live_job(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    with_job = _solving(db_url, tmp_path / "region", session_factory)
    with unit_of_work(session_factory) as s:  # a second month, solving, its job given up
        other = svc.create_round(s, date(2027, 1, 1), seed=1, actor=SYSTEM).id
        svc.start_solve(s, other, SYSTEM)
    assert svc.fail_interrupted_solves(session_factory) == [other]
    with session_factory() as s:
        assert svc.get_round(s, with_job).status == "solving"
        assert svc.get_round(s, other).status == "failed"


def _admin_api(
    db_url: str, folder: Path, factory: sessionmaker[Session], **settings: object
) -> tuple[TestClient, dict[str, str]]:
    """A region loaded, the app on it and an administrator's bearer header."""
    write_region(generate_region(40, 60, seed=3), folder)
    load_demo(db_url, folder)
    with factory() as s:
        admin = s.scalars(select(m.User.email).where(m.User.role == "admin")).first()
    client = TestClient(create_app(Settings(database_url=db_url, **settings)))  # type: ignore[arg-type]
    token = client.post("/api/v1/auth/token", json={"email": admin, "password": "demo"})
    return client, {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_the_api_enqueues_and_the_server_runs_the_job(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    client, headers = _admin_api(db_url, tmp_path / "region", session_factory)
    created = client.post("/api/v1/rounds", json={"month": "2026-12-01"}, headers=headers)
    assert created.status_code == 201, created.text
    job = _job(session_factory)  # TestClient runs the background task before returning
    assert job.kind == "solve" and job.payload["round"] == created.json()["id"]
    assert job.status == "done" and job.worker is not None and job.worker.startswith("server@")
    detail = client.get(f"/api/v1/rounds/{created.json()['id']}", headers=headers).json()
    assert detail["status"] == "draft"


def test_a_server_that_leaves_jobs_to_workers_only_enqueues(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    client, headers = _admin_api(db_url, tmp_path / "region", session_factory, jobs_in_server=False)
    created = client.post("/api/v1/rounds", json={"month": "2026-12-01"}, headers=headers)
    assert created.status_code == 201 and created.json()["status"] == "solving"
    assert _job(session_factory).status == "queued"
    assert Worker(session_factory, db_url, lease_s=5).run_once()
    assert (
        client.get(f"/api/v1/rounds/{created.json()['id']}", headers=headers).json()["status"]
        == "draft"
    )


@pytest.mark.parametrize("value", ["0", "-3", "nan", "9999"])
def test_a_bad_lease_is_refused_with_its_setting_named(value: str) -> None:
    with pytest.raises(ValueError, match="STEK_JOB_LEASE_S moet tussen 1 en 3600"):
        Settings(job_lease_s=value)  # type: ignore[arg-type]


def test_several_server_processes_need_postgresql(tmp_path: Path) -> None:
    done = CliRunner().invoke(
        cli_app, ["serve", "--workers", "2", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert done.exit_code == 2
    assert "meer dan één serverproces vraagt PostgreSQL" in done.output


def test_a_failure_in_the_worker_itself_fails_the_job_and_its_round(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    round_id = _solving(db_url, tmp_path / "region", session_factory)

    def broken(*_: Any) -> None:
        raise RuntimeError("kapot in de worker")

    monkeypatch.setattr(svc, "solve_apart", broken)
    assert Worker(session_factory, db_url, lease_s=5).run_once()
    job = _job(session_factory)
    assert (job.status, job.error) == ("failed", "RuntimeError: kapot in de worker")
    with session_factory() as s:
        rnd = svc.get_round(s, round_id)
        assert (rnd.status, rnd.error) == ("failed", "RuntimeError: kapot in de worker")
    # not claimed again: a failure here is not a dead worker
    assert not Worker(session_factory, db_url, lease_s=5).run_once()
