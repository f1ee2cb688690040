"""schemathesis against the served OpenAPI, signed in as every role, on SQLite and PostgreSQL.

Every generated request must answer without a server error, with a documented status code, a
documented content type and a body that matches the documented schema. The examples are
derandomised (the same requests every run) and counted: at least 1,000 over both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Admin last: its generated user changes may sign other roles out (which then get a valid 401).
ROLES = ("anonymous", "planner", "regisseur", "corporatie", "gemeente", "admin")
EXAMPLES_PER_OPERATION_AND_ROLE = 4
MIN_REQUESTS_PER_DATABASE = 500  # x 2 databases: at least 1,000 in CI

TOTALS: dict[str, int] = {}


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(12, 16, seed=5), folder)
    load_demo(db_url, folder)
    return db_url


@pytest.fixture
def role_headers(
    region: str, session_factory: sessionmaker[Session]
) -> Iterator[dict[str, dict[str, str]]]:
    client = TestClient(create_app(Settings(database_url=region)))
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    with session_factory() as s:
        for user in s.scalars(select(m.User).order_by(m.User.email)):
            if user.role in headers:
                continue
            token = client.post(
                "/api/v1/auth/token", json={"email": user.email, "password": "demo"}
            ).json()["access_token"]
            headers[user.role] = {"Authorization": f"Bearer {token}"}
    assert set(headers) == set(ROLES)
    yield headers


def _fuzz(operation: schemathesis.APIOperation, headers: dict[str, str]) -> int:
    """Send the operation's generated examples with ``headers``; returns how many were sent."""
    sent = 0

    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_ROLE,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        nonlocal sent
        response = case.call(headers=headers)
        sent += 1
        case.validate_response(response, checks=CHECKS)

    run()
    return sent


def test_generated_requests_as_every_role(
    region: str, role_headers: dict[str, dict[str, str]], request: pytest.FixtureRequest
) -> None:
    app = create_app(Settings(database_url=region))
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    sent = sum(_fuzz(operation, role_headers[role]) for role in ROLES for operation in operations)
    TOTALS[request.node.callspec.id] = sent
    print(f"schemathesis: {sent} requests on {request.node.callspec.id}")
    assert sent >= MIN_REQUESTS_PER_DATABASE
