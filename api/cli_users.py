"""``stek users``: accounts from the command line; ``create-admin`` makes the first
administrator of a fresh installation.

The password never comes as an argument (it would stay in the shell history and the process
list): it is asked twice at a terminal, or read from stdin when stdin is not a terminal (for
scripts: ``printf '%s\\n' "$PASSWORD" | stek users create-admin ...``). Bad input (a weak or
empty password, an e-mail address in use, a malformed address) exits 2 with a Dutch message.
"""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from api.services import users as users_svc
from api.services.rounds import Actor
from matcher.records import RecordInvalid
from store import models as m
from store.db import database_url, make_engine, make_sessionmaker, unit_of_work

users_app = typer.Typer(help="Gebruikers: de eerste beheerder aanmaken.")
console = Console(stderr=True)
BAD_INPUT = 2
ADMIN_ORGANISATION = "beheer"


@users_app.callback()
def users() -> None:
    """Gebruikers: de eerste beheerder aanmaken."""


def _refuse(message: str) -> NoReturn:
    console.print(f"[bold red]Fout:[/] {escape(message)}")
    raise typer.Exit(BAD_INPUT)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _read_password() -> str:
    if stdin_is_terminal():
        password: str = typer.prompt(
            "Wachtwoord", hide_input=True, confirmation_prompt="Wachtwoord herhalen"
        )
        return password
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Argument(help="E-mailadres van de beheerder")],
    name: Annotated[str, typer.Option("--name", help="Naam")] = "Beheerder",
    organisation: Annotated[
        str,
        typer.Option(
            "--organisation",
            help="Code van de organisatie (wordt als soort 'regio' aangemaakt als die ontbreekt)",
        ),
    ] = ADMIN_ORGANISATION,
    database_url_: Annotated[
        str | None,
        typer.Option("--database-url", help="Database-URL (standaard STEK_DATABASE_URL)"),
    ] = None,
) -> None:
    """Maak een beheerder aan; het wachtwoord komt van de prompt of stdin, nooit als argument."""
    password = _read_password()
    problem = users_svc.password_problem(password, email)
    if problem is not None:
        _refuse(f"wachtwoord: {problem}")
    engine = make_engine(database_url(database_url_))
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            org = session.scalars(
                select(m.Organisation).where(m.Organisation.code == organisation)
            ).first()
            system = Actor.system()
            if org is None:
                users_svc.create_organisation(
                    session,
                    system,
                    code=organisation,
                    name="Beheer",
                    kind="regio",
                    gemeente_code=None,
                )
            user = users_svc.create_user(
                session,
                system,
                email=email,
                name=name,
                role="admin",
                organisation=organisation,
                password=password,
            )
            made = user.email
    except RecordInvalid as exc:
        _refuse("; ".join(message for _, message in exc.errors))
    except users_svc.FieldConflict as exc:
        _refuse(str(exc))
    except (OperationalError, ProgrammingError) as exc:
        console.print(
            "[bold red]Fout:[/] de database is niet klaar; draai eerst 'stek db upgrade' "
            f"({escape(type(exc).__name__)})"
        )
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    console.print(f"Beheerder {escape(made)} aangemaakt (organisatie {escape(organisation)}).")
