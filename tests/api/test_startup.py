"""Start-up refuses a database that cannot serve (issue 13 item 10), on SQLite and PostgreSQL.

Before the check, a URL naming a missing database started the server, which then answered every
request with a bare "Internal Server Error".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.settings import Settings
from store.migrate import upgrade
from store.readiness import DatabaseNotReady, check_database

runner = CliRunner()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls that reached uvicorn.run (nothing is served)."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: calls.append(kwargs))
    return calls


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def missing_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL whose database is not there: an unmigrated SQLite file, a PostgreSQL database that
    was never created."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nieuw.db'}"
    else:
        shared: str = request.getfixturevalue("postgres_url")
        url = make_url(shared).set(database="stek_bestaat_niet")
        yield url.render_as_string(hide_password=False)


def test_serve_refuses_a_missing_database_with_a_message(
    missing_database: str, served: list[dict[str, Any]]
) -> None:
    result = runner.invoke(cli, ["serve", "--database-url", missing_database])
    assert result.exit_code == 1
    assert "stek start niet" in result.output
    if missing_database.startswith("sqlite"):
        assert "niet gemigreerd" in result.output and "stek db upgrade" in result.output
    else:
        assert "'stek_bestaat_niet' bestaat niet" in result.output
    assert served == []


def test_app_start_up_refuses_a_missing_database(missing_database: str) -> None:
    app = create_app(Settings(database_url=missing_database))
    with pytest.raises(DatabaseNotReady, match="stek db upgrade"), TestClient(app):
        pass


def test_a_schema_behind_this_stek_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'oud.db'}"
    upgrade(url, "0003")
    with pytest.raises(DatabaseNotReady, match="schemaversie 0003, deze stek verwacht"):
        check_database(url)


def test_an_unreachable_server_is_named() -> None:
    url = "postgresql+psycopg://stek:geheim@127.0.0.1:1/stek"  # port 1: nothing listens
    with pytest.raises(DatabaseNotReady, match="niet bereikbaar") as refused:
        check_database(url)
    assert "geheim" not in str(refused.value)


def test_serve_on_a_migrated_database_starts_without_trusting_proxy_headers(
    db_url: str, served: list[dict[str, Any]]
) -> None:
    result = runner.invoke(cli, ["serve", "--database-url", db_url, "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert served and served[0]["port"] == 8123
    # uvicorn must not rewrite the client from X-Forwarded-For (api/auth.py does, from trusted
    # proxies only).
    assert served[0]["proxy_headers"] is False


def test_the_start_up_heap_is_left_out_of_garbage_collections_while_serving(
    db_url: str,
) -> None:
    """A full collection during a request walked every library object (200+ ms on finalising a
    round); the app freezes the start-up heap while it serves and gives it back at shutdown."""
    import gc

    assert gc.get_freeze_count() == 0
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        assert client.get("/api/v1/health").status_code == 200
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0
