"""Request guards (api/guards.py): body-size limits and text no handler can take (issue 13).

On SQLite and PostgreSQL: before the guard covered every route, a NUL in a page path or a form
field was a server error on PostgreSQL, a lone surrogate or a non-finite number in a JSON body a
server error on both (the 422 itself could not be rendered), and a body of any size was read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Message, Receive, Scope, Send

from api.app import create_app
from api.guards import GuardRequests, json_findings
from api.security import hash_password
from api.settings import Settings
from store.models import Organisation, User

PASSWORD = "correct horse battery"


@pytest.fixture
def app(db_url: str, session_factory: sessionmaker[Session]) -> FastAPI:
    with session_factory.begin() as s:
        org = Organisation(code="GEM-0796", name="Gemeente", kind="gemeente")
        s.add(org)
        s.flush()
        hashed = hash_password(PASSWORD)
        for role in ("admin", "gemeente", "regisseur"):
            s.add(
                User(
                    email=f"{role}@test.invalid",
                    name=role.title(),
                    role=role,
                    organisation_id=org.id,
                    password_hash=hashed,
                )
            )
    return create_app(Settings(database_url=db_url))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as c:
        yield c


def _bearer(client: TestClient, email: str = "admin@test.invalid") -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _sign_in(client: TestClient, email: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    form = client.get("/inloggen").text
    login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert login_csrf
    response = client.post(
        "/inloggen", data={"email": email, "password": PASSWORD, "csrf_token": login_csrf[1]}
    )
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"]).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    return csrf[1]


def _fields(response: object) -> list[list[object]]:
    return [err["loc"] for err in response.json()["detail"]]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- size limits


def test_form_over_the_limit_is_refused_with_413(client: TestClient) -> None:
    form = client.get("/inloggen")
    assert form.status_code == 200
    big = {"email": "admin@test.invalid", "password": "x" * (65 * 1024), "csrf_token": "x"}
    response = client.post("/inloggen", data=big)
    assert response.status_code == 413
    assert "te groot" in response.text and "64 kB" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_json_over_the_limit_is_refused_with_413_and_a_smaller_one_passes(
    client: TestClient,
) -> None:
    headers = {"content-type": "application/json"}
    big = b'{"email": "a@b.c", "password": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post("/api/v1/auth/token", content=big, headers=headers)
    assert response.status_code == 413
    assert response.json()["detail"].startswith("Het verzoek is te groot")
    # 100 kB of JSON is within the JSON limit: the route answers (its own field limit).
    medium = b'{"email": "a@b.c", "password": "' + b"x" * (100 * 1024) + b'"}'
    response = client.post("/api/v1/auth/token", content=medium, headers=headers)
    assert response.status_code == 422
    assert _fields(response) == [["body", "password"]]


def test_import_uploads_are_not_held_to_the_form_limit(client: TestClient) -> None:
    upload = {"file": ("youths.csv", b"code\n" + b"J-1\n" * 50_000, "text/csv")}
    response = client.post("/api/v1/imports/youths", files=upload)
    assert response.status_code == 401  # the route's own answer, not the guard's 413


async def _run(app: GuardRequests, scope: Scope, receive: Receive) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _scope(headers: list[tuple[bytes, bytes]], path: str = "/inloggen") -> Scope:
    return {"type": "http", "method": "POST", "path": path, "query_string": b"", "headers": headers}


async def _never_called(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the app must not be reached")


@pytest.mark.anyio
async def test_declared_length_over_the_limit_is_refused_without_reading_the_body() -> None:
    async def receive() -> Message:
        raise AssertionError("the body must not be read")

    guard = GuardRequests(_never_called, Settings(max_form_bytes=1000))
    headers = [(b"content-length", str(256 * 1024 * 1024).encode())]
    sent = await _run(guard, _scope(headers), receive)
    assert sent[0]["status"] == 413


@pytest.mark.anyio
async def test_chunked_body_is_cut_off_once_over_the_limit() -> None:
    reads = 0

    async def endless() -> Message:  # a chunked upload that never ends
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    guard = GuardRequests(_never_called, Settings(max_form_bytes=64 * 1024))
    headers = [(b"transfer-encoding", b"chunked"), (b"content-type", b"text/plain")]
    sent = await _run(guard, _scope(headers), endless)
    assert sent[0]["status"] == 413
    assert reads == 65  # 64 kB allowed, the 65th kB passes the limit


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --------------------------------------------------------------------------- NUL in pages and forms


def test_nul_in_a_page_path_is_a_dutch_422(client: TestClient) -> None:
    _sign_in(client, "regisseur@test.invalid")
    response = client.get("/regisseur/jongeren/J-0%00")
    assert response.status_code == 422
    assert "NUL-teken" in response.text and "het adres" in response.text


def test_nul_in_a_page_query_is_a_dutch_422(client: TestClient) -> None:
    _sign_in(client, "gemeente@test.invalid")
    response = client.get("/beoordelen?ronde=1%00")
    assert response.status_code == 422
    assert "zoekparameters" in response.text


def test_nul_in_the_sign_in_email_is_a_422_naming_the_field(client: TestClient) -> None:
    form = client.get("/inloggen").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    response = client.post(
        "/inloggen",
        data={"email": "admin@test.invalid\x00", "password": PASSWORD, "csrf_token": token[1]},
    )
    assert response.status_code == 422
    assert "veld ‘email’" in response.text and "NUL-teken" in response.text


def test_nul_in_a_rejection_reason_is_a_422_naming_the_field(client: TestClient) -> None:
    csrf = _sign_in(client, "gemeente@test.invalid")
    response = client.post(
        "/beoordelen/matches/1",
        data={
            "csrf_token": csrf,
            "decision": "reject",
            "version": "1",
            "reason_code": "other",
            "reason_text": "past niet\x00",
        },
    )
    assert response.status_code == 422
    assert "veld ‘reason_text’" in response.text


def test_nul_in_a_multipart_field_is_a_422(client: TestClient) -> None:
    csrf = _sign_in(client, "gemeente@test.invalid")
    response = client.post(
        "/beoordelen/matches/1",
        files={"reason_text": (None, b"past niet\x00"), "csrf_token": (None, csrf.encode())},
    )
    assert response.status_code == 422
    assert "veld ‘reason_text’" in response.text


# --------------------------------------------------------------------------- JSON bodies


@pytest.mark.parametrize("number", ["1e400", "NaN", "-Infinity"])
def test_non_finite_time_limit_is_a_422_not_a_server_error(client: TestClient, number: str) -> None:
    headers = {**_bearer(client), "content-type": "application/json"}
    body = '{"month": "2026-12-01", "time_limit_s": ' + number + "}"
    response = client.post("/api/v1/rounds", content=body, headers=headers)
    assert response.status_code == 422
    assert _fields(response) == [["body", "time_limit_s"]]
    assert "eindig" in response.json()["detail"][0]["msg"]


def test_lone_surrogate_in_a_scenario_is_a_422_naming_the_field(client: TestClient) -> None:
    headers = {**_bearer(client), "content-type": "application/json"}
    body = r'{"name": "krimp\ud800", "changes": [{"kind": "x", "note": "\udfff"}]}'
    response = client.post("/api/v1/supply/scenarios", content=body, headers=headers)
    assert response.status_code == 422
    assert _fields(response) == [["body", "name"], ["body", "changes", 0, "note"]]
    assert "surrogaat" in response.json()["detail"][0]["msg"]


def test_nul_in_a_json_body_names_the_field(client: TestClient) -> None:
    headers = {**_bearer(client), "content-type": "application/json"}
    body = r'{"name": "x", "description": "a\u0000b", "changes": []}'
    response = client.post("/api/v1/supply/scenarios", content=body, headers=headers)
    assert response.status_code == 422
    assert _fields(response) == [["body", "description"]]


def test_json_findings_cover_keys_and_deep_nesting() -> None:
    assert json_findings(b'{"a\\ud800": 1}') == [
        (("body", "a\\ud800"), json_findings(b'"\\ud800"')[0][1])
    ]
    deep = b"[" * 5000 + b"]" * 5000  # deeper than the parser takes: left to the route
    assert json_findings(deep) == []
    assert json_findings(b"\xff\xfe") == [(("body",), "de inhoud is geen geldige UTF-8")]
    assert json_findings(b'{"ok": [1, 2.5, "tekst", null, true]}') == []
