"""``/metrics``: Prometheus text, admin API tokens only (issue 17 item 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.settings import Settings
from store import jobs
from store.models import AllocationRound, AuditEntry
from tests.ops_helpers import tokens


@pytest.fixture
def client(db_url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=db_url)), follow_redirects=False)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_only_admin_api_tokens_read_metrics(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    token = tokens(session_factory)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=_bearer(token["planner"])).status_code == 403
    client.cookies.set("stek_session", token["admin-session"])
    refused = client.get("/metrics")
    assert refused.status_code == 403 and "API-token" in refused.json()["detail"]
    client.cookies.clear()
    answer = client.get("/metrics", headers=_bearer(token["admin"]))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")


def test_metrics_count_requests_by_route_template_and_time_solves(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    token = tokens(session_factory)
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with session_factory.begin() as s:
        s.add(AllocationRound(month=datetime(2026, 12, 1).date(), status="solving"))
        for _ in range(2):
            jobs.enqueue(s, "solve", {"round": 1})
        for round_id, seconds in (("7", 4.0), ("8", 50.0)):
            s.add(
                AuditEntry(
                    at=start,
                    action="round.solve",
                    entity="round",
                    entity_id=round_id,
                    detail={"from": "created", "to": "solving"},
                )
            )
            s.add(
                AuditEntry(
                    at=start + timedelta(seconds=seconds),
                    action="round.solved",
                    entity="round",
                    entity_id=round_id,
                    detail={"from": "solving", "to": "draft"},
                )
            )
        s.add(
            AuditEntry(
                at=start,
                action="round.solve",
                entity="round",
                entity_id="9",
                detail={"from": "created", "to": "solving"},
            )
        )  # still running
    with session_factory() as s:  # one of the two jobs claimed: running
        assert jobs.claim(s, "w", 30) is not None
    for round_id in (11, 12, 13):
        client.get(f"/api/v1/rounds/{round_id}", headers=_bearer(token["admin"]))
    text = client.get("/metrics", headers=_bearer(token["admin"])).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = {
        tuple(sorted(s.labels.items())): s.value
        for s in families["stek_http_requests"].samples
        if s.name == "stek_http_requests_total"
    }
    key = (("method", "GET"), ("route", "/api/v1/rounds/{round_id}"), ("status", "404"))
    assert requests.get(key) == 3, requests  # one series for the template, not one per id
    assert not any("/11" in dict(k)["route"] for k in requests)
    latency = families["stek_http_request_duration_seconds"].samples
    assert any(s.name.endswith("_count") and s.value >= 3 for s in latency)
    assert families["stek_solve_queue_length"].samples[0].value == 1
    by_status = {
        (x.labels["kind"], x.labels["status"]): x.value for x in families["stek_jobs"].samples
    }
    assert by_status == {("solve", "queued"): 1, ("solve", "running"): 1}
    assert families["stek_jobs_waiting"].samples[0].value == 1
    solves = {
        s.name: s for s in families["stek_solve_duration_seconds"].samples if "le" not in s.labels
    }
    assert solves["stek_solve_duration_seconds_count"].value == 2
    assert solves["stek_solve_duration_seconds_sum"].value == pytest.approx(54.0)
    buckets = {
        s.labels["le"]: s.value
        for s in families["stek_solve_duration_seconds"].samples
        if "le" in s.labels
    }
    assert buckets["5.0"] == 1 and buckets["60.0"] == 2
