"""The admin page's CSV import: sign-in and role before a byte of the upload is read, CSRF,
the size limit while streaming, bad kinds and bad rows with nothing written. SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from store import models as m
from tests.page_helpers import CSRF, sign_in

NEW_ORG = "code;name;kind;gemeentecode;synthetic\norg-nieuw;Stichting Nieuw;zorgaanbieder;;ja\n"


@pytest.fixture
def client(db_url: str) -> TestClient:
    load_demo(db_url)
    return TestClient(create_app(Settings(database_url=db_url, max_import_bytes=4096)))


def _sign_in(client: TestClient, email: str) -> str:
    sign_in(client, email)
    page = client.get("/beheer")
    found = CSRF.search(page.text)
    return found.group(1) if found else ""


def _organisations(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(m.Organisation)) or 0


def _upload(client: TestClient, csrf: str, kind: str, text: str) -> object:
    return client.post(
        "/beheer/import",
        data={"csrf_token": csrf, "kind": kind},
        files={"file": ("organisaties.csv", text.encode(), "text/csv")},
    )


def test_admin_imports_a_file_through_the_page(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    before = _organisations(session_factory)
    csrf = _sign_in(client, "admin@demo.stek.invalid")
    response = client.post(
        "/beheer/import",
        data={"csrf_token": csrf, "kind": "organisations"},
        files={"file": ("organisaties.csv", NEW_ORG.encode(), "text/csv")},
    )
    assert response.status_code == 200
    assert "organisaties.csv: 1 nieuw, 0 bijgewerkt" in response.text
    assert _organisations(session_factory) == before + 1


def test_bad_uploads_are_refused_with_the_field_and_nothing_written(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    before = _organisations(session_factory)
    csrf = _sign_in(client, "admin@demo.stek.invalid")
    wrong_kind = client.post(
        "/beheer/import",
        data={"csrf_token": csrf, "kind": "raketten"},
        files={"file": ("x.csv", NEW_ORG.encode(), "text/csv")},
    )
    assert wrong_kind.status_code == 422 and "kies een soort uit de lijst" in wrong_kind.text
    bad_row = NEW_ORG + "org-twee;;onbekend;;ja\n"
    refused = client.post(
        "/beheer/import",
        data={"csrf_token": csrf, "kind": "organisations"},
        files={"file": ("x.csv", bad_row.encode(), "text/csv")},
    )
    assert refused.status_code == 422 and "3" in refused.text  # the bad row is named
    too_big = client.post(
        "/beheer/import",
        data={"csrf_token": csrf, "kind": "organisations"},
        files={"file": ("x.csv", (NEW_ORG + "x" * 8000).encode(), "text/csv")},
    )
    assert too_big.status_code == 413 and "te groot" in too_big.text
    no_file = client.post("/beheer/import", data={"csrf_token": csrf, "kind": "organisations"})
    assert no_file.status_code == 422
    no_csrf = client.post(
        "/beheer/import",
        data={"kind": "organisations"},
        files={"file": ("x.csv", NEW_ORG.encode(), "text/csv")},
    )
    assert no_csrf.status_code == 403
    assert _organisations(session_factory) == before


def test_upload_is_not_read_before_sign_in_and_role(client: TestClient) -> None:
    # A body far over the limit: refused by who is asking, before its size matters.
    body = b"x" * 200_000
    headers = {"content-type": "multipart/form-data; boundary=abc"}
    anonymous = client.post("/beheer/import", content=body, headers=headers, follow_redirects=False)
    assert anonymous.status_code == 303 and "/inloggen" in anonymous.headers["location"]
    _sign_in(client, "planner1@demo.stek.invalid")
    planner = client.post("/beheer/import", content=body, headers=headers)
    assert planner.status_code == 403
