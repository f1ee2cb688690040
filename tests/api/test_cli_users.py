"""``stek users create-admin``: the first administrator, password from a prompt (asked twice)
or stdin, never an argument; weak or empty passwords and an e-mail address in use exit 2 with a
Dutch message and write nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api import cli_users
from api.app import create_app
from api.cli import app as stek
from api.cli_users import users_app
from api.security import verify_password
from api.settings import Settings
from store import models as m
from tests.page_helpers import sign_in

PASSWORD = "lange zin als wachtwoord 7"
runner = CliRunner()


def _users(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(m.User)) or 0)


def test_create_admin_from_stdin_then_sign_in(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    result = runner.invoke(
        users_app,
        ["create-admin", "Eerste@Beheer.invalid", "--database-url", db_url],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    with session_factory() as s:
        user = s.scalars(select(m.User).where(m.User.email == "eerste@beheer.invalid")).one()
        assert user.role == "admin" and user.active
        assert user.organisation.code == "beheer" and user.organisation.kind == "regio"
        assert verify_password(user.password_hash, PASSWORD)
        assert s.scalars(
            select(m.AuditEntry.action).where(m.AuditEntry.action == "user.create")
        ).one()
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        sign_in(client, "eerste@beheer.invalid", PASSWORD)
        assert client.get("/beheer/gebruikers").status_code == 200
    # the same address again: refused, exit 2, nothing written
    again = runner.invoke(
        users_app,
        ["create-admin", "eerste@beheer.invalid", "--database-url", db_url],
        input=PASSWORD + "\n",
    )
    assert again.exit_code == 2
    assert (
        "e-mailadres: er is al een gebruiker met e-mailadres eerste@beheer.invalid" in again.output
    )
    assert "Traceback" not in again.output
    assert _users(session_factory) == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "wachtwoord: het wachtwoord is leeg"),
        ("kort", "wachtwoord: een wachtwoord heeft minstens 12 tekens"),
        ("aaaaaaaaaaaaaaaa", "minstens 5 verschillende tekens"),
        ("123456789012", "dit wachtwoord is te bekend"),
        ("beheerder-x-2026!", "mag niet op het e-mailadres lijken"),
    ],
)
def test_weak_passwords_exit_2_and_write_nothing(
    db_url: str, session_factory: sessionmaker[Session], password: str, message: str
) -> None:
    result = runner.invoke(
        users_app,
        ["create-admin", "beheerder@test.invalid", "--database-url", db_url],
        input=password + "\n",
    )
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert _users(session_factory) == 0


def test_bad_email_exits_2(db_url: str, session_factory: sessionmaker[Session]) -> None:
    result = runner.invoke(
        users_app, ["create-admin", "geen-adres", "--database-url", db_url], input=PASSWORD + "\n"
    )
    assert result.exit_code == 2 and "e-mailadres: heeft niet de juiste vorm" in result.output
    assert _users(session_factory) == 0


def test_prompt_asks_twice_at_a_terminal(
    db_url: str, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_users, "stdin_is_terminal", lambda: True)
    result = runner.invoke(
        users_app,
        ["create-admin", "tty@test.invalid", "--database-url", db_url],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Wachtwoord herhalen" in result.output
    assert _users(session_factory) == 1


def test_password_is_never_an_argument(db_url: str) -> None:
    result = runner.invoke(
        users_app, ["create-admin", "x@test.invalid", PASSWORD, "--database-url", db_url]
    )
    assert result.exit_code == 2  # click: unexpected extra argument


def test_stek_has_the_users_command() -> None:
    result = runner.invoke(stek, ["users", "create-admin", "--help"])
    assert result.exit_code == 0 and "nooit" in result.output and "email" in result.output
