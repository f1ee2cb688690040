"""Hostile imports over HTTP (issue 13 items 2, 3 and 10), on SQLite and PostgreSQL.

- sign-in and role are checked before a byte of the upload is read;
- a body over ``settings.max_import_bytes`` is refused with 413, announced or streamed;
- duplicate rows are reported once per key with a count, and the error list is capped with a
  total;
- a field longer than Python's CSV default (131,072 characters) is a 422 naming the row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Message

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m
from store.csvio import FIELD_LIMIT

BOUNDARY = "stekgrens"


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(20, 30, seed=5), folder)
    load_demo(db_url, folder)
    return db_url


def _client(url: str, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(database_url=url, **settings)))


@pytest.fixture
def client(region: str) -> Iterator[TestClient]:
    with _client(region) as client:
        yield client


def _user(factory: sessionmaker[Session], role: str) -> m.User:
    with factory() as s:
        user = s.scalars(select(m.User).where(m.User.role == role).order_by(m.User.email)).first()
        assert user is not None
        return user


def _login(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _corporation_code(factory: sessionmaker[Session]) -> str:
    with factory() as s:
        code = s.scalars(
            select(m.Organisation.code)
            .where(m.Organisation.kind == "corporatie")
            .order_by(m.Organisation.code)
        ).first()
        assert code is not None
        return code


def _upload(text: str, name: str = "contingents.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, text.encode(), "text/csv")}


def _contingent_count(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(m.Contingent)) or 0)


# --- the body is not read before sign-in, role and size are checked ----------------------------


def _multipart_head() -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="c.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
        "corporatie;gemeentecode;year;amount\r\n"
    ).encode()


def _asgi_post(
    app: FastAPI,
    path: str,
    chunks: int,
    *,
    headers: dict[str, str] | None = None,
    content_length: int | None = None,
) -> tuple[int, bytes, int]:
    """POST a multipart body of ``chunks`` 64 kB chunks straight to the ASGI app, without
    Content-Length unless given (chunked); returns (status, body, chunks the app read)."""
    chunk = b"x" * 65536
    read = 0
    raw_headers = [
        (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    if content_length is not None:
        raw_headers.append((b"content-length", str(content_length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }

    async def receive() -> Message:
        nonlocal read
        if read >= chunks:
            return {"type": "http.disconnect"}
        read += 1
        body = _multipart_head() if read == 1 else chunk
        return {"type": "http.request", "body": body, "more_body": read < chunks}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(s["status"] for s in sent if s["type"] == "http.response.start")
    body = b"".join(s.get("body", b"") for s in sent if s["type"] == "http.response.body")
    return status, body, read


def test_anonymous_upload_is_refused_before_the_body_is_read(region: str) -> None:
    app = create_app(Settings(database_url=region))
    status, body, read = _asgi_post(app, "/api/v1/imports/contingents", 200)
    assert status == 401, body
    assert read == 0  # not one chunk of the 12 MB body was taken in


def test_wrong_role_is_refused_before_the_body_is_read(
    region: str, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    token = _login(client, _user(session_factory, "corporatie").email)
    app = create_app(Settings(database_url=region))
    status, body, read = _asgi_post(app, "/api/v1/imports/users", 200, headers=token)
    assert status == 403, body
    assert read == 0


def test_chunked_body_over_the_limit_is_cut_off(
    region: str, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    token = _login(client, _user(session_factory, "admin").email)
    app = create_app(Settings(database_url=region, max_import_bytes=200_000))
    status, body, read = _asgi_post(app, "/api/v1/imports/contingents", 200, headers=token)
    assert status == 413, body
    assert "te groot" in body.decode()
    assert read <= 5  # stopped right after passing 200 kB, not after 12 MB


def test_announced_length_over_the_limit_is_refused_unread(
    region: str, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    token = _login(client, _user(session_factory, "admin").email)
    app = create_app(Settings(database_url=region, max_import_bytes=200_000))
    status, body, read = _asgi_post(
        app, "/api/v1/imports/contingents", 200, headers=token, content_length=200 * 65536
    )
    assert status == 413 and read == 0, body


def test_upload_over_the_limit_answers_413_in_dutch(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    before = _contingent_count(session_factory)
    corp = _corporation_code(session_factory)
    text = "corporatie;gemeentecode;year;amount\n" + f"{corp};GM0796;2031;1\n" * 20_000
    with _client(region, max_import_bytes=100_000) as client:
        admin = _login(client, _user(session_factory, "admin").email)
        response = client.post("/api/v1/imports/contingents", files=_upload(text), headers=admin)
    assert response.status_code == 413
    assert response.json()["detail"].startswith("het bestand is te groot")
    assert _contingent_count(session_factory) == before


def test_request_without_a_file_is_a_422(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _login(client, _user(session_factory, "admin").email)
    no_file = client.post("/api/v1/imports/contingents", data={"x": "1"}, headers=admin)
    assert no_file.status_code == 422
    assert no_file.json()["detail"][0]["loc"] == ["body", "file"]
    as_json = client.post("/api/v1/imports/contingents", json={"file": "a"}, headers=admin)
    assert as_json.status_code == 422
    assert "multipart/form-data" in as_json.json()["detail"][0]["msg"]


# --- duplicates and many errors -----------------------------------------------------------------


def test_duplicate_rows_are_reported_once_with_a_count(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    before = _contingent_count(session_factory)
    corp = _corporation_code(session_factory)
    text = "corporatie;gemeentecode;year;amount\n" + f"{corp};GM0796;2031;1\n" * 3000
    admin = _login(client, _user(session_factory, "admin").email)
    response = client.post("/api/v1/imports/contingents", files=_upload(text), headers=admin)
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == [
        {
            "row": 2,
            "field": "corporatie",
            "message": f"contingent {corp}/GM0796/2031/alle typen komt 3000 keer voor "
            "(rij 2, 3, 4, 5, 6 en 2995 andere)",
        }
    ]
    assert body["total_errors"] == 1
    assert _contingent_count(session_factory) == before


def test_error_list_is_capped_with_a_total(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    before = _contingent_count(session_factory)
    corp = _corporation_code(session_factory)
    rows = [f"{corp};GM0796;{1000 + i};1" for i in range(50)]  # every year out of range
    rows += [f"{corp};GM0796;2031;1"] * 3  # and one duplicate key
    text = "corporatie;gemeentecode;year;amount\n" + "\n".join(rows) + "\n"
    with _client(region, max_import_errors=5) as client:
        admin = _login(client, _user(session_factory, "admin").email)
        response = client.post("/api/v1/imports/contingents", files=_upload(text), headers=admin)
    assert response.status_code == 422
    body = response.json()
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(r, "year") for r in range(2, 7)]
    assert body["total_errors"] == 51
    assert body["detail"].endswith("… en 46 andere fouten")
    assert _contingent_count(session_factory) == before
    with session_factory() as s:
        refusal = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action == "import.refused")
        ).one()
    assert refusal.detail is not None and refusal.detail["errors"] == 51


def test_corporation_with_many_foreign_rows_gets_a_capped_list(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    """The ownership check streams the file and looks keys up per chunk (5,000 rows)."""
    text = "option_id;corporatie\n" + "".join(f"O-{i};ANDERE\n" for i in range(5000))
    with _client(region, max_import_errors=3) as client:
        corp = _login(client, _user(session_factory, "corporatie").email)
        response = client.post(
            "/api/v1/imports/options", files=_upload(text, "options.csv"), headers=corp
        )
    assert response.status_code == 422
    body = response.json()
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (2, "corporatie"),
        (3, "corporatie"),
        (4, "corporatie"),
    ]
    assert body["total_errors"] == 5000


# --- long fields (item 10) ----------------------------------------------------------------------


def test_field_over_131072_characters_is_a_row_error(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _login(client, _user(session_factory, "admin").email)
    name = "n" * 200_000
    text = f"code;name;kind\nORG-LANG;{name};corporatie\n"
    response = client.post(
        "/api/v1/imports/organisations", files=_upload(text, "o.csv"), headers=admin
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["row"], error["field"]) == (2, "name")
    assert error["message"] == "te lang (hoogstens 200 tekens) (in het bestand: 200000 tekens)"


def test_field_over_the_csv_limit_names_the_row(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _login(client, _user(session_factory, "admin").email)
    text = f"code;name;kind\nORG-A;A;corporatie\nORG-B;{'n' * (FIELD_LIMIT + 1)};corporatie\n"
    response = client.post(
        "/api/v1/imports/organisations", files=_upload(text, "o.csv"), headers=admin
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"row": 3, "field": None, "message": f"een veld is langer dan {FIELD_LIMIT} tekens"}
    ]
