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
# Read timeout per request: schemathesis's default (10 s) fails a slow but correct answer on a
# loaded machine; a real hang still ends the test.
CALL_TIMEOUT_S = 300
# Supply projections cost runs x months: the generator may pick the schema's maxima (2,000 runs,
# 60 months) or leave them out (server default 2,000 x 36). Small numbers keep the fuzzing about
# input handling, not Monte Carlo time; out-of-range and non-integer values are still sent.
SMALL_PROJECTION = {"runs": 20, "months": 6}


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


def _keep_projection_small(case: schemathesis.Case) -> None:
    """Cap ``runs`` and ``months`` of supply requests at :data:`SMALL_PROJECTION` (missing or
    larger valid values); other values, valid or not, stay as generated."""
    names = {p.name for p in case.operation.iter_parameters() if p.location == "query"}
    for name, cap in SMALL_PROJECTION.items():
        if name not in names:
            continue
        query = dict(case.query or {})
        value = query.get(name)
        if value is None or (isinstance(value, int) and value > cap):
            query[name] = cap
            case.query = query


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
        _keep_projection_small(case)
        response = case.call(headers=headers, timeout=CALL_TIMEOUT_S)
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
