"""Request ids and structured logs (issue 17 item 6)."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.observability import JsonFormatter, RequestIdFilter, accepted_request_id
from api.settings import Settings


@pytest.fixture
def client(db_url: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=db_url)), follow_redirects=False)


def test_every_answer_has_a_request_id(client: TestClient) -> None:
    ids = set()
    for path in ("/api/v1/health", "/inloggen", "/api/v1/rounds", "/bestaat-niet", "/static/x"):
        answer = client.get(path)
        request_id = answer.headers.get("x-request-id", "")
        assert len(request_id) == 32 and request_id.isalnum(), path
        ids.add(request_id)
    assert len(ids) == 5  # a fresh one per request


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("proxy-1234abcd", True),
        ("a" * 64, True),
        ("short", False),  # under 8 characters
        ("a" * 65, False),
        ("bad id with spaces", False),
        ("x\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", False),
        ("line\\nbreak-injected", False),
    ],
)
def test_incoming_request_id_is_kept_only_when_well_formed(
    client: TestClient, incoming: str, kept: bool
) -> None:
    answer = client.get("/api/v1/health", headers={"X-Request-ID": incoming.encode("utf-8")})
    assert (answer.headers["x-request-id"] == incoming) is kept
    assert (
        accepted_request_id(incoming) == incoming
        if kept
        else accepted_request_id(incoming) != incoming
    )


def test_log_lines_are_json_with_the_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="stek.access"):
        answer = client.get("/api/v1/rounds", headers={"X-Request-ID": "trace-00000001"})
    assert answer.status_code == 401
    records = [r for r in caplog.records if r.name == "stek.access"]
    assert records, "no access line"
    line = json.loads(JsonFormatter().format(records[-1]))
    assert line["request_id"] == "trace-00000001"
    assert line["status"] == 401 and line["method"] == "GET"
    assert line["path"] == "/api/v1/rounds" and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["logger"] == "stek.access"


def test_access_log_never_keeps_a_password_link_token(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = "geheim-token-0123456789abcdef"
    with caplog.at_level(logging.INFO, logger="stek.access"):
        client.get(f"/wachtwoord-instellen/{token}")
        client.post(f"/wachtwoord-instellen/{token}", data={"password": "x"})
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "stek.access"]
    assert len(lines) == 2
    assert all(token not in line for line in lines), lines
    assert all('"path": "/wachtwoord-instellen/***"' in line for line in lines), lines


def test_lines_written_inside_a_route_carry_its_id(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=db_url))
    inner = logging.getLogger("stek.test.inner")

    @app.get("/api/v1/test-log")
    def write_a_line() -> dict[str, str]:
        inner.warning("in the route", extra={"youths": 3})
        return {}

    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO):
        TestClient(app).get("/api/v1/test-log", headers={"X-Request-ID": "route-line-01"})
    record = next(r for r in caplog.records if r.name == "stek.test.inner")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "route-line-01" and line["youths"] == 3
    outside = json.loads(JsonFormatter().format(logging.makeLogRecord({"msg": "x"})))
    assert outside["request_id"] is None


def test_log_format_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="STEK_LOG_FORMAT"):
        Settings(log_format="xml")
