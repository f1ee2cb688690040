"""Projections as jobs (issue 17 item 5): ``POST /supply/projection-jobs`` checks and queues,
a worker computes, ``GET /jobs/{id}`` gives the same rows as ``/projection`` to the person who
asked (and administrators), nobody else. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.settings import Settings
from api.worker import Worker
from store import models as m
from tests.supply_helpers import load_region


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    load_region(db_url, tmp_path)
    return db_url


def _headers(client: TestClient, factory: sessionmaker[Session], role: str) -> dict[str, str]:
    with factory() as s:
        email = s.scalars(select(m.User.email).where(m.User.role == role).order_by(m.User.id))
        first = email.first()
    answer = client.post("/api/v1/auth/token", json={"email": first, "password": "demo"})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _jobs(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(m.Job)) or 0)


def test_a_projection_job_gives_the_rows_of_the_projection(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    client = TestClient(create_app(Settings(database_url=region)))
    planner = _headers(client, session_factory, "planner")
    query = {"output": "shortfall", "level": "gemeente", "months": 6, "runs": 200, "seed": 3}
    queued = client.post("/api/v1/supply/projection-jobs", json=query, headers=planner)
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["id"]
    done = client.get(f"/api/v1/jobs/{job_id}", headers=planner)  # the server ran it already
    assert done.status_code == 200 and done.json()["status"] == "done"
    direct = client.get("/api/v1/supply/projection", params=query, headers=planner).json()
    assert done.json()["result"]["rows"] == direct
    assert direct, "the demo region has gemeenten"
    # somebody else's job answers as a missing one; an administrator may read it
    other = _headers(client, session_factory, "gemeente")
    assert client.get(f"/api/v1/jobs/{job_id}", headers=other).status_code == 404
    admin = _headers(client, session_factory, "admin")
    assert client.get(f"/api/v1/jobs/{job_id}", headers=admin).json()["status"] == "done"
    assert client.get("/api/v1/jobs/999999", headers=admin).status_code == 404


def test_bad_or_forbidden_requests_are_refused_before_anything_is_queued(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    client = TestClient(create_app(Settings(database_url=region)))
    planner = _headers(client, session_factory, "planner")
    for body, status, words in (
        ({"scenario": "bestaat-niet"}, 422, "bestaat-niet"),
        ({"output": "contingent_left", "level": "type"}, 422, "niveau"),
        ({"runs": 10_001}, 422, "runs"),
        ({"start": "2026-13"}, 422, "start"),
        ({"kleur": "rood"}, 422, "kleur"),
    ):
        answer = client.post("/api/v1/supply/projection-jobs", json=body, headers=planner)
        assert answer.status_code == status, (body, answer.text)
        assert words in answer.text, (body, answer.text)
    regisseur = _headers(client, session_factory, "regisseur")
    refused = client.post(
        "/api/v1/supply/projection-jobs", json={"level": "gemeente"}, headers=regisseur
    )
    assert refused.status_code == 403
    assert _jobs(session_factory) == 0


def test_with_jobs_left_to_workers_a_worker_computes_it(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    client = TestClient(create_app(Settings(database_url=region, jobs_in_server=False)))
    planner = _headers(client, session_factory, "planner")
    body = {"months": 3, "runs": 100}
    job_id = client.post("/api/v1/supply/projection-jobs", json=body, headers=planner).json()["id"]
    waiting = client.get(f"/api/v1/jobs/{job_id}", headers=planner).json()
    assert waiting["status"] == "queued" and waiting["result"] is None
    assert Worker(session_factory, region, lease_s=5).run_once()
    done = client.get(f"/api/v1/jobs/{job_id}", headers=planner).json()
    assert done["status"] == "done" and len(done["result"]["rows"]) == 3  # total, 3 months
